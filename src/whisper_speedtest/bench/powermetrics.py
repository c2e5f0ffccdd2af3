"""macOS energy from ``powermetrics``, which only the superuser may run.

``powermetrics`` runs for the child's whole life (as root, or through ``sudo -n`` when the user
allows it without a password) and prints a sample every ``INTERVAL_MS``: its window
("(1004.38ms elapsed)") and the power ("Combined Power (CPU + GPU + ANE): 1290 mW" on Apple
Silicon, "Intel energy model derived package power (CPUs+GT+SA): 3.21W" on Intel). A segment's
energy is each sample's power times the part of its window inside the segment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .energy import EnergySource, Unreadable

INTERVAL_MS = 200
DOMAIN, METHOD = "soc (cpu+gpu+ane)", "powermetrics"
_ELAPSED = re.compile(r"\(([\d.]+)ms elapsed\)")
_POWER = re.compile(r"^(?:Combined Power \(CPU \+ GPU \+ ANE\)|Intel energy model derived package power \(CPUs\+GT\+SA\)):\s*([\d.]+)\s*(mW|W)")


@dataclass(frozen=True)
class PowerSample:
    end_s: float  # clock time when the sample arrived (the end of its window)
    elapsed_s: float
    watts: float


def parse_power_lines(lines: Iterable[str]) -> Iterable[tuple[float, float]]:
    """(elapsed s, watts) for each complete sample in powermetrics' text output."""
    elapsed = None
    for line in lines:
        if match := _ELAPSED.search(line):
            elapsed = float(match.group(1)) / 1000.0
        elif (match := _POWER.match(line.strip())) and elapsed is not None:
            value = float(match.group(1))
            yield elapsed, value / 1000.0 if match.group(2) == "mW" else value
            elapsed = None


def energy_between(samples: Sequence[PowerSample], start_s: float, end_s: float) -> float:
    """Joules in [start_s, end_s]: each sample's power over the overlap of its window."""
    total = 0.0
    for s in samples:
        overlap = min(end_s, s.end_s) - max(start_s, s.end_s - s.elapsed_s)
        if overlap > 0:
            total += s.watts * overlap
    return total


class PowermetricsSource(EnergySource):
    domain, method, scope = DOMAIN, METHOD, "whole SoC (CPU + GPU + ANE), every process"

    def __init__(self, command: Sequence[str], clock=time.monotonic) -> None:
        super().__init__()
        self._clock = clock
        self._samples: list[PowerSample] = []
        self._arrived = threading.Condition()
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._start = 0.0

    def _read(self) -> None:
        for elapsed, watts in parse_power_lines(self._process.stdout):
            with self._arrived:
                self._samples.append(PowerSample(self._clock(), elapsed, watts))
                self._arrived.notify_all()

    def helper_pids(self) -> tuple[int, ...]:
        return (self._process.pid,)

    def begin(self) -> None:
        self._start = self._clock()

    def end(self) -> None:
        stop = self._clock()
        deadline = stop + 3 * INTERVAL_MS / 1000 + 1.0
        with self._arrived:  # wait for the sample whose window covers the segment's end
            while not (self._samples and self._samples[-1].end_s >= stop) and self._clock() < deadline:
                if self._process.poll() is not None:
                    break
                self._arrived.wait(0.05)
            if not (self._samples and self._samples[-1].end_s >= stop):
                self.fail(self._stopped_reason())
                return
            self._joules += energy_between(self._samples, self._start, stop)
            self._samples = [s for s in self._samples if s.end_s >= stop]

    def _stopped_reason(self) -> str:
        if self._process.poll() is None:
            return "powermetrics gave no sample covering the measured region"
        error = (self._process.stderr.read() or "").strip().splitlines()
        return f"powermetrics stopped: {error[-1] if error else f'exit code {self._process.returncode}'}"

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(3)
            except subprocess.TimeoutExpired:
                self._process.kill()


def open_powermetrics() -> EnergySource:
    if shutil.which("powermetrics") is None:
        return Unreadable(DOMAIN, METHOD, "powermetrics not found")
    command = ["powermetrics", "--samplers", "cpu_power,gpu_power,ane_power", "-i", str(INTERVAL_MS)]
    if os.geteuid() != 0:
        sudo = subprocess.run(["sudo", "-n", "true"], capture_output=True, text=True, check=False)
        if sudo.returncode != 0:
            return Unreadable(DOMAIN, METHOD, "powermetrics needs superuser rights: run with sudo, or allow `sudo -n powermetrics`")
        command = ["sudo", "-n", *command]
    try:
        return PowermetricsSource(command)
    except OSError as exc:
        return Unreadable(DOMAIN, METHOD, f"powermetrics could not start: {exc.strerror or exc}")
