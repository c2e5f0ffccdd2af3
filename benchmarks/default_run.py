"""Wall time of the default run: `whisper-speedtest benchmark` with no arguments, every available backend.

Runs the real console entry point in a fresh interpreter (imports, planning, every child, the table)
and prints its wall time, the backends that ran with their N, and the machine's load average before
and after, since other work on the machine slows every backend. Goal: <= 60 s on a 2-core machine
with `[all]` installed.

    python benchmarks/default_run.py [extra benchmark options...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    extra = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "run.json"
        load_before = os.getloadavg()
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "whisper_speedtest", "benchmark", "--no-history", "-o", str(output), *extra],
            env={**os.environ, "COLUMNS": "100"},
        )
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        rows = json.loads(output.read_text())["results"] if output.is_file() else []
    print()
    for row in rows:
        t = row.get("transcribe")
        timing = f"N={t['n']:<2} median {t['median']:.2f} s, load {row['load_s']:.1f} s" if t else "N=0"
        print(f"  {row['backend']:<22} {row['status']:<9} {timing:<34} {(row.get('runs_note') or row.get('reason', ''))[:70]}")
    cores = os.cpu_count()
    print(
        f"default run: {wall:.1f} s wall (exit {done.returncode}) on {cores} CPU(s); "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1-minute)"
    )


if __name__ == "__main__":
    main()
