"""Signals that stop a benchmark early: Ctrl-C (SIGINT), and SIGTERM or SIGHUP handled the same way.

A stop signal becomes a ``KeyboardInterrupt`` in the main thread, so the code that keeps finished
rows after Ctrl-C keeps them after ``kill`` too; the exit code tells which signal it was (128 + n).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """A stop signal other than SIGINT reached the main process."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def signal_number(exc: BaseException | None) -> int:
    """The signal behind an interruption (``Terminated`` anywhere in its cause chain), else SIGINT."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, Terminated):
            return exc.signum
        signum = getattr(exc, "signum", None)
        if isinstance(signum, int):
            return signum
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return int(signal.SIGINT)


def exit_code(signum: int) -> int:
    """The shell convention: 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM)."""
    return 128 + signum


def describe(signum: int) -> str:
    """'interrupted' for Ctrl-C, 'terminated (SIGTERM)' for the others."""
    if signum == signal.SIGINT:
        return "interrupted"
    return f"terminated ({signal.Signals(signum).name})"


def _raise_terminated(signum: int, _frame) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second signal of the same kind ends the process at once
    raise Terminated(signum)


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise ``Terminated`` in the main thread (like Ctrl-C does)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_IGN:  # nohup: keep ignoring what the user asked to ignore
            continue
        previous[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def ignore_further_interrupts() -> None:
    """Once a stop is being handled (partial results written, the message printed), another Ctrl-C is
    ignored: it would only cut the clean-up short and end the process by the signal instead of 130."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
