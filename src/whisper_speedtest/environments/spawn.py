"""A ``multiprocessing`` spawn context whose children run another environment's interpreter.

``multiprocessing``'s ``set_executable`` alone is not enough: a spawned child replaces its ``sys.path``
with the parent's and runs the parent's main script, so it would import the main environment's packages.
Here the child keeps its own interpreter's ``sys.path`` (its site-packages, ``PYTHONPATH``, the working
folder) and skips the parent's main module; the job, its queue and its result travel as in any spawned
child. The interpreter is swapped only for the launching thread, under a lock, while the child starts.
POSIX only (the start method's launcher is ``popen_spawn_posix``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import spawn
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path

_swap = threading.Lock()
_PARENT_ONLY = ("sys_path", "init_main_from_path", "init_main_from_name")


@contextmanager
def _launching_with(python: str) -> Iterator[None]:
    """While a child starts on this thread: its executable is ``python``, and the parent's path and main stay here."""
    launcher = threading.get_ident()
    original_data, original_executable = spawn.get_preparation_data, spawn.get_executable

    def preparation_data(name):
        data = original_data(name)
        if threading.get_ident() == launcher:
            data = {key: value for key, value in data.items() if key not in _PARENT_ONLY}
        return data

    def executable():  # what the stdlib's own set_executable keeps: bytes on POSIX
        return os.fsencode(python) if threading.get_ident() == launcher else original_executable()

    with _swap:
        spawn.get_preparation_data, spawn.get_executable = preparation_data, executable
        try:
            yield
        finally:
            spawn.get_preparation_data, spawn.get_executable = original_data, original_executable


class EnvironmentProcess(SpawnProcess):
    """A spawned process that starts ``interpreter`` (set by ``EnvironmentContext.Process``)."""

    interpreter: str = ""

    @staticmethod
    def _Popen(process_obj):
        from multiprocessing.popen_spawn_posix import Popen

        with _launching_with(process_obj.interpreter):
            return Popen(process_obj)


class EnvironmentContext(SpawnContext):
    """``multiprocessing.get_context("spawn")``, but every ``Process`` runs ``python``."""

    def __init__(self, python: str | Path) -> None:
        super().__init__()
        self.python = str(python)

    def Process(self, *args, **kwargs) -> EnvironmentProcess:  # noqa: N802 (multiprocessing's name)
        process = EnvironmentProcess(*args, **kwargs)
        process.interpreter = self.python
        return process
