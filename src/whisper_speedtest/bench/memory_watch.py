"""Evidence that a backend child ran out of memory, gathered by the parent while the child runs.

A row says "out of memory" only with evidence: the cgroup's ``oom_kill`` count rose during the
child's life, or the child's peak memory came near a limit (cgroup ``memory.max`` for RSS,
``RLIMIT_AS`` for address space). A child pinned at such a limit with nothing to say is stopped
rather than left to spin until ``--timeout``.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

NEAR_LIMIT = 0.9  # a peak this close to a limit counts as evidence
AT_LIMIT = 0.98  # this close, the child cannot grow any more
STUCK_GRACE_MAX_S = 15.0  # a silent child at its limit this long (or a quarter of --timeout) is stopped
CGROUP_ROOT = Path("/sys/fs/cgroup")
_UNLIMITED = 2**62  # cgroup v1 writes "no limit" as a huge page-rounded number


def _mib(value: int) -> str:
    return f"{value / 2**20:.0f} MiB"


def cgroup_memory_dir(pid: int) -> Path | None:
    """The memory cgroup folder of ``pid`` (v2 unified, or v1 ``memory`` controller), if readable."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            base = CGROUP_ROOT
        elif "memory" in controllers.split(","):
            base = CGROUP_ROOT / "memory"
        else:
            continue
        for candidate in (base / path.lstrip("/"), base):  # in a cgroup namespace the path may not resolve
            if (candidate / "memory.events").is_file() or (candidate / "memory.oom_control").is_file():
                return candidate
    return None


def _read_key(path: Path, key: str) -> int | None:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return None
    return None


def oom_kill_count(folder: Path | None) -> int | None:
    if folder is None:
        return None
    events = folder / "memory.events"
    return _read_key(events if events.is_file() else folder / "memory.oom_control", "oom_kill")


def cgroup_memory_max(folder: Path | None) -> int | None:
    if folder is None:
        return None
    for name in ("memory.max", "memory.limit_in_bytes"):
        try:
            text = (folder / name).read_text().strip()
        except OSError:
            continue
        if text != "max" and text.isdigit() and int(text) < _UNLIMITED:
            return int(text)
        return None
    return None


def address_space_limit(pid: int) -> int | None:
    try:
        soft, _ = resource.prlimit(pid, resource.RLIMIT_AS) if hasattr(resource, "prlimit") else resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):
        return None
    return None if soft == resource.RLIM_INFINITY else soft


class MemoryWatch:
    """Samples one child's memory against its limits; ``evidence()`` is the out-of-memory line, or None."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.pid = pid
        self._process = psutil.Process(pid)
        self._cgroup = cgroup_memory_dir(pid)
        self.cgroup_max = cgroup_memory_max(self._cgroup)
        self.oom_kills_at_start = oom_kill_count(self._cgroup)
        self.address_space_max = address_space_limit(pid)
        self.peak_rss = 0
        self.peak_vms = 0
        self._at_limit_since: float | None = None

    def sample(self) -> None:
        try:
            info = self._process.memory_info()
        except Exception:  # the child is gone (or going)
            return
        self.peak_rss, self.peak_vms = max(self.peak_rss, info.rss), max(self.peak_vms, info.vms)
        self.address_space_max = address_space_limit(self.pid) or self.address_space_max  # a backend may lower it
        at_limit = (self.cgroup_max is not None and info.rss >= AT_LIMIT * self.cgroup_max) or (
            self.address_space_max is not None and info.vms >= AT_LIMIT * self.address_space_max
        )
        if not at_limit:
            self._at_limit_since = None
        elif self._at_limit_since is None:
            self._at_limit_since = time.monotonic()

    def stuck(self, silent_since: float, timeout_s: float) -> bool:
        """At its limit, and silent, for the grace period: a quarter of ``timeout_s``, at most 15 s."""
        if self._at_limit_since is None:
            return False
        grace = min(STUCK_GRACE_MAX_S, timeout_s / 4)
        now = time.monotonic()
        return now - self._at_limit_since >= grace and now - silent_since >= grace

    def evidence(self) -> str | None:
        """'out of memory: …' naming what shows it, or None when nothing does."""
        kills = oom_kill_count(self._cgroup)
        if kills is not None and self.oom_kills_at_start is not None and kills > self.oom_kills_at_start:
            return f"out of memory: the kernel's OOM killer acted (cgroup oom_kill {self.oom_kills_at_start} -> {kills})"
        if self.cgroup_max is not None and self.peak_rss >= NEAR_LIMIT * self.cgroup_max:
            return f"out of memory: peak RSS {_mib(self.peak_rss)} near the cgroup limit {_mib(self.cgroup_max)}"
        if self.address_space_max is not None and self.peak_vms >= NEAR_LIMIT * self.address_space_max:
            return f"out of memory: address space {_mib(self.peak_vms)} near RLIMIT_AS {_mib(self.address_space_max)}"
        return None
