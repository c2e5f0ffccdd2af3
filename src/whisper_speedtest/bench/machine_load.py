"""How busy the machine is, read with psutil at the start and the end of each backend, and the warning it earns."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..results import LoadSnapshot

SAMPLE_S = 0.2  # how long the other processes' CPU share is measured over


def snapshot(when: str, sample_s: float = SAMPLE_S) -> LoadSnapshot:
    """Load average (1 min), current CPU frequency, and the CPU share of every process but this one.

    Taken while no benchmark child runs, so "this one" is the whole of this run's own work.
    """
    import psutil

    cores = psutil.cpu_count(logical=True)
    own = psutil.Process()
    psutil.cpu_percent(None)
    own.cpu_percent(None)
    time.sleep(sample_s)
    machine = psutil.cpu_percent(None)  # 0-100 over every core
    mine = own.cpu_percent(None) / (cores or 1)  # 0-100 per core -> share of the machine
    try:
        load_1m = round(psutil.getloadavg()[0], 2)
    except (OSError, AttributeError):
        load_1m = None
    try:
        freq = psutil.cpu_freq()
        mhz = round(freq.current, 0) if freq and freq.current else None
    except (OSError, NotImplementedError, AttributeError):
        mhz = None
    return LoadSnapshot(when, load_1m, cores, mhz, round(max(0.0, machine - mine), 1))


BUSY_OTHERS_PERCENT = 25.0  # other processes using more than this share of the machine make timings noisy


def load_warnings(snapshots: Sequence[LoadSnapshot]) -> list[str]:
    """hyperfine's warning for a busy machine: the load average above the core count, or other processes busy."""
    warnings = []
    over = [s for s in snapshots if s.load_1m is not None and s.cores and s.load_1m > s.cores]
    if over:
        worst = max(over, key=lambda s: s.load_1m)
        warnings.append(
            f"busy machine: load average {worst.load_1m:g} above the {worst.cores} cores at the {worst.when}; "
            "timings are slower and noisier than on a quiet machine"
        )
    busy = [s for s in snapshots if s.others_cpu_percent is not None and s.others_cpu_percent > BUSY_OTHERS_PERCENT]
    if busy and not over:
        worst = max(busy, key=lambda s: s.others_cpu_percent)
        warnings.append(f"busy machine: other processes used {worst.others_cpu_percent:.0f} % of the CPU at the {worst.when}")
    return warnings
