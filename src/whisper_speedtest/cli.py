"""Command-line interface. The only place where exceptions become messages and exit codes."""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from typing import Annotated, Optional

import typer
from rich.console import Console

from . import __version__
from . import benchmark_flow as flow
from .errors import UserError

app = typer.Typer(
    name="whisper-speedtest",
    help="Which Whisper implementation is fastest on this machine, and how accurate is it here?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def _debug_enabled() -> bool:
    return os.environ.get("WHISPER_SPEEDTEST_DEBUG", "") not in ("", "0") or "--debug" in sys.argv


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"whisper-speedtest {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version.")] = False,
) -> None:
    """whisper-speedtest: run the same audio through every Whisper backend and compare."""


@app.command()
def benchmark(
    model: flow.ModelOption = "tiny.en",
    backends: flow.BackendsOption = None,
    implementations: flow.ImplementationsOption = None,
    runs: flow.RunsOption = None,
    budget: flow.BudgetOption = flow.DEFAULT_BUDGET_S,
    warmup: flow.WarmupOption = 1,
    audio: Annotated[Optional[list[str]], typer.Option("-a", "--audio", help="Audio file, directory or JSONL manifest; repeatable.")] = None,
    reference: Annotated[Optional[str], typer.Option("--reference", help="Reference text, or a .txt file.")] = None,
    language: flow.LanguageOption = "en",
    beam_size: flow.BeamOption = 1,
    previous_text: flow.PreviousTextOption = True,
    quant: flow.QuantOption = None,
    fallback: flow.FallbackOption = True,
    device: flow.DeviceOption = "auto",
    threads: flow.ThreadsOption = None,
    timeout: flow.TimeoutOption = 900.0,
    output: flow.OutputOption = None,
    dataset: flow.DatasetOption = None,
    split: flow.SplitOption = None,
    text_column: flow.TextColumnOption = None,
    streaming: flow.StreamingOption = False,
    max_clips: flow.MaxClipsOption = None,
    max_hours: flow.MaxHoursOption = None,
    batch_size: flow.BatchSizeOption = None,
    ray: flow.RayOption = False,
    ray_address: flow.RayAddressOption = None,
    ray_actors: flow.RayActorsOption = None,
    ray_cpus_per_actor: flow.RayCpusOption = 1,
    synthetic_weights: flow.SyntheticOption = False,
    synthetic_tokens: flow.SyntheticTokensOption = 40,
    cuda_graphs: flow.CudaGraphsOption = True,
    price_per_hour: flow.PriceOption = None,
    weights: flow.WeightsOption = "same",
    history: flow.HistoryOption = True,
    quiet: flow.QuietOption = False,
    verbose: flow.VerboseOption = False,
    debug: flow.DebugOption = False,
) -> None:
    """Transcribe the same audio with every backend and print one table."""
    from .audio import collect_clips

    prepared = flow.prepare(
        flow.BenchmarkOptions(
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
        )
    )
    flow.print_notes(prepared, err)
    clips = () if prepared.request.dataset is not None else collect_clips(audio, reference)
    flow.run_and_report(
        prepared.request.with_clips(clips),
        prepared.output_paths,
        out=out,
        err=err,
        quiet=quiet,
        verbose=verbose,
        debug=debug,
        keep_history=history,
    )


@app.command("backends")
def list_backends(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every known backend: installed, available here (or why not), and its extra."""
    from rich.markup import escape
    from rich.table import Table

    from .backends import all_backends

    rows = []
    for cls in sorted(all_backends().values(), key=lambda c: c.name):
        availability = cls.available()
        rows.append(
            {
                "name": cls.name,
                "display_name": cls.display_name,
                "installed": not cls.missing_requirements(),
                "available": availability.ok,
                "reason": availability.reason,
                "model_format": cls.model_format,
                "family": cls.family,
                "extra": cls.extra,
                "install": cls.install_hint(),
            }
        )
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="Backends")
    for column in ("Backend", "Installed", "Available", "Format", "Install", "Reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            "yes" if row["installed"] else "no",
            "[green]yes[/green]" if row["available"] else "[red]no[/red]",
            row["model_format"],
            escape(f"whisper-speedtest[{row['extra']}]") if row["extra"] else escape(row["install"]),
            escape(row["reason"]),  # install hints such as pip install 'whisper-speedtest[lightning]' are not markup
        )
    out.print(table)


def _register_subcommands() -> None:
    from . import cli_board, cli_cache, cli_models, cli_results

    cli_models.register(app)
    cli_cache.register(app)
    cli_results.register(app)
    cli_board.register(app)


class InterruptCarried(Exception):
    """A ``KeyboardInterrupt`` (Ctrl-C, or SIGTERM through ``interrupts``) carried out of a command.

    Typer turns a ``KeyboardInterrupt`` into a silent exit 130, losing which signal it was and what
    it interrupted; wrapped in this, it reaches ``main`` intact.
    """

    def __init__(self, interrupt: KeyboardInterrupt) -> None:
        super().__init__(str(interrupt))
        self.interrupt = interrupt


def _carrying_interrupts(callback):
    if getattr(callback, "carries_interrupts", False):
        return callback

    @functools.wraps(callback)
    def command(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except KeyboardInterrupt as exc:
            raise InterruptCarried(exc) from exc

    command.carries_interrupts = True
    return command


def _carry_interrupts_of_every_command(typer_app: typer.Typer) -> None:
    for info in typer_app.registered_commands:
        info.callback = _carrying_interrupts(info.callback)
    for group in typer_app.registered_groups:
        _carry_interrupts_of_every_command(group.typer_instance)


def _interrupted(exc: BaseException) -> int:
    """Ctrl-C or SIGTERM outside a benchmark's own handling: one line saying what stopped, 128 + signal."""
    from .interrupts import describe, exit_code, signal_number

    cause = exc.__cause__ if isinstance(exc, typer.Abort) and exc.__cause__ is not None else exc
    signum = signal_number(cause)
    activity = getattr(cause, "activity", None)
    err.print(describe(signum) + (f" while {activity}; no backend ran" if activity else ""), markup=False, highlight=False, soft_wrap=True)
    return exit_code(signum)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: user errors are one line on stderr and exit code 2."""
    from .interrupts import stop_signals_interrupt

    _register_subcommands()
    _carry_interrupts_of_every_command(app)
    try:
        with stop_signals_interrupt():
            code = app(args=argv, standalone_mode=False)
    except InterruptCarried as carried:
        return _interrupted(carried.interrupt)
    except UserError as exc:
        if _debug_enabled():
            traceback.print_exc()
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt) as exc:
        return _interrupted(exc)
    except typer.TyperException as exc:  # usage errors: unknown option, a value that does not parse
        if _debug_enabled():
            traceback.print_exc()
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err.print(f"error: {' '.join(message.split())}", markup=False, highlight=False, soft_wrap=True)
        return getattr(exc, "exit_code", 2) or 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
