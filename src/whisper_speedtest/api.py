"""The Python API: a benchmark from a script or a notebook, built and checked as the command line builds it.

    import whisper_speedtest as ws
    run = ws.benchmark(audio="jfk.wav", backends=["faster-whisper"])
    print(run.to_pandas())

Arguments are those of ``whisper-speedtest benchmark`` (``bench.arguments.BenchmarkArguments``), with
the same defaults and the same checks: a bad one raises a :class:`~whisper_speedtest.errors.UserError`
subclass whose message is the line the command prints. Every backend still runs in a child process
of its own, so a crash or a hang is a failed row, never a crashed notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from .audio import SAMPLE_RATE, AudioClip, collect_clips
from .bench.arguments import DEFAULTS
from .errors import BadOption
from .results import BackendResult, BenchmarkRun

if TYPE_CHECKING:
    import pandas

    from .backends.listing import BackendInfo

AudioInput = Union[str, Path, AudioClip, np.ndarray]


@dataclass(frozen=True)
class Run:
    """A finished benchmark: the record (``run``, what ``-o run.json`` holds) and its rows.

    Attributes of the record (``settings``, ``clips``, ``provenance``, ``run_id`` ...) read through."""

    run: BenchmarkRun

    @property
    def rows(self) -> tuple[BackendResult, ...]:
        """One result per backend (and variant), in the order they ran."""
        return self.run.results

    def __iter__(self) -> Iterator[BackendResult]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getattr__(self, name: str) -> Any:
        if name == "run" or name.startswith("__"):  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.run, name)

    def to_pandas(self) -> pandas.DataFrame:
        """One DataFrame row per backend, numbers as numbers (needs the ``pandas`` extra)."""
        from .report.frame import to_pandas

        return to_pandas(self.run)

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as plain dictionaries, as :meth:`to_pandas` has them; no pandas needed."""
        from .report.frame import run_records

        return run_records(self.run)

    def to_json(self) -> str:
        """The versioned JSON the command writes with ``-o run.json``."""
        from .results import run_to_json

        return run_to_json(self.run)

    def write(self, *paths: str | Path) -> tuple[Path, ...]:
        """Write the run as the command's ``-o`` does (.json, .csv, .md, .html or .png); returns what was written."""
        from .report.writers import check_output_paths, write_outputs

        outcome = write_outputs(self.run, check_output_paths([str(p) for p in paths]))
        outcome.raise_failures()
        return tuple(outcome.written)


def backends(*, include_unavailable: bool = False) -> list[BackendInfo]:
    """The backends installed and runnable here, by name; ``include_unavailable`` adds the rest, with why not.

    ``whisper_speedtest.backends`` itself is the ``backends`` package, made callable to the same effect."""
    from .backends.listing import installed

    return installed(include_unavailable=include_unavailable)


def _clips(audio: AudioInput | Sequence[AudioInput] | None, reference: str | None) -> list[AudioClip]:
    """Files, folders and JSONL manifests as the command reads them; clips and 16 kHz mono arrays as they are."""
    if audio is None or isinstance(audio, (str, Path, AudioClip, np.ndarray)):
        items: list[AudioInput] = [] if audio is None else [audio]
    else:
        items = list(audio)
    if not any(isinstance(item, (AudioClip, np.ndarray)) for item in items):
        return collect_clips([str(item) for item in items] or None, reference)
    if reference is not None and len(items) != 1:
        raise BadOption("--reference applies to a single audio file; use a JSONL manifest for several")
    clips: list[AudioClip] = []
    for index, item in enumerate(items):
        if isinstance(item, AudioClip):
            clips.append(item)
        elif isinstance(item, np.ndarray):
            samples = np.asarray(item, dtype=np.float32)
            if samples.ndim != 1 or samples.size == 0:
                raise BadOption(f"audio arrays must be non-empty 16 kHz mono (one dimension); got shape {samples.shape}")
            clips.append(AudioClip(f"array-{index}", "(in memory)", samples, None, SAMPLE_RATE, 1))
        else:
            clips.extend(collect_clips([str(item)]))
    if reference is not None:
        from .audio import resolve_reference

        clip = clips[0]
        clips = [AudioClip(clip.name, clip.path, clip.samples, resolve_reference(reference), clip.original_sample_rate,
                           clip.original_channels)]
    return clips


