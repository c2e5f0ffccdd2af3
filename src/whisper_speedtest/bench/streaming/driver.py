"""Plays audio into the policy on a clock, and times every step (this is the only timing of a stream)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ...audio import SAMPLE_RATE
from .policy import DEFAULT_AGREEMENT, LocalAgreement, StepOutput, Transcriber
from .records import Clock, StreamPass, StreamStep

StepCallback = Callable[[StreamStep], None]


def _record(index: int, audio_end: int, clock_s: float, compute_s: float, out: StepOutput, final: bool = False) -> StreamStep:
    return StreamStep(index, round(audio_end / SAMPLE_RATE, 4), clock_s, compute_s, out.committed, out.tentative, final)


def play(
    transcribe: Transcriber,
    samples: np.ndarray,
    chunk_s: float,
    clock: Clock,
    on_step: StepCallback = lambda step: None,
    *,
    now: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    agreement: int = DEFAULT_AGREEMENT,
) -> StreamPass:
    """Feed ``samples`` to a fresh LocalAgreement-``agreement`` policy, ``chunk_s`` seconds at a time.

    Simulated clock: one step per chunk, its clock the audio time at the chunk's end. Real clock: the
    audio arrives at the speed of speech; each step takes all audio arrived so far (at least one
    chunk, unless the audio has ended) and its clock is the wall time since the stream began, so a
    backend slower than real time gets ever later.
    """
    policy = LocalAgreement(transcribe, agreement=agreement)
    chunk = max(1, int(round(chunk_s * SAMPLE_RATE)))
    steps: list[StreamStep] = []

    def keep(step: StreamStep) -> None:
        steps.append(step)
        on_step(step)

    fed = 0
    start = now()
    while fed < len(samples):
        if clock is Clock.SIMULATED:
            end = min(len(samples), fed + chunk)
        else:
            arrived = int((now() - start) * SAMPLE_RATE)
            if arrived - fed < chunk and arrived < len(samples):
                sleep(max(0.0, min(fed + chunk, len(samples)) / SAMPLE_RATE - (now() - start)))
                arrived = int((now() - start) * SAMPLE_RATE)
            end = min(len(samples), max(arrived, fed + 1))
        began = now()
        out = policy.step(samples[fed:end])
        finished = now()
        clock_s = end / SAMPLE_RATE if clock is Clock.SIMULATED else finished - start
        keep(_record(len(steps), end, clock_s, finished - began, out))
        fed = end
    out = policy.finish()
    last_clock = steps[-1].clock_s if steps else 0.0
    clock_s = last_clock if clock is Clock.SIMULATED else max(last_clock, now() - start)
    keep(_record(len(steps), fed, clock_s, 0.0, out, final=True))
    return StreamPass(clock, tuple(steps))
