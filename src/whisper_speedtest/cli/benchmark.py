"""The ``benchmark`` command, and the pipeline it shares with ``record``: options checked into a request,
the run with its live display, outputs, summary table, history.

The checks speak in flags (``--runs must be ...``) and the run ends in exit codes, so this is command
glue; running the request itself is ``bench.session.run_benchmark``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from ..bench.run_policy import DEFAULT_BUDGET_S, DEFAULT_MAX_RUNS, DEFAULT_MIN_RUNS
from ..errors import BadOption, check_seconds
from . import options as opt
from .options import backend_entries, check_weights, split_csv
from .output import print_notes

if TYPE_CHECKING:
    from ..bench.session import BenchmarkInterrupted, BenchmarkRequest
    from ..bench.ray_driver import RaySettings
    from ..dataset.entries import DatasetSelection
    from ..results import BenchmarkRun


@dataclass(frozen=True)
class BenchmarkOptions:
    """Command-line values of a benchmark, before any checking."""

    model: str = "tiny.en"
    backends: tuple[str, ...] = ()
    implementations: tuple[str, ...] = ()  # mac-whisper-speedtest's --implementations, added to backends
    runs: int | None = None  # None: as many as the budget allows
    budget: float = DEFAULT_BUDGET_S
    warmup: int = 1
    language: str = "en"
    beam_size: int = 1
    previous_text: bool = True
    quant: tuple[str, ...] = ()
    fallback: bool = True
    device: str = "auto"
    threads: int | None = None
    timeout: float = 900.0
    outputs: tuple[str, ...] = ()
    dataset: str | None = None
    split: str | None = None
    text_column: str | None = None
    streaming: bool = False
    max_clips: int | None = None
    max_hours: float | None = None
    batch_size: int | None = None
    synthetic: bool = False
    synthetic_tokens: int = 40
    cuda_graphs: bool = True
    price_per_hour: float | None = None
    ray: bool = False
    ray_address: str | None = None
    ray_actors: int | None = None
    ray_cpus_per_actor: int = 1
    weights: str = "same"
    install_missing: bool = False  # make missing managed environments before the run (never during it)


@dataclass(frozen=True)
class PreparedBenchmark:
    """Checked options: the request (its audio is added with ``request.with_clips``), where to write, what to say."""

    request: BenchmarkRequest
    output_paths: tuple[Path, ...]
    notes: tuple[str, ...] = ()  # one line each, for stderr: e.g. a mac-whisper-speedtest name and ours


def check_language(language: str, model_name: str) -> None:
    """``auto`` or a code Whisper knows; English-only models take only ``en``."""
    from ..models import catalog

    if language == "auto" or language in catalog.WHISPER_LANGUAGES:
        if catalog.get(model_name).english_only and language not in ("en", "auto"):
            raise BadOption(f"{model_name} is English-only: --language must be en (got {language!r})")
        return
    raise BadOption(f"--language must be 'auto' or a Whisper language code such as en, de, fr, zh (got {language!r})")


def check_price(price: float | None) -> None:
    """``--price-per-hour``: a finite positive amount, or not given."""
    import math

    if price is not None and not (math.isfinite(price) and price > 0):
        raise BadOption(f"--price-per-hour must be a positive amount per machine hour (got {price:g})")


def prepare(options: BenchmarkOptions) -> PreparedBenchmark:
    """Check every option (raising ``BadOption`` and friends) before any audio is read or recorded."""
    from ..backends.base import LoadOptions
    from ..backends.transformers.options import CUDA_GRAPHS, SYNTHETIC_TOKENS
    from ..bench.session import BenchmarkRequest
    from ..models import catalog
    from ..models.variants import check_quantization
    from ..report.writers import check_output_paths
    from ..results import DecodeSettings

    o = options
    if o.runs is not None and o.runs < 1:
        raise BadOption(f"--runs must be a positive integer (got {o.runs})")
    check_seconds("--budget", o.budget)
    if o.warmup < 0:
        raise BadOption(f"--warmup must be zero or more (got {o.warmup})")
    if o.beam_size < 1:
        raise BadOption(f"--beam-size must be at least 1 (got {o.beam_size})")
    check_seconds("--timeout", o.timeout)
    check_price(o.price_per_hour)
    if o.threads is not None and o.threads < 1:
        raise BadOption(f"--threads must be at least 1 (got {o.threads})")
    check_weights(o.weights)
    if o.weights == "native" and (o.quant or o.synthetic):
        raise BadOption("--weights native runs each backend's own download: it does not combine with --quant or --synthetic-weights")
    if o.device not in ("auto", "cpu", "cuda", "mps"):
        raise BadOption(f"--device must be one of auto, cpu, cuda, mps (got {o.device!r})")
    output_paths = tuple(check_output_paths(split_csv(o.outputs)))
    quantizations = tuple(check_quantization(q) for q in split_csv(o.quant)) or (None,)
    model_name = catalog.resolve(o.model)
    check_language(o.language, model_name)
    backends, versions, notes = backend_entries(o.backends, o.implementations)
    settings = DecodeSettings(
        language=None if o.language == "auto" else o.language,
        beam_size=o.beam_size,
        temperature=0.0,
        runs=DEFAULT_MIN_RUNS if o.runs is None else o.runs,
        warmup=o.warmup,
        timeout_s=o.timeout,
        condition_on_previous_text=o.previous_text,
        budget_s=o.budget if o.runs is None else None,
        max_runs=DEFAULT_MAX_RUNS if o.runs is None else None,
    )
    if o.batch_size is not None and o.batch_size < 1:
        raise BadOption(f"--batch-size must be at least 1 (got {o.batch_size})")
    check_dataset_only(o)
    if o.synthetic_tokens < 1:
        raise BadOption(f"--synthetic-tokens must be at least 1 (got {o.synthetic_tokens})")
    transformers_options = ((SYNTHETIC_TOKENS, o.synthetic_tokens),) if o.synthetic else ()
    load_options = LoadOptions(
        device=o.device, threads=o.threads, fallback=o.fallback, batch_size=o.batch_size,
        backend_options=transformers_options + ((CUDA_GRAPHS, o.cuda_graphs),),
    )
    dataset_batch = o.batch_size or 16
    if o.dataset and o.batch_size is None:
        load_options = dataclasses.replace(load_options, batch_size=dataset_batch)
    ray = ray_settings(o)
    request = BenchmarkRequest(
        model=model_name,
        backends=backends,
        settings=settings,
        load_options=load_options,
        quantizations=quantizations,
        dataset=select_dataset(o) if o.dataset else None,
        batch_size=dataset_batch,
        synthetic=o.synthetic,
        price_per_hour=o.price_per_hour,
        ray=ray,
        weights=o.weights,
        versions=versions,
    )
    return PreparedBenchmark(request, output_paths, notes)


def ray_settings(o: BenchmarkOptions) -> RaySettings | None:
    """``--ray``/``--ray-address`` as settings, or None; Ray must be installed and a dataset given."""
    if not (o.ray or o.ray_address):
        if o.ray_actors is not None or o.ray_cpus_per_actor != 1:
            raise BadOption("--ray-actors and --ray-cpus-per-actor apply with --ray or --ray-address only")
        return None
    from ..bench.ray_driver import RaySettings, check_ray

    if not o.dataset:
        raise BadOption("--ray runs a --dataset pass; give --dataset")
    if o.ray_actors is not None and o.ray_actors < 1:
        raise BadOption(f"--ray-actors must be at least 1 (got {o.ray_actors})")
    if o.ray_cpus_per_actor < 1:
        raise BadOption(f"--ray-cpus-per-actor must be at least 1 (got {o.ray_cpus_per_actor})")
    check_ray()
    return RaySettings(o.ray_address, o.ray_actors, o.ray_cpus_per_actor)


def select_dataset(o: BenchmarkOptions) -> DatasetSelection:
    """The clips of ``--dataset`` within ``--max-clips``/``--max-hours``; problems raise one line."""
    from ..dataset.entries import SampleLimits
    from ..dataset.reading import select
    from ..dataset.spec import parse_spec

    if o.max_clips is not None and o.max_clips < 1:
        raise BadOption(f"--max-clips must be at least 1 (got {o.max_clips})")
    if o.max_hours is not None and not (math.isfinite(o.max_hours) and o.max_hours > 0):
        raise BadOption(f"--max-hours must be a positive number of hours (got {o.max_hours:g})")
    spec = parse_spec(o.dataset, split=o.split, text_column=o.text_column, streaming=o.streaming)
    return select(spec, SampleLimits(o.max_clips, o.max_hours))


def check_dataset_only(o: BenchmarkOptions) -> None:
    """Options that shape a dataset need one."""
    given = [name for name, value in (("--split", o.split), ("--text-column", o.text_column), ("--streaming", o.streaming or None),
                                      ("--max-clips", o.max_clips), ("--max-hours", o.max_hours)) if value is not None]
    if given and not o.dataset:
        raise BadOption(f"{', '.join(given)} applies to --dataset only")


def record_in_history(run: BenchmarkRun, err: Console, *, quiet: bool = False) -> None:
    """Add the run to the history; a history problem is a warning, never a lost benchmark."""
    from .. import history

    try:
        history.record(run)
    except history.HistoryError as exc:
        err.print(f"warning: run not recorded in the history: {exc}", markup=False, highlight=False, soft_wrap=True)
        return
    if not quiet:
        err.print(f"[dim]recorded as run {run.run_id}{' (interrupted)' if run.interrupted else ''} (whisper-speedtest history)[/dim]")


def _keep_interrupted(stop: BenchmarkInterrupted, output_paths: Sequence[Path], err: Console, *, quiet: bool, keep_history: bool) -> None:
    """After Ctrl-C or SIGTERM: write and record the finished rows; with none, leave existing files alone."""
    from ..interrupts import describe, exit_code
    from ..report.writers import write_outputs

    finished = stop.finished_rows
    if not finished:
        kept = " (existing output files left as they were)" if output_paths else ""
        err.print(f"{describe(stop.signum)} before any backend finished; nothing written{kept}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(exit_code(stop.signum))
    outcome = write_outputs(stop.run, list(output_paths))
    where = f" in {', '.join(map(str, outcome.written))}" if outcome.written else ""
    err.print(f"{describe(stop.signum)}; kept {len(finished)} finished row(s){where}", markup=False, highlight=False, soft_wrap=True)
    if keep_history:
        record_in_history(stop.run, err, quiet=quiet)
    outcome.raise_failures()
    raise typer.Exit(exit_code(stop.signum))


def run_and_report(
    request: BenchmarkRequest,
    output_paths: Sequence[Path],
    *,
    out: Console,
    err: Console,
    quiet: bool = False,
    verbose: bool = False,
    debug: bool = False,
    keep_history: bool = True,
) -> BenchmarkRun:
    """Run with the live progress display, write outputs, print the table and record the run.

    After Ctrl-C (exit 130) or SIGTERM (exit 143) the finished rows are still written and recorded;
    exits 1 when no backend succeeded, 2 when an output could not be written.
    """
    from ..bench.session import BenchmarkInterrupted, run_benchmark
    from ..progress import BenchmarkProgress
    from ..report.table import print_summary
    from ..report.writers import write_outputs

    display = BenchmarkProgress(err, enabled=not quiet, show_tracebacks=debug)
    try:
        with display:
            run = run_benchmark(request, on_plan=display.on_plan, on_progress=display.on_progress, on_row=display.on_row, on_note=display.note)
    except BenchmarkInterrupted as stop:
        _keep_interrupted(stop, output_paths, err, quiet=quiet, keep_history=keep_history)
    outcome = write_outputs(run, list(output_paths))
    print_summary(run, out, verbose=verbose)
    for path in outcome.written:
        if not quiet:
            err.print(f"wrote {path}")
    if keep_history:
        record_in_history(run, err, quiet=quiet)
    outcome.raise_failures()  # after the table and the history, so a bad output path loses nothing else
    if not run.succeeded:
        raise typer.Exit(1)
    return run


def register(app: typer.Typer) -> None:
    out, err = Console(), Console(stderr=True)

    @app.command()
    def benchmark(
        model: opt.ModelOption = "tiny.en",
        backends: opt.BackendsOption = None,
        implementations: opt.ImplementationsOption = None,
        runs: opt.RunsOption = None,
        budget: opt.BudgetOption = DEFAULT_BUDGET_S,
        warmup: opt.WarmupOption = 1,
        audio: Annotated[Optional[list[str]], typer.Option("-a", "--audio", help="Audio file, directory or JSONL manifest; repeatable.")] = None,
        reference: Annotated[Optional[str], typer.Option("--reference", help="Reference text, or a .txt file.")] = None,
        language: opt.LanguageOption = "en",
        beam_size: opt.BeamOption = 1,
        previous_text: opt.PreviousTextOption = True,
        quant: opt.QuantOption = None,
        fallback: opt.FallbackOption = True,
        device: opt.DeviceOption = "auto",
        threads: opt.ThreadsOption = None,
        timeout: opt.TimeoutOption = 900.0,
        output: opt.OutputOption = None,
        dataset: opt.DatasetOption = None,
        split: opt.SplitOption = None,
        text_column: opt.TextColumnOption = None,
        streaming: opt.StreamingOption = False,
        max_clips: opt.MaxClipsOption = None,
        max_hours: opt.MaxHoursOption = None,
        batch_size: opt.BatchSizeOption = None,
        ray: opt.RayOption = False,
        ray_address: opt.RayAddressOption = None,
        ray_actors: opt.RayActorsOption = None,
        ray_cpus_per_actor: opt.RayCpusOption = 1,
        synthetic_weights: opt.SyntheticOption = False,
        synthetic_tokens: opt.SyntheticTokensOption = 40,
        cuda_graphs: opt.CudaGraphsOption = True,
        price_per_hour: opt.PriceOption = None,
        weights: opt.WeightsOption = "same",
        install_missing: Annotated[bool, typer.Option("--install-missing", help="First make the managed environments the chosen backends need and lack (whisper-speedtest backends install), before anything is timed.")] = False,
        history: opt.HistoryOption = True,
        quiet: opt.QuietOption = False,
        verbose: opt.VerboseOption = False,
        debug: opt.DebugOption = False,
    ) -> None:
        """Transcribe the same audio with every backend and print one table."""
        from ..audio import collect_clips

        prepared = prepare(
            BenchmarkOptions(
                model=model,
                backends=tuple(backends or ()),
                implementations=tuple(implementations or ()),
                runs=runs,
                budget=budget,
                warmup=warmup,
                language=language,
                beam_size=beam_size,
                previous_text=previous_text,
                quant=tuple(quant or ()),
                fallback=fallback,
                device=device,
                threads=threads,
                timeout=timeout,
                outputs=tuple(output or ()),
                dataset=dataset,
                split=split,
                text_column=text_column,
                streaming=streaming,
                max_clips=max_clips,
                max_hours=max_hours,
                batch_size=batch_size,
                synthetic=synthetic_weights,
                synthetic_tokens=synthetic_tokens,
                cuda_graphs=cuda_graphs,
                price_per_hour=price_per_hour,
                ray=ray,
                ray_address=ray_address,
                ray_actors=ray_actors,
                ray_cpus_per_actor=ray_cpus_per_actor,
                weights=weights,
                install_missing=install_missing,
            )
        )
        print_notes(prepared.notes, err)
        if install_missing:
            from .environments import install_for_request

            install_for_request(prepared.request, err, quiet=quiet)
        clips = () if prepared.request.dataset is not None else collect_clips(audio, reference)
        run_and_report(
            prepared.request.with_clips(clips),
            prepared.output_paths,
            out=out,
            err=err,
            quiet=quiet,
            verbose=verbose,
            debug=debug,
            keep_history=history,
        )
