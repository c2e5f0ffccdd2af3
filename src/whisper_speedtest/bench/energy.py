"""Energy counters of one domain each: Linux RAPL, NVIDIA NVML; ``powermetrics.py`` adds macOS.

- RAPL (``/sys/class/powercap/intel-rapl:N/energy_uj``, package zones only): the counter wraps at
  ``max_energy_range_uj``; it is read at every poll while measuring, so a wrap between two reads
  is added back, not lost.
- NVML: the total-energy counter where every GPU has one, otherwise power samples integrated with
  the trapezoid rule (a sample at each segment's start and end, and at every poll).

A source that cannot be read gives ``joules=None`` and a one-line reason: never a guess.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..results import EnergyReading

POWERCAP_ROOT = Path("/sys/class/powercap")
POLL_INTERVAL_S = 0.1
CPU_PACKAGE, GPU = "cpu package", "gpu"


def wrap_delta(previous: int, current: int, max_range: int) -> int:
    """The rise of a counter that wraps to 0 after ``max_range``: one wrap at most between two reads."""
    return current - previous if current >= previous else current + max_range - previous


class EnergySource:
    """One energy domain, accumulated over the segments since the last ``take``."""

    domain = ""
    method = ""
    scope = ""

    def __init__(self) -> None:
        self._joules = 0.0
        self._failure = ""

    def begin(self) -> None:  # start of a segment
        pass

    def poll(self) -> None:  # while a segment runs, every POLL_INTERVAL_S
        pass

    def end(self) -> None:  # end of a segment: adds its energy
        pass

    def helper_pids(self) -> tuple[int, ...]:
        """Processes this source started, whose CPU time is not the backend's."""
        return ()

    def fail(self, reason: str) -> None:
        self._failure = self._failure or reason

    def take(self) -> EnergyReading:
        if self._failure:
            reading = EnergyReading(self.domain, self.method, None, self._failure, self.scope)
        else:
            reading = EnergyReading(self.domain, self.method, self._joules, "", self.scope)
        self._joules, self._failure = 0.0, ""
        return reading

    def close(self) -> None:
        pass


class Unreadable(EnergySource):
    """A domain whose counter cannot be read here; every reading says why."""

    def __init__(self, domain: str, method: str, reason: str) -> None:
        super().__init__()
        self.domain, self.method, self._reason = domain, method, reason

    def take(self) -> EnergyReading:
        return EnergyReading(self.domain, self.method, None, self._reason)


# --- Linux RAPL -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaplZone:
    name: str
    energy_file: Path
    max_range_uj: int


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


def _unreadable(path: Path, exc: Exception) -> str:
    if isinstance(exc, PermissionError):
        return f"{path} not readable: permission denied (superuser only since Linux 5.10; run with sudo, or make energy_uj readable)"
    if isinstance(exc, ValueError):
        return f"{path} does not hold a number"
    return f"{path} not readable: {getattr(exc, 'strerror', None) or exc}"


def rapl_zones(root: Path = POWERCAP_ROOT) -> list[RaplZone] | str:
    """The package zones (``intel-rapl:N``, named ``package-N``), or the reason there are none to read."""
    folders = sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1)
    if not folders:
        return f"no RAPL interface ({root}/intel-rapl:* not found)"
    zones = []
    for folder in folders:
        try:
            name = (folder / "name").read_text().strip()
        except OSError:
            name = folder.name
        if not name.startswith("package"):
            continue  # psys and others overlap the packages
        energy = folder / "energy_uj"
        try:
            _read_int(energy)
        except (OSError, ValueError) as exc:
            return _unreadable(energy, exc)
        try:
            max_range = _read_int(folder / "max_energy_range_uj")
        except (OSError, ValueError) as exc:
            return _unreadable(folder / "max_energy_range_uj", exc) + "; a counter wrap could not be told"
        zones.append(RaplZone(name, energy, max_range))
    return zones or f"no RAPL package zone under {root}"


