"""Runs one ``WorkerJob`` in a spawned child process, watching its time, its first pass and its memory.

The child cannot outlive this process (``lifeline``); a child that runs past the timeout, overruns
its first pass (``RunPolicy``), or sits silent at its memory limit is stopped, and one that dies
says how, with out-of-memory evidence where there is some.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue as queue_module
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from ..child_messages import FINAL, ChildMessage
from ..environments.spawn import EnvironmentContext
from ..results import TOO_SLOW
from .child_output import collect, new_log_path
from .job import WorkerJob
from .lifeline import Lifeline
from .memory_watch import MemoryWatch
from .run_policy import RunPolicy
from .worker import child_main

MessageCallback = Callable[[ChildMessage, Any], None]  # (kind, payload) as the child sent it
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _exit_reason(exitcode: int | None, evidence: str | None = None) -> str:
    """What ended the child, plus the out-of-memory evidence when there is some (never a guess)."""
    if exitcode is None:
        reason = "child process ended without a result"
    elif exitcode < 0:
        number = -exitcode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = None
        if number == signal.SIGKILL or name is None:
            reason = f"backend process killed (signal {number})"
        else:
            reason = f"backend process killed by {name} (signal {number})"
    else:
        reason = f"backend process exited with code {exitcode} without a result"
    return f"{reason}; {evidence}" if evidence else reason


# A child stopped as too slow (or hung) cannot unregister the semaphores its libraries made (tqdm's
# lock, say); multiprocessing's resource tracker removes them when the run ends, and would print a
# "leaked semaphore" warning under the table. It takes its warning options from ours when it starts.
QUIET_RESOURCE_TRACKER = "ignore:resource_tracker:UserWarning"


def quiet_resource_tracker() -> None:
    """Keep the resource tracker's clean-up note off stderr; call before the first child starts."""
    if QUIET_RESOURCE_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(QUIET_RESOURCE_TRACKER)


def run_child(job: WorkerJob, timeout_s: float, on_message: MessageCallback, label: str, python: str | None = None):
    """Run ``job`` in a spawned child; returns (a final ``ChildMessage``: RESULT, ERROR, TIMEOUT, CRASHED or TOO_SLOW, payload):
    a ``WorkerResult``, a ``WorkerFailure``, or the one-line reason of the other outcomes.
    ``python``: a managed environment's interpreter for the child (``environments.spawn``), else this one."""
    kind, payload, _ = run_child_logged(job, timeout_s, on_message, label, python)
    return kind, payload


def run_child_logged(job: WorkerJob, timeout_s: float, on_message: MessageCallback, label: str, python: str | None = None):
    """``run_child``, plus what the child's libraries printed (kept off the screen): (kind, payload, log)."""
    quiet_resource_tracker()
    context = mp.get_context("spawn") if python is None else EnvironmentContext(python)
    messages = context.Queue()
    log_path = new_log_path(label)
    process = context.Process(
        target=child_main, args=(job, messages, Lifeline.of_this_process(), str(log_path)), name=f"whisper-speedtest:{label}"
    )
    kind, payload = ChildMessage.CRASHED, "interrupted"
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # now: starting it later, inside the hold, would unblock Ctrl-C and SIGTERM
    try:
        with held_stop_signals():  # the job reaches the child whole: no half-written pickle for it to choke on
            process.start()
        kind, payload = _collect(process, messages, timeout_s, on_message, job.policy)
    finally:
        if process.pid is not None:
            _stop(process, grace_s=10.0 if kind in FINAL else 0.0)
        messages.close()
        messages.join_thread()
        log = collect(log_path)
    return kind, payload, log


@contextlib.contextmanager
def held_stop_signals():
    """Hold Ctrl-C, SIGTERM and SIGHUP while the block runs, then act on the first that came.

    They are blocked in this thread (a spawned child inherits the mask, so it cannot be interrupted
    half-started either: ``worker.child_main`` unblocks them) and recorded if another thread takes one.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {signum: signal.signal(signum, lambda number, _frame: caught.append(number)) for signum in HELD_SIGNALS}
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)  # a pending one is recorded now
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught:
        handler = previous[caught[0]]
        if callable(handler):
            handler(caught[0], None)
        elif handler is signal.SIG_DFL:
            raise KeyboardInterrupt


def _collect(process, messages, timeout_s: float, on_message: MessageCallback, policy: RunPolicy):
    """Wait for the child's result; returns (RESULT, ERROR, TIMEOUT, CRASHED or TOO_SLOW, payload).

    A first pass (the child's ``(PASS, audio seconds)``, ended by its next message) that runs past the
    policy's limit stops the child: the backend is slower than real time and the budget is spent.
    """
    deadline = time.monotonic() + timeout_s
    memory = MemoryWatch(process.pid)
    last_message = time.monotonic()
    first_pass: tuple[float, float] | None = None  # (audio seconds, when it began) while one runs
    load_s: float | None = None
    while True:
        try:
            kind, payload = messages.get(timeout=0.1)
        except queue_module.Empty:
            memory.sample()
            now = time.monotonic()
            if now > deadline:
                return ChildMessage.TIMEOUT, f"no result within --timeout {timeout_s:g} s; backend process stopped"
            limit = policy.first_pass_limit(first_pass[0]) if first_pass else None
            if limit is not None and now - first_pass[1] > limit:
                loaded = f"loaded in {load_s:.1f} s; " if load_s is not None else ""
                return ChildMessage.TOO_SLOW, loaded + policy.stopped_note(first_pass[0], now - first_pass[1])
            if memory.stuck(last_message, timeout_s):
                return ChildMessage.CRASHED, f"{memory.evidence() or 'out of memory'}; backend process stuck at the limit, stopped"
            if not process.is_alive():
                try:  # the result may have arrived just as the process ended
                    kind, payload = messages.get(timeout=0.5)
                except queue_module.Empty:
                    process.join(1)
                    return ChildMessage.CRASHED, _exit_reason(process.exitcode, memory.evidence())
            else:
                continue
        last_message = time.monotonic()
        if kind in FINAL:
            return kind, payload
        first_pass = (payload, last_message) if kind == ChildMessage.PASS else None
        if kind == ChildMessage.LOADED:
            load_s = payload
        on_message(kind, payload)


def _stop(process, grace_s: float) -> None:
    """Let a child that delivered its result exit on its own; stop anything else."""
    process.join(grace_s)
    if process.is_alive():
        process.terminate()
        process.join(3)
    if process.is_alive():
        process.kill()
    process.join(3)
