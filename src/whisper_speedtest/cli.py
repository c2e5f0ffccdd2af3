"""Command-line interface. The only place where exceptions become messages and exit codes."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from . import __version__
from .errors import BadOption, UserError

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


def _split_csv(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


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
    model: Annotated[str, typer.Option("-m", "--model", help="Model name (tiny.en, base, large-v3, turbo, ...).")] = "tiny.en",
    backends: Annotated[Optional[list[str]], typer.Option("-b", "--backends", help="Comma-separated backends (default: all available).")] = None,
    runs: Annotated[int, typer.Option("-n", "--runs", help="Timed runs per clip.")] = 3,
    warmup: Annotated[int, typer.Option("--warmup", help="Untimed warm-up runs per clip.")] = 1,
    audio: Annotated[Optional[list[str]], typer.Option("-a", "--audio", help="Audio file, directory or JSONL manifest; repeatable.")] = None,
    reference: Annotated[Optional[str], typer.Option("--reference", help="Reference text, or a .txt file.")] = None,
    language: Annotated[str, typer.Option("--language", help="Language code for every backend, or 'auto'.")] = "en",
    beam_size: Annotated[int, typer.Option("--beam-size", help="Beam size for every backend.")] = 1,
    previous_text: Annotated[bool, typer.Option("--previous-text/--no-previous-text", help="Condition each 30 s window on the previous one's text (all backends alike).")] = True,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or mps.")] = "auto",
    threads: Annotated[Optional[int], typer.Option("--threads", help="CPU threads (default: physical cores).")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed per backend (load and all runs).")] = 900.0,
    output: Annotated[Optional[list[str]], typer.Option("-o", "--output", help="Write results: .json, .csv or .md; repeatable.")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress display or notes.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Full transcripts and per-clip numbers.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Print tracebacks of errors and failed backends.")] = False,
) -> None:
    """Transcribe the same audio with every backend and print one table."""
    from .audio import collect_clips
    from .backends.base import LoadOptions
    from .bench.session import BenchmarkInterrupted, BenchmarkRequest, run_benchmark
    from .models import catalog
    from .report.writers import check_output_paths, write_outputs
    from .results import DecodeSettings

    if runs < 1:
        raise BadOption(f"--runs must be a positive integer (got {runs})")
    if warmup < 0:
        raise BadOption(f"--warmup must be zero or more (got {warmup})")
    if beam_size < 1:
        raise BadOption(f"--beam-size must be at least 1 (got {beam_size})")
    if timeout <= 0:
        raise BadOption(f"--timeout must be positive (got {timeout:g})")
    if threads is not None and threads < 1:
        raise BadOption(f"--threads must be at least 1 (got {threads})")
    if device not in ("auto", "cpu", "cuda", "mps"):
        raise BadOption(f"--device must be one of auto, cpu, cuda, mps (got {device!r})")
    output_paths = check_output_paths(_split_csv(output))
    model_name = catalog.resolve(model)
    backend_names = _split_csv(backends) or None
    if backend_names:
        from .bench.session import select_backends

        select_backends(backend_names)  # unknown names fail before any audio is decoded
    clips = tuple(collect_clips(audio, reference))
    settings = DecodeSettings(
        language=None if language == "auto" else language,
        beam_size=beam_size,
        temperature=0.0,
        runs=runs,
        warmup=warmup,
        timeout_s=timeout,
        condition_on_previous_text=previous_text,
    )
    request = BenchmarkRequest(model_name, tuple(backend_names) if backend_names else None, clips, settings, LoadOptions(device=device, threads=threads))
    from .progress import BenchmarkProgress

    display = BenchmarkProgress(err, enabled=not quiet, show_tracebacks=debug)
    try:
        with display:
            run = run_benchmark(
                request,
                on_plan=display.on_plan,
                on_progress=display.on_progress,
                on_row=display.on_row,
                on_note=display.note,
            )
    except BenchmarkInterrupted as stop:
        written = write_outputs(stop.run, output_paths)
        err.print(f"interrupted; kept {sum(r.ok for r in stop.run.results)} finished row(s)" + (f" in {', '.join(map(str, written))}" if written else ""))
        raise typer.Exit(130) from None
    written = write_outputs(run, output_paths)
    from .report.table import print_summary

    print_summary(run, out, verbose=verbose)
    for path in written:
        if not quiet:
            err.print(f"wrote {path}")
    if not run.succeeded:
        raise typer.Exit(1)


@app.command("backends")
def list_backends(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every known backend: installed, available here (or why not), and its extra."""
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
                "extra": cls.extra or cls.name,
                "install": cls.install_hint(),
            }
        )
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="Backends")
    for column in ("Backend", "Installed", "Available", "Format", "Extra", "Reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            "yes" if row["installed"] else "no",
            "[green]yes[/green]" if row["available"] else "[red]no[/red]",
            row["model_format"],
            row["extra"],
            row["reason"],
        )
    out.print(table)


def _register_subcommands() -> None:
    from . import cli_models

    cli_models.register(app)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: user errors are one line on stderr and exit code 2."""
    _register_subcommands()
    try:
        code = app(args=argv, standalone_mode=False)
    except UserError as exc:
        if _debug_enabled():
            traceback.print_exc()
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted", markup=False)
        return 130
    except typer.TyperException as exc:  # usage errors: unknown option, a value that does not parse
        if _debug_enabled():
            traceback.print_exc()
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        err.print(f"error: {' '.join(message.split())}", markup=False, highlight=False, soft_wrap=True)
        return getattr(exc, "exit_code", 2) or 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