class RaplSource(EnergySource):
    """CPU package energy from RAPL counters, wraps added back."""

    domain, method, scope = CPU_PACKAGE, "rapl", "whole CPU package(s), every process on the machine"

    def __init__(self, zones: Sequence[RaplZone]) -> None:
        super().__init__()
        self.zones = tuple(zones)
        self._last: list[int] | None = None

    def _read(self) -> list[int] | None:
        values = []
        for zone in self.zones:
            try:
                values.append(_read_int(zone.energy_file))
            except (OSError, ValueError) as exc:
                self.fail(_unreadable(zone.energy_file, exc))
                return None
        return values

    def begin(self) -> None:
        self._last = self._read()

    def poll(self) -> None:
        if self._last is None:
            return
        now = self._read()
        if now is None:
            self._last = None
            return
        rise = sum(wrap_delta(a, b, z.max_range_uj) for a, b, z in zip(self._last, now, self.zones, strict=True))
        self._joules += rise / 1e6
        self._last = now

    def end(self) -> None:
        self.poll()
        self._last = None


def open_rapl(root: Path = POWERCAP_ROOT) -> EnergySource:
    zones = rapl_zones(root)
    return Unreadable(CPU_PACKAGE, "rapl", zones) if isinstance(zones, str) else RaplSource(zones)


# --- NVIDIA NVML ------------------------------------------------------------------------------


def _nvml_error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


class NvmlSource(EnergySource):
    """GPU energy: the total-energy counter (mJ) where every GPU has one, else integrated power (mW)."""

    domain, scope = GPU, "whole GPU(s), every process, idle draw included"

    def __init__(self, nvml: Any, handles: Sequence[Any], clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._nvml, self._handles, self._clock = nvml, tuple(handles), clock
        try:
            for handle in self._handles:
                nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            self.method = "nvml energy counter"
        except Exception:
            self.method = "nvml power samples"
        self._start: list[int] | None = None
        self._samples: list[tuple[float, float]] = []

    def _power_w(self) -> float:
        return sum(self._nvml.nvmlDeviceGetPowerUsage(h) for h in self._handles) / 1000.0

    def _sample(self) -> None:
        try:
            self._samples.append((self._clock(), self._power_w()))
        except Exception as exc:
            self.fail(f"NVML power reading failed: {_nvml_error(exc)}")

    def begin(self) -> None:
        if self.method == "nvml energy counter":
            try:
                self._start = [self._nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._handles]
            except Exception as exc:
                self.fail(f"NVML energy counter failed: {_nvml_error(exc)}")
        else:
            self._samples = []
            self._sample()

    def poll(self) -> None:
        if self.method == "nvml power samples":
            self._sample()

    def end(self) -> None:
        if self.method == "nvml energy counter":
            if self._start is None:
                return
            try:
                now = [self._nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self._handles]
            except Exception as exc:
                self.fail(f"NVML energy counter failed: {_nvml_error(exc)}")
                return
            self._joules += sum(b - a for a, b in zip(self._start, now, strict=True)) / 1000.0
            self._start = None
            return
        self._sample()
        self._joules += trapezoid(self._samples)
        self._samples = []


def trapezoid(samples: Sequence[tuple[float, float]]) -> float:
    """Energy (J) from (time s, power W) samples, linear between them."""
    return sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in zip(samples, samples[1:]))


def visible_gpu_indices(count: int) -> list[int]:
    """The GPUs this process may use: CUDA_VISIBLE_DEVICES when it lists indices, else all."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return list(range(count))
    indices = [int(v) for v in visible.split(",") if v.strip().isdigit()]
    return [i for i in indices if i < count]


def open_nvml(nvml: Any = None) -> EnergySource:
    try:
        if nvml is None:
            import pynvml as nvml
        nvml.nvmlInit()
        indices = visible_gpu_indices(nvml.nvmlDeviceGetCount())
        if not indices:
            return Unreadable(GPU, "nvml", "no NVIDIA GPU visible")
        return NvmlSource(nvml, [nvml.nvmlDeviceGetHandleByIndex(i) for i in indices])
    except Exception as exc:
        return Unreadable(GPU, "nvml", f"no NVIDIA GPU ({_nvml_error(exc)})")
