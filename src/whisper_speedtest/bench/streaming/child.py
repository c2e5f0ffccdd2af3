"""Runs a streaming job in a spawned child that cannot outlive this process, within a timeout.

The steps arrive as they happen, so a child that hangs mid-stream, crashes or is interrupted still
leaves the steps it measured.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
import time
import traceback
from collections.abc import Callable
from typing import Any

from ..child import _stop as stop_child, quiet_resource_tracker
from ..child_output import collect, new_log_path, redirect_output
from ..dataset_pass import one_line
from ..job import WorkerFailure
from ..lifeline import Lifeline, follow_parent


def stream_child_main(job, messages, lifeline: Lifeline | None = None, log_path: str | None = None) -> None:
    if log_path is not None:
        redirect_output(log_path)  # what the libraries print stays off the live screen, kept in the row
    if lifeline is not None:
        follow_parent(lifeline)

    def report(kind: str, payload: Any) -> None:
        messages.put((kind, payload))

    try:
        report("result", job.run(report))
    except BaseException as exc:  # everything becomes a one-line failure for the parent
        report("error", WorkerFailure(one_line(exc), traceback.format_exc()))


def run_stream_child(job, timeout_s: float, on_message: Callable[[str, Any], None], label: str,
                     deadline_of: Callable[[], float] | None = None) -> tuple[str, Any, str]:
    """(kind, payload, what the child's libraries printed): ("result", payload) | ("error", WorkerFailure) |
    ("timeout" | "crashed", one-line reason), then the log.

    Every other message (progress, steps) goes to ``on_message`` as it comes. Ctrl-C stops the child
    and propagates. ``deadline_of``: the monotonic deadline, asked again at every poll (the live
    microphone's: none while it records), instead of ``timeout_s`` from now.
    """
    quiet_resource_tracker()
    context = mp.get_context("spawn")
    messages = context.Queue()
    log_path = new_log_path(f"stream-{label}")
    process = context.Process(target=stream_child_main, args=(job, messages, Lifeline.of_this_process(), str(log_path)),
                              name=f"whisper-speedtest:stream:{label}")
    process.start()
    outcome: tuple[str, Any] = ("crashed", "interrupted")
    try:
        outcome = _collect(process, messages, timeout_s, on_message, deadline_of)
    finally:
        stop_child(process, grace_s=10.0 if outcome[0] in ("result", "error") else 0.0)
        messages.close()
        messages.join_thread()
        log = collect(log_path)
    return (*outcome, log)


def _collect(process, messages, timeout_s: float, on_message, deadline_of=None) -> tuple[str, Any]:
    fixed = time.monotonic() + timeout_s
    deadline_of = deadline_of or (lambda: fixed)
    while True:
        try:
            kind, payload = messages.get(timeout=0.1)
        except queue_module.Empty:
            if time.monotonic() > deadline_of():
                return "timeout", f"no result within --timeout {timeout_s:g} s; backend process stopped"
            if not process.is_alive():
                try:
                    kind, payload = messages.get(timeout=0.5)
                except queue_module.Empty:
                    process.join(1)
                    return "crashed", f"backend process ended without a result (exit code {process.exitcode})"
            else:
                continue
        if kind in ("result", "error"):
            return kind, payload
        on_message(kind, payload)
