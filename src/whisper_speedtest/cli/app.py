"""The Typer app: every command module registered side by side, and ``main``, the only place where
exceptions become messages and exit codes."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from typing import Annotated

import typer
from rich.console import Console

from ..errors import UserError
from ..version import __version__
from . import backends, benchmark, board, check_and_download, models, past_runs, record, stream

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


def _register_commands(typer_app: typer.Typer) -> None:
    """Every command group, side by side."""
    for module in (benchmark, backends, models, check_and_download, past_runs, record, stream, board):
        module.register(typer_app)


_register_commands(app)


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
    from ..interrupts import describe, exit_code, ignore_further_interrupts, signal_number

    ignore_further_interrupts()
    cause = exc.__cause__ if isinstance(exc, typer.Abort) and exc.__cause__ is not None else exc
    signum = signal_number(cause)
    activity = getattr(cause, "activity", None)
    err.print(describe(signum) + (f" while {activity}; no backend ran" if activity else ""), markup=False, highlight=False, soft_wrap=True)
    return exit_code(signum)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: user errors are one line on stderr and exit code 2."""
    from ..interrupts import stop_signals_interrupt

    _carry_interrupts_of_every_command(app)
    try:
        with stop_signals_interrupt():
            code = app(args=argv, standalone_mode=False)
    except InterruptCarried as carried:
        return _interrupted(carried.interrupt)
    except UserError as exc:
        if _debug_enabled():
            traceback.print_exc()
            if getattr(exc, "details", ""):  # what a library printed on the way (dataset.library_output)
                err.print(exc.details, markup=False, highlight=False, soft_wrap=True)
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

