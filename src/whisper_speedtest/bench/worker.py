"""The child process: load one backend, warm up, run timed transcriptions, sample memory.

Runs in a fresh interpreter (multiprocessing spawn), so the cold load includes imports.
Messages go back to the parent on a queue as ``(ChildMessage, payload)`` tuples (``child_messages.py``
lists the kinds and their payloads): progress, loaded, variant, pass, total and tick while it works, then
``RESULT`` with a ``WorkerResult`` or ``ERROR`` with a ``WorkerFailure``.
"""

from __future__ import annotations

import signal
import time
import traceback
from typing import Any

from ..audio import SAMPLE_RATE
from ..backends.base import Backend
from ..backends.loader import load_with_fallback
from ..child_messages import ChildMessage
from ..dataset.reading import ClipReader
from .cost import CostMeter
from .dataset_pass import one_line, run_dataset
from .job import WorkerFailure, WorkerJob, WorkerResult
from .lifeline import Lifeline, follow_parent
from .memory_sampler import MemorySampler


def _timed(backend: Backend, fn, *args):
    backend.synchronize()
    start = time.perf_counter()
    value = fn(*args)
    backend.synchronize()
    return value, time.perf_counter() - start


def run_job(job: WorkerJob, report) -> WorkerResult:
    """Execute ``job``; ``report(kind, payload)`` sends progress. Returns the raw measurements.

    The cost meter measures the cold load and the timed runs apart; warm-ups and the warm load (a second
    load in the same process, after the runs) are left out.
    """
    sampler = MemorySampler().start()
    meter = CostMeter()
    try:
        report(ChildMessage.PROGRESS, "loading")
        meter.resume()
        start = time.perf_counter()
        backend = job.backend()
        load = load_with_fallback(backend, job.variant, job.load_options)
        backend.synchronize()
        cold_load = time.perf_counter() - start
        load_cost = meter.take()
        report(ChildMessage.LOADED, cold_load)
        report(ChildMessage.VARIANT, load)  # what loaded (and any fallback), for a row stopped before its result
        times: tuple[tuple[float, ...], ...] = ()
        runs_note = ""
        dataset = None
        if job.dataset is not None:
            report(ChildMessage.PROGRESS, f"dataset · batch {job.batch_size} · {backend.batch_mode}")
            dataset = run_dataset(
                backend, job.dataset.entries, ClipReader(job.dataset.spec), job.batch_size, job.decode, report, meter
            )
            texts = dataset.texts
            cost = meter.take(dataset.audio_s)
        else:
            times, texts, runs_note = _clip_runs(backend, job, report, meter)
            cost = meter.take(len(times[0]) * job.audio_s if times else 0.0)
        params = backend.params()
        packages = backend.package_versions()
        device_peak = backend.peak_device_memory()
        backend.close()
        warm_load = None
        if job.measure_warm_load:  # after the runs: a backend stopped as too slow never spends it
            report(ChildMessage.PROGRESS, "warm load")
            _, warm_load = _timed(backend, load_with_fallback, backend, job.variant, job.load_options)
            backend.close()
    finally:
        meter.close()
        sampler.stop()
    return WorkerResult(
        load_s=cold_load,
        load=load,
        texts=tuple(texts),
        params=params,
        packages=packages,
        peak_rss=sampler.peak_rss,
        peak_vram=sampler.peak_vram_with(device_peak),
        times=times,
        runs_note=runs_note,
        warm_load_s=warm_load,
        dataset=dataset,
        cost=cost,
        load_cost=load_cost,
    )


def _clip_runs(backend: Backend, job: WorkerJob, report, meter: CostMeter) -> tuple[tuple[tuple[float, ...], ...], tuple[str, ...], str]:
    """Warm-ups over every clip, then rounds of timed runs (one run of each clip per round).

    The run policy decides the number of rounds from the first timed pass: the warm-up when there is
    one, else the first round. ``("pass", seconds of audio)`` tells the parent a first pass began, so
    that it can stop a backend slower than real time; the meter runs around the timed runs only.
    """
    clips = [c.samples for c in job.clips]
    if not clips:
        return (), (), ""
    audio_s = job.audio_s
    probe_s = 0.0
    for w in range(job.warmup):
        for index, samples in enumerate(clips):
            report(ChildMessage.PROGRESS, f"warm-up {w + 1}/{job.warmup} · clip {index + 1}/{len(clips)}")
            if w == 0:
                report(ChildMessage.PASS, len(samples) / SAMPLE_RATE)
            _, seconds = _timed(backend, backend.transcribe, samples, job.decode)
            probe_s += seconds if w == 0 else 0.0
    decided = job.policy.count(probe_s, audio_s) if job.warmup else None
    if decided is not None:
        report(ChildMessage.TOTAL, decided.runs * len(clips))
    times: list[list[float]] = [[] for _ in clips]
    transcripts = [None] * len(clips)
    round_number = 0
    while decided is None or round_number < decided.runs:
        with meter.measuring():
            for index, samples in enumerate(clips):
                of = f"/{decided.runs}" if decided is not None else ""
                report(ChildMessage.PROGRESS, f"run {round_number + 1}{of} · clip {index + 1}/{len(clips)}")
                if decided is None:
                    report(ChildMessage.PASS, len(samples) / SAMPLE_RATE)
                transcripts[index], seconds = _timed(backend, backend.transcribe, samples, job.decode)
                times[index].append(seconds)
                report(ChildMessage.TICK, 1)
        if decided is None:
            decided = job.policy.count(sum(t[0] for t in times), audio_s)
            report(ChildMessage.TOTAL, decided.runs * len(clips))
        round_number += 1
    return tuple(map(tuple, times)), tuple(t.text if t else "" for t in transcripts), decided.note


def child_main(job: WorkerJob, queue, lifeline: Lifeline | None = None, log_path: str | None = None) -> None:
    """Entry point of the spawned process; with a ``lifeline`` it ends when its parent does; with a
    ``log_path`` what its libraries print goes there, not to the terminal.

    Ctrl-C is the parent's to handle (it stops this process): ignored here, and only now unblocked, as it
    was blocked while the job came over (``child.held_stop_signals``). SIGTERM and SIGHUP end it as usual.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
    if log_path is not None:
        from .child_output import redirect_output

        redirect_output(log_path)
    if lifeline is not None:
        follow_parent(lifeline)

    def report(kind: str, payload: Any) -> None:
        queue.put((kind, payload))

    try:
        report(ChildMessage.RESULT, run_job(job, report))
    except BaseException as exc:  # everything becomes a one-line failure for the parent
        report(ChildMessage.ERROR, WorkerFailure(one_line(exc), traceback.format_exc()))
