"""The ``benchmark`` command, and the pipeline it shares with ``record``: flags mapped onto a request,
the run with its live display, outputs, summary table, history.

The defaults and the checks are the request's own (``bench.arguments``, ``BenchmarkRequest.build``);
this is command glue: output paths, notes and exit codes. Running the request is ``bench.session.run_benchmark``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from ..bench.arguments import DEFAULTS, BenchmarkArguments, check_price  # noqa: F401  (check_price: kept where tests read it)
from . import options as opt
from .options import backend_entries, check_not_empty, split_csv
from .output import print_notes

if TYPE_CHECKING:
    from ..bench.session import BenchmarkInterrupted, BenchmarkRequest
    from ..results import BenchmarkRun


@dataclass(frozen=True)
class BenchmarkOptions(BenchmarkArguments):
    """Command-line values of a benchmark, before any checking: the request's own arguments (every default
    is ``bench.arguments``'), plus what only the command has. ``backends`` and ``quant`` may be comma lists."""

    implementations: tuple[str, ...] = ()  # mac-whisper-speedtest's --implementations, added to backends
    outputs: tuple[str, ...] = ()
    install_missing: bool = False  # make missing managed environments before the run (never during it)


@dataclass(frozen=True)
class PreparedBenchmark:
    """Checked options: the request (its audio is added with ``request.with_clips``), where to write, what to say."""

    request: BenchmarkRequest
    output_paths: tuple[Path, ...]
    notes: tuple[str, ...] = ()  # one line each, for stderr: e.g. a mac-whisper-speedtest name and ours


def prepare(options: BenchmarkOptions) -> PreparedBenchmark:
    """Check every option (raising ``BadOption`` and friends) before any audio is read or recorded:
    the flags mapped onto ``BenchmarkRequest.build``, which holds every check."""
    from ..bench.request import BenchmarkRequest
    from ..models import catalog
    from ..models.paths import check_home_usable
    from ..report.writers import check_output_paths

    o = options
    check_not_empty("-o/--output", o.outputs)
    check_not_empty("-b/--backends", o.backends)
    output_paths = tuple(check_output_paths(split_csv(o.outputs)))
    arguments = {f.name: getattr(o, f.name) for f in dataclasses.fields(BenchmarkArguments)}
    backends, versions, notes = backend_entries(o.backends, o.implementations)  # -b faster-whisper==1.1.1: a pinned version
    arguments.update(backends=tuple(dict.fromkeys(backends)), quant=tuple(split_csv(o.quant)))
    request = BenchmarkRequest.build(**arguments)
    if versions:  # one class may run twice, at two versions: the pairs as backend_entries made them
        request = dataclasses.replace(request, backends=backends, versions=versions)
    if arguments["language"] == "auto" and catalog.get(request.model).english_only:
        notes = (*notes, f"note: {request.model} is English-only: with --language auto it decodes English, there is no language to "
                         f"detect (a multilingual model such as {request.model.removesuffix('.en')} detects it)")
    check_home_usable()
    return PreparedBenchmark(request, output_paths, notes)


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
    from ..interrupts import describe, exit_code, ignore_further_interrupts
    from ..report.writers import write_outputs

    ignore_further_interrupts()
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
        model: opt.ModelOption = DEFAULTS.model,
        backends: opt.BackendsOption = None,
        implementations: opt.ImplementationsOption = None,
        runs: opt.RunsOption = None,
        budget: opt.BudgetOption = DEFAULTS.budget,
        warmup: opt.WarmupOption = DEFAULTS.warmup,
        audio: Annotated[Optional[list[str]], typer.Option("-a", "--audio", help="Audio file, directory or JSONL manifest; repeatable.")] = None,
        reference: Annotated[Optional[str], typer.Option("--reference", help="Reference text, or a .txt file.")] = None,
        language: opt.LanguageOption = DEFAULTS.language,
        beam_size: opt.BeamOption = DEFAULTS.beam_size,
        previous_text: opt.PreviousTextOption = DEFAULTS.previous_text,
        quant: opt.QuantOption = None,
        fallback: opt.FallbackOption = DEFAULTS.fallback,
        device: opt.DeviceOption = DEFAULTS.device,
        threads: opt.ThreadsOption = None,
        timeout: opt.TimeoutOption = DEFAULTS.timeout,
        output: opt.OutputOption = None,
        dataset: opt.DatasetOption = None,
        split: opt.SplitOption = None,
        text_column: opt.TextColumnOption = None,
        streaming: opt.StreamingOption = DEFAULTS.streaming,
        max_clips: opt.MaxClipsOption = None,
        max_hours: opt.MaxHoursOption = None,
        batch_size: opt.BatchSizeOption = None,
        ray: opt.RayOption = DEFAULTS.ray,
        ray_address: opt.RayAddressOption = None,
        ray_actors: opt.RayActorsOption = None,
        ray_cpus_per_actor: opt.RayCpusOption = DEFAULTS.ray_cpus_per_actor,
        synthetic_weights: opt.SyntheticOption = DEFAULTS.synthetic,
        synthetic_tokens: opt.SyntheticTokensOption = DEFAULTS.synthetic_tokens,
        cuda_graphs: opt.CudaGraphsOption = DEFAULTS.cuda_graphs,
        price_per_hour: opt.PriceOption = None,
        weights: opt.WeightsOption = DEFAULTS.weights.value,
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
