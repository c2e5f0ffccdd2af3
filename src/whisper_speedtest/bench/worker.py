"""The child process: load one backend, warm up, run timed transcriptions, sample memory.

Runs in a fresh interpreter (multiprocessing spawn), so the cold load includes imports.
Messages go back to the parent on a queue as plain tuples: ("progress", text),
("result", dict) or ("error", one-line reason).
"""

from __future__ import annotations

import importlib
import os
import resource
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backends.base import Backend, DecodeOptions, LoadOptions
from ..audio import SAMPLE_RATE
from ..backends.loader import VariantPlan, load_with_fallback
from ..dataset.entries import DatasetSelection
from ..dataset.reading import ClipReader
from .cost import CostMeter
from .dataset import one_line, run_dataset
from .lifeline import Lifeline, follow_parent
from .run_policy import RunPolicy


@dataclass(frozen=True)
class WorkerJob:
    """Everything the child needs; clips are already decoded to 16 kHz float32."""

    backend_path: str  # "module:ClassName", importable in the child
    variant: VariantPlan
    load_options: LoadOptions
    decode_options: DecodeOptions
    clip_names: tuple[str, ...]
    clip_samples: tuple[np.ndarray, ...]
    policy: RunPolicy
    warmup: int
    measure_warm_load: bool = True
    dataset: DatasetSelection | None = None  # dataset mode: clips decoded in the child, in batches
    batch_size: int = 1


class MemorySampler:
    """Samples this process's RSS (and NVIDIA memory when available) on a background thread."""

    def __init__(self, interval_s: float = 0.02) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval_s
        self._stop = threading.Event()
        self.peak_rss = self._process.memory_info().rss
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

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self.sample()
        # ru_maxrss catches peaks shorter than the sampling interval (KiB on Linux, bytes on macOS).
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.peak_rss = max(self.peak_rss, maxrss if sys.platform == "darwin" else maxrss * 1024)


def import_backend(path: str) -> type[Backend]:
    module_name, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _timed(backend: Backend, fn, *args):
    backend.synchronize()
    start = time.perf_counter()
    value = fn(*args)
    backend.synchronize()
    return value, time.perf_counter() - start


def run_job(job: WorkerJob, report) -> dict[str, Any]:
    """Execute ``job``; ``report(kind, payload)`` sends progress. Returns the raw measurements.

    The cost meter measures the cold load and the timed runs apart; warm-ups and the warm load (a second
    load in the same process, after the runs) are left out.
    """
    sampler = MemorySampler().start()
    meter = CostMeter()
    try:
        report("progress", "loading")
        meter.resume()
        start = time.perf_counter()
        backend_cls = import_backend(job.backend_path)
        backend = backend_cls()
        load_result = load_with_fallback(backend, job.variant, job.load_options)
        backend.synchronize()
        cold_load = time.perf_counter() - start
        load_cost = meter.take()
        report("loaded", cold_load)
        if job.dataset is not None:
            report("progress", f"dataset · batch {job.batch_size} · {backend.batch_mode}")
            dataset = run_dataset(
                backend, job.dataset.entries, ClipReader(job.dataset.spec), job.batch_size, job.decode_options, report, meter
            )
            times, texts = [], dataset["texts"]
            cost = meter.take(dataset["audio_s"])
        else:
            dataset = None
            times, texts, runs_note = _clip_runs(backend, job, report, meter)
            cost = meter.take(len(times[0]) * sum(len(s) for s in job.clip_samples) / SAMPLE_RATE if times else 0.0)
        params = backend.params()
        packages = backend.package_versions()
        device_peak = backend.peak_device_memory()
        backend.close()
        warm_load = None
        if job.measure_warm_load:  # after the runs: a backend stopped as too slow never spends it
            report("progress", "warm load")
            _, warm_load = _timed(backend, load_with_fallback, backend, job.variant, job.load_options)
            backend.close()
    finally:
        meter.close()
        sampler.stop()
    return {
        "load_s": cold_load,
        "warm_load_s": warm_load,
        "load_result": {
            "requested": load_result.requested,
            "actual": load_result.actual,
            "did_fallback": load_result.did_fallback,
            "detail": load_result.detail,
        },
        "times": times,
        "texts": texts,
        "runs_note": "" if job.dataset is not None else runs_note,
        "dataset": dataset,
        "params": params,
        "packages": packages,
        "peak_rss": sampler.peak_rss,
        "peak_vram": max(v for v in (sampler.peak_vram, device_peak, 0) if v is not None) or None,
        "cost": cost,
        "load_cost": load_cost,
    }


def _clip_runs(backend: Backend, job: WorkerJob, report, meter: CostMeter) -> tuple[list[list[float]], list[str], str]:
    """Warm-ups over every clip, then rounds of timed runs (one run of each clip per round).

    The run policy decides the number of rounds from the first timed pass: the warm-up when there is
    one, else the first round. ``("pass", seconds of audio)`` tells the parent a first pass began, so
    that it can stop a backend slower than real time; the meter runs around the timed runs only.
    """
    names, clips = job.clip_names, job.clip_samples
    if not clips:
        return [], [], ""
    audio_s = sum(len(s) for s in clips) / SAMPLE_RATE
    probe_s = 0.0
    for w in range(job.warmup):
        for index, samples in enumerate(clips):
            report("progress", f"warm-up {w + 1}/{job.warmup} · clip {index + 1}/{len(names)}")
            if w == 0:
                report("pass", len(samples) / SAMPLE_RATE)
            _, seconds = _timed(backend, backend.transcribe, samples, job.decode_options)
            probe_s += seconds if w == 0 else 0.0
    decided = job.policy.count(probe_s, audio_s) if job.warmup else None
    if decided is not None:
        report("total", decided.runs * len(clips))
    times: list[list[float]] = [[] for _ in clips]
    transcripts = [None] * len(clips)
    round_number = 0
    while decided is None or round_number < decided.runs:
        with meter.measuring():
            for index, samples in enumerate(clips):
                of = f"/{decided.runs}" if decided is not None else ""
                report("progress", f"run {round_number + 1}{of} · clip {index + 1}/{len(names)}")
                if decided is None:
                    report("pass", len(samples) / SAMPLE_RATE)
                transcripts[index], seconds = _timed(backend, backend.transcribe, samples, job.decode_options)
                times[index].append(seconds)
                report("tick", 1)
        if decided is None:
            decided = job.policy.count(sum(t[0] for t in times), audio_s)
            report("total", decided.runs * len(clips))
        round_number += 1
    return times, [t.text if t else "" for t in transcripts], decided.note


def child_main(job: WorkerJob, queue, lifeline: Lifeline | None = None) -> None:
    """Entry point of the spawned process; with a ``lifeline`` it ends when its parent does."""
    if lifeline is not None:
        follow_parent(lifeline)

    def report(kind: str, payload: Any) -> None:
        queue.put((kind, payload))

    try:
        report("result", run_job(job, report))
    except BaseException as exc:  # everything becomes a one-line failure for the parent
        report("error", {"reason": one_line(exc), "traceback": traceback.format_exc()})
