"""The vocabulary of the benchmark child's messages: what a child sends its parent, and how a child ends.

A child (``bench/worker.py``) puts ``(kind, payload)`` tuples on its queue; the parent (``bench/child.py``,
``bench/runner.py``), the Ray driver and the progress display read them. A ``str`` enum, so a kind
pickles small and compares equal to its spelling.
"""

from __future__ import annotations

from enum import Enum


class ChildMessage(str, Enum):
    # sent while the child works
    PROGRESS = "progress"  # payload: a short text, what the child is doing
    LOADED = "loaded"  # payload: seconds of the cold load
    VARIANT = "variant"  # payload: LoadResult, what loaded (and any fallback), for a row stopped before its result
    PASS = "pass"  # payload: audio seconds of the pass that begins (ended by the next message)
    TOTAL = "total"  # payload: how many ticks to expect
    TICK = "tick"  # payload: ticks done since the last one
    ETA = "eta"  # payload: seconds the running pass still needs, by the child's own estimate
    # the child's last message
    RESULT = "result"  # payload: WorkerResult
    ERROR = "error"  # payload: WorkerFailure
    # how the parent saw a child end without either (payload: the one-line reason)
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    TOO_SLOW = "too slow"
    # the parent's own, to the progress display: a failed child's traceback (shown with --debug)
    TRACEBACK = "traceback"

    def __str__(self) -> str:
        return self.value


FINAL = (ChildMessage.RESULT, ChildMessage.ERROR)  # a child that sent one of these is done and exits by itself
