"""A benchmark child never outlives the process that started it.

On Linux the kernel sends SIGKILL to the child when its parent dies (``prctl(PR_SET_PDEATHSIG)``);
everywhere a watchdog thread also ends the child once its parent pid changes (it was re-parented).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.5


@dataclass(frozen=True)
class Lifeline:
    """What the child needs to follow its parent: its pid, and whether the kernel may tie them.

    ``PR_SET_PDEATHSIG`` fires when the parent *thread* exits, so it is used only for children
    started from the main thread.
    """

    parent_pid: int
    death_signal: bool

    @classmethod
    def of_this_process(cls) -> Lifeline:
        return cls(os.getpid(), threading.current_thread() is threading.main_thread())


def _parent_gone(parent_pid: int) -> bool:
    return os.getppid() != parent_pid


def _set_parent_death_signal(signum: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while True:
        time.sleep(WATCH_INTERVAL_S)
        if _parent_gone(parent_pid):
            os._exit(1)


def follow_parent(lifeline: Lifeline) -> None:
    """Called first thing in the child: die with the parent, including when it is already gone."""
    if lifeline.death_signal:
        _set_parent_death_signal(signal.SIGKILL)
    if _parent_gone(lifeline.parent_pid):
        os._exit(1)
    threading.Thread(target=_watch, args=(lifeline.parent_pid,), name="parent-watchdog", daemon=True).start()