def benchmark(
    audio: AudioInput | Sequence[AudioInput] | None = None,
    *,
    model: str = DEFAULTS.model,
    backends: str | Sequence[str] | None = None,
    reference: str | None = None,
    runs: int | None = DEFAULTS.runs,
    budget: float = DEFAULTS.budget,
    warmup: int = DEFAULTS.warmup,
    language: str = DEFAULTS.language,
    beam_size: int = DEFAULTS.beam_size,
    quant: str | Sequence[str] = DEFAULTS.quant,
    device: str = DEFAULTS.device,
    threads: int | None = DEFAULTS.threads,
    timeout: float = DEFAULTS.timeout,
    weights: str = DEFAULTS.weights.value,
    dataset: str | None = DEFAULTS.dataset,
    history: bool = False,
    progress: bool = False,
    on_row: Callable[[BackendResult], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    **options: Any,
) -> Run:
    """Benchmark ``audio`` (a file, folder, JSONL manifest, clip or 16 kHz array, or a list of them; the
    bundled JFK sample when None) with ``backends`` (names; every registered one when None) and return the run.

    ``options`` are the command's other settings by their field names: ``previous_text``, ``fallback``,
    ``max_clips``, ``max_hours``, ``batch_size``, ``split``, ``text_column``, ``streaming``, ``synthetic``,
    ``cuda_graphs``, ``price_per_hour``, ``ray``, ... (``whisper_speedtest.bench.arguments.BenchmarkArguments``).
    Every argument is checked before any audio is read; a bad one raises a ``UserError`` subclass with the
    command's message. ``history=True`` records the run as the command does; ``progress=True`` shows the
    command's live display on stderr; ``on_row`` is called with each row as it finishes, ``on_note`` with
    each note of planning (a conversion made once, a fallback ...).
    Ctrl-C raises ``bench.session.BenchmarkInterrupted``, whose ``run`` holds the rows that finished.
    """
    from .bench.request import BenchmarkRequest
    from .bench.session import run_benchmark

    request = BenchmarkRequest.build(
        model=model, backends=_names(backends), runs=runs, budget=budget, warmup=warmup, language=language,
        beam_size=beam_size, quant=_names(quant), device=device, threads=threads, timeout=timeout, weights=weights,
        dataset=dataset, **options,
    )
    if dataset is None:
        request = request.with_clips(_clips(audio, reference))
    elif audio is not None:
        raise BadOption("audio does not combine with --dataset: a dataset run reads its own clips")
    run = _run(request, progress, on_row or (lambda row: None), on_note or (lambda text: None), run_benchmark)
    if history:
        from . import history as runs_history

        runs_history.record(run)
    return Run(run)


def _names(values: str | Sequence[str] | None) -> tuple[str, ...]:
    """A comma list or a sequence of names, as ``-b a,b`` or ``-b a -b b`` give them."""
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else list(values)
    return tuple(part.strip() for item in items for part in str(item).split(",") if part.strip())


def _run(request, progress: bool, on_row: Callable[[BackendResult], None], on_note: Callable[[str], None],
         run_benchmark) -> BenchmarkRun:
    if not progress:
        return run_benchmark(request, on_row=on_row, on_note=on_note)
    from rich.console import Console

    from .progress import BenchmarkProgress

    display = BenchmarkProgress(Console(stderr=True))

    def each_row(row: BackendResult) -> None:
        display.on_row(row)
        on_row(row)

    def each_note(text: str) -> None:
        display.note(text)
        on_note(text)

    with display:
        return run_benchmark(request, on_plan=display.on_plan, on_progress=display.on_progress, on_row=each_row,
                             on_note=each_note)
