"""Memory sampling inside a benchmark child: its own peak RSS, and its NVIDIA memory where NVML can tell.

The parent watches the child from outside for out-of-memory evidence (``memory_watch``); this
sampler runs in the child, so it sees short peaks the parent's polling would miss.
"""

from __future__ import annotations

import os
import resource
import sys
import threading


class MemorySampler:
    """Samples this process's RSS (and NVIDIA memory when available) on a background thread."""

    def __init__(self, interval_s: float = 0.02) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval_s
        self._stop = threading.Event()
        self.peak_rss = self._process.memory_info().rss
        # On Linux a spawned child starts with its parent's high-water mark (fork, then exec keeps
        # ru_maxrss): only a mark the child raised itself is its own.
        self._maxrss_at_start = self._maxrss()
        self.peak_vram: int | None = None
        self._nvml_handle = self._open_nvml()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @staticmethod
    def _open_nvml():
        try:
            import pynvml

            pynvml.nvmlInit()
            if pynvml.nvmlDeviceGetCount() == 0:
                return None
            index = int((os.environ.get("CUDA_VISIBLE_DEVICES") or "0").split(",")[0] or 0)
            return pynvml.nvmlDeviceGetHandleByIndex(index)
        except Exception:
            return None

    def _vram_of_this_process(self) -> int | None:
        import pynvml

        try:
            for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(self._nvml_handle):
                if proc.pid == os.getpid() and proc.usedGpuMemory:
                    return int(proc.usedGpuMemory)
        except Exception:
            return None
        return None

    def sample(self) -> None:
        try:
            self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)
        except Exception:
            return
        if self._nvml_handle is not None:
            used = self._vram_of_this_process()
            if used is not None:
                self.peak_vram = max(self.peak_vram or 0, used)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def peak_vram_with(self, device_peak: int | None) -> int | None:
        """The larger of NVML's reading and the framework's own (``Backend.peak_device_memory``), or None."""
        return max(v for v in (self.peak_vram, device_peak, 0) if v is not None) or None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self.sample()
        # ru_maxrss catches peaks shorter than the sampling interval, once this process raised it.
        maxrss = self._maxrss()
        if maxrss > self._maxrss_at_start:
            self.peak_rss = max(self.peak_rss, maxrss)

    @staticmethod
    def _maxrss() -> int:
        """This process's ru_maxrss in bytes (KiB on Linux, bytes on macOS)."""
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss if sys.platform == "darwin" else maxrss * 1024
