"""What several commands share: option types, ``split_csv``, and reading ``-b``/``--implementations`` and ``--weights``.

The option types keep ``benchmark`` and ``record`` (and ``check-models``/``download`` where they overlap) identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ..errors import BadOption


if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..models.weights_mode import WeightsMode

ModelOption = Annotated[str, typer.Option("-m", "--model", help="Model name (tiny.en, base, large-v3, turbo, ...).")]
BackendsOption = Annotated[Optional[list[str]], typer.Option("-b", "--backends", help="Comma-separated backends (default: all available).")]
ImplementationsOption = Annotated[Optional[list[str]], typer.Option("--implementations", hidden=True, help="mac-whisper-speedtest's spelling of --backends.")]
RunsOption = Annotated[Optional[int], typer.Option("-n", "--runs", help="Exact timed runs per clip (default: as many as --budget allows).")]
BudgetOption = Annotated[float, typer.Option("--budget", help="Seconds of timed runs per backend when -n is not given: at least 3 runs, at most 10, 1 when slower than real time.")]
WarmupOption = Annotated[int, typer.Option("--warmup", help="Untimed warm-up runs per clip.")]
LanguageOption = Annotated[str, typer.Option("--language", help="Language code for every backend, or 'auto'.")]
BeamOption = Annotated[int, typer.Option("--beam-size", help="Beam size for every backend.")]
PreviousTextOption = Annotated[bool, typer.Option("--previous-text/--no-previous-text", help="Condition each 30 s window on the previous one's text.")]
QuantOption = Annotated[Optional[list[str]], typer.Option("--quant", help="Variants to sweep: float16,int8,int4 (comma list).")]
FallbackOption = Annotated[bool, typer.Option("--fallback/--no-fallback", help="Fall back to float16 when a variant is unavailable (always reported).")]
DeviceOption = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or mps.")]
ThreadsOption = Annotated[Optional[int], typer.Option("--threads", help="CPU threads (default: physical cores).")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds allowed per backend (load and all runs).")]
OutputOption = Annotated[Optional[list[str]], typer.Option("-o", "--output", help="Write results: .json, .csv, .md, .html or .png; repeatable.")]
QuietOption = Annotated[bool, typer.Option("-q", "--quiet", help="No progress display or notes.")]
VerboseOption = Annotated[bool, typer.Option("-v", "--verbose", help="Full transcripts and per-clip numbers.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Print tracebacks of errors and failed backends.")]
DatasetOption = Annotated[Optional[str], typer.Option("--dataset", help="JSONL manifest, folder of audio, hf:NAME[:CONFIG][:SPLIT], save_to_disk folder, parquet or audiofolder: one end-to-end pass in batches; reports dataset RTFx.")]
SplitOption = Annotated[Optional[str], typer.Option("--split", help="--dataset read through datasets: the split (default: test, or the only one).")]
TextColumnOption = Annotated[Optional[str], typer.Option("--text-column", help="--dataset: the reference column (default: text, transcription, sentence or normalized_text).")]
StreamingOption = Annotated[bool, typer.Option("--streaming", help="--dataset on the Hub, parquet or audiofolder: stream rows instead of downloading the whole split (takes the first clips).")]
MaxClipsOption = Annotated[Optional[int], typer.Option("--max-clips", help="--dataset: at most this many clips, a seeded sample (the same on every machine).")]
MaxHoursOption = Annotated[Optional[float], typer.Option("--max-hours", help="--dataset: at most this many hours of audio, a seeded sample.")]
BatchSizeOption = Annotated[Optional[int], typer.Option("--batch-size", help="Clips per batch in --dataset mode (default 16); otherwise the chunk batch where a backend batches (default: fitted to the device).")]
SyntheticOption = Annotated[bool, typer.Option("--synthetic-weights", help="Random weights of the model's real architecture: speed only, no WER.")]
CudaGraphsOption = Annotated[bool, typer.Option("--cuda-graphs/--no-cuda-graphs", help="graph-decoder backend: replay its decoder steps as CUDA graphs (off: the same static-KV-cache steps, run eagerly).")]
SyntheticTokensOption = Annotated[int, typer.Option("--synthetic-tokens", help="Tokens decoded per clip with --synthetic-weights.")]
PriceOption = Annotated[Optional[float], typer.Option("--price-per-hour", help="The machine's cost per hour (any currency): adds a cost per audio hour.")]
RayOption = Annotated[bool, typer.Option("--ray", help="--dataset on Ray Data: start a local Ray for the run (CPU decoders, one model actor per GPU).")]
RayAddressOption = Annotated[Optional[str], typer.Option("--ray-address", help="--dataset on Ray Data: join this running cluster (e.g. ray://head:10001 or auto).")]
RayActorsOption = Annotated[Optional[int], typer.Option("--ray-actors", help="With --ray: model actors (default: one per GPU, or one per --ray-cpus-per-actor CPUs).")]
RayCpusOption = Annotated[int, typer.Option("--ray-cpus-per-actor", help="With --ray on CPUs only: CPUs (and backend threads) per model actor.")]
WeightsOption = Annotated[str, typer.Option("--weights", help="same: one shared copy, converted and fingerprinted, for every backend; native: each backend loads what its users usually download (mlx-community's quantized repos for MLX, ...).")]
HistoryOption = Annotated[bool, typer.Option("--history/--no-history", help="Record the run in the results history.")]


ModelsOption = Annotated[Optional[list[str]], typer.Option("-m", "--model", help="Model name(s), comma-separated (default tiny.en).")]


def split_csv(values: Sequence[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def check_weights(weights: str) -> WeightsMode:
    """``--weights``: one of the weights mode's spellings (the check is the request's own)."""
    from ..bench.arguments import check_weights as checked

    return checked(weights)


PIN = "=="  # -b faster-whisper==1.1.1: that version of the backend's library, in a managed environment of its own


def split_pin(name: str) -> tuple[str, str | None]:
    """``faster-whisper==1.1.1`` -> (``faster-whisper``, ``1.1.1``); a name without a pin -> (name, None)."""
    backend, pin, version = name.partition(PIN)
    if pin and not version.strip():
        raise BadOption(f"{name!r}: give a version after == (e.g. faster-whisper==1.1.1)")
    return backend.strip(), version.strip() or None


def backend_entries(backends: Sequence[str], implementations: Sequence[str] = ()):
    """Like :func:`backend_choice`, with pins: (classes, versions beside them, notes). ``-b faster-whisper,faster-whisper==1.1.1``
    gives the class twice, with versions (None, "1.1.1"); versions is () when nothing is pinned."""
    from ..backends import get_backend

    pinned = [split_pin(name) for name in split_csv(backends)]
    if not any(version for _, version in pinned):
        classes, notes = backend_choice(backends, implementations)
        return classes, (), notes
    plain = [name for name, version in pinned if version is None]
    originals = split_csv(implementations)
    notes = backend_choice(plain, originals)[1] if plain or originals else ()
    entries = dict.fromkeys(
        [(get_backend(name), version) for name, version in pinned] + [(get_backend(name), None) for name in originals]
    )
    return tuple(cls for cls, _ in entries), tuple(version for _, version in entries), notes


def backend_choice(backends: Sequence[str], implementations: Sequence[str] = ()) -> tuple[tuple[type[Backend], ...], tuple[str, ...]]:
    """The backend classes ``-b`` and ``--implementations`` name (every registered one when none is named;
    unknown names raise before any audio is decoded), and one note per mac-whisper-speedtest name or option used."""
    from ..backends import alias_note, get_backend
    from ..bench.session import select_backends

    given = split_csv(backends)
    originals = split_csv(implementations)
    if not given and not originals:
        return select_backends(None), ()
    chosen = {name: get_backend(name) for name in given + originals}  # one lookup per name
    notes = tuple(note for name in given if (note := alias_note(name, chosen[name])))
    if originals:
        spelled = ",".join(chosen[name].name for name in originals)
        notes += (f"note: --implementations {','.join(originals)} is mac-whisper-speedtest's spelling; ours is -b {spelled}",)
    return tuple(dict.fromkeys(chosen.values())), notes


def check_not_empty(option: str, values: Sequence[str] | None) -> None:
    """An option given only empty values (``-o ''``, ``-b ',,'``) is a mistake, not "the default"."""
    if values and not split_csv(values):
        raise BadOption(f"{option} was given, but empty (got {', '.join(repr(v) for v in values)}); leave it out for the default")


