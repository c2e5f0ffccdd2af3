"""What a measured region costs: the child's CPU time and the energy counters' rise, never a guess.

``CostMeter`` runs inside the backend child. ``resume()``/``pause()`` bracket the measured
segments (each clip's timed runs, a dataset's timed pass, the cold load); ``take(audio_s)`` returns
what accumulated as a ``RegionCost`` and starts afresh. The energy sources (``energy.py``,
``powermetrics.py``) are polled every ``interval_s`` while a segment runs.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Any

from ..results import RegionCost
from .energy import CPU_PACKAGE, POLL_INTERVAL_S, EnergySource, Unreadable, open_nvml, open_rapl


def default_sources() -> list[EnergySource]:
    """The energy domains this platform may have, each readable or saying why not."""
    if sys.platform == "darwin":
        from .powermetrics import open_powermetrics

        return [open_powermetrics()]
    if sys.platform.startswith("linux"):
        return [open_rapl(), open_nvml()]
    return [Unreadable(CPU_PACKAGE, "rapl", f"no CPU energy counter known on {sys.platform}"), open_nvml()]


def process_cpu_seconds(process: Any, exclude: Sequence[int] = ()) -> float:
    """User + system time of ``process``, its reaped children and its live descendants."""
    times = process.cpu_times()
    total = times.user + times.system + getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)
    for child in process.children(recursive=True):
        if child.pid in exclude:
            continue
        try:
            child_times = child.cpu_times()
        except Exception:  # gone meanwhile: its time is in children_* once reaped
            continue
        total += child_times.user + child_times.system
    return total


class CostMeter:
    """Accumulates CPU time, wall time and energy over ``resume()``…``pause()`` segments."""

    def __init__(
        self,
        sources: Sequence[EnergySource] | None = None,
        *,
        interval_s: float = POLL_INTERVAL_S,
        cpu_seconds: Callable[[], float] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.sources = list(default_sources() if sources is None else sources)
        if cpu_seconds is None:
            import psutil

            process = psutil.Process()
            helpers = tuple(pid for s in self.sources for pid in s.helper_pids())
            cpu_seconds = lambda: process_cpu_seconds(process, helpers)  # noqa: E731
        self._cpu_seconds, self._clock, self._interval = cpu_seconds, clock, interval_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running = False
        self._wall = self._cpu = 0.0
        self._segment_start = (0.0, 0.0)
        self._thread = threading.Thread(target=self._poll_loop, name="cost-meter", daemon=True)
        self._thread.start()

    def _each(self, method: str) -> None:
        for source in self.sources:
            try:
                getattr(source, method)()
            except Exception as exc:  # a counter must never stop the benchmark
                source.fail(f"{source.method} {method} failed: {type(exc).__name__}: {exc}")

    def _poll_loop(self) -> None:
        while not self._stop.wait(self._interval):
            with self._lock:
                if self._running:
                    self._each("poll")

    def resume(self) -> None:
        with self._lock:
            if self._running:
                return
            self._each("begin")
            self._segment_start = (self._clock(), self._cpu_seconds())
            self._running = True

    def pause(self) -> None:
        with self._lock:
            if not self._running:
                return
            wall, cpu = self._clock(), self._cpu_seconds()
            self._each("end")
            self._running = False
            self._wall += wall - self._segment_start[0]
            self._cpu += cpu - self._segment_start[1]

    @contextmanager
    def measuring(self):
        self.resume()
        try:
            yield self
        finally:
            self.pause()

    def take(self, audio_s: float = 0.0) -> RegionCost:
        """What the segments since the last ``take`` cost; starts afresh."""
        self.pause()
        with self._lock:
            cost = RegionCost(self._wall, self._cpu, audio_s, tuple(s.take() for s in self.sources))
            self._wall = self._cpu = 0.0
        return cost

    def close(self) -> None:
        self.pause()
        self._stop.set()
        self._thread.join(timeout=1)
        for source in self.sources:
            try:
                source.close()
            except Exception:
                pass
