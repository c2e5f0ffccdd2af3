"""Plays audio into the policy on a clock, and times every step (this is the only timing of a stream)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ...audio import SAMPLE_RATE
from .policy import DEFAULT_AGREEMENT, LocalAgreement, StepOutput, Transcriber
from .records import Clock, StreamPass, StreamStep

StepCallback = Callable[[StreamStep], None]


class StreamPolicy(Protocol):
    """What the driver feeds: LocalAgreement, or a library's own streaming (``native``)."""

    def step(self, samples: np.ndarray) -> StepOutput: ...

    def finish(self) -> StepOutput: ...


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
    policy: StreamPolicy | None = None,
) -> StreamPass:
    """Feed ``samples`` to a fresh LocalAgreement-``agreement`` policy, ``chunk_s`` seconds at a time.

    Simulated clock: one step per chunk, its clock the audio time at the chunk's end. Real clock: the
    audio arrives at the speed of speech; each step takes all audio arrived so far (at least one
    chunk, unless the audio has ended) and its clock is the wall time since the stream began, so a
    backend slower than real time gets ever later. ``policy``: another policy with the same
    ``step``/``finish`` (a library's own streaming, ``native``) instead of LocalAgreement.
    """
    policy = policy or LocalAgreement(transcribe, agreement=agreement)
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


class Arriving(Protocol):
    """Live audio as it arrives: ``get`` blocks for the next 16 kHz block (None: the audio ended),
    ``get_nowait`` returns one that has arrived already or raises ``queue.Empty``."""

    def get(self) -> np.ndarray | None: ...

    def get_nowait(self) -> np.ndarray | None: ...


def play_arriving(
    policy: StreamPolicy,
    source: Arriving,
    chunk_s: float,
    start: float,
    on_step: StepCallback = lambda step: None,
    *,
    now: Callable[[], float] = time.monotonic,
) -> tuple[StreamPass, np.ndarray]:
    """Feed live audio (a microphone) to ``policy`` as it arrives: each step waits for at least one
    chunk (or the end), then takes all that has arrived. The clock is ``now() - start``, ``start``
    being the moment audio time 0 arrived, so it is the real clock, as for a file under ``Clock.REAL``.
    Returns the pass and every sample fed (the recording the other figures are computed on)."""
    import queue

    chunk = max(1, int(round(chunk_s * SAMPLE_RATE)))
    steps: list[StreamStep] = []
    received: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    fed, ended = 0, False

    def take(block: np.ndarray | None) -> None:
        nonlocal ended
        if block is None:
            ended = True
        elif len(block):
            pending.append(np.asarray(block, dtype=np.float32).reshape(-1))

    while not ended:
        while sum(len(b) for b in pending) < chunk and not ended:
            take(source.get())
        while not ended:
            try:
                take(source.get_nowait())
            except queue.Empty:
                break
        if not pending:
            break
        samples = np.concatenate(pending)
        pending.clear()
        received.append(samples)
        began = now()
        out = policy.step(samples)
        finished = now()
        fed += len(samples)
        steps.append(_record(len(steps), fed, finished - start, finished - began, out))
        on_step(steps[-1])
    out = policy.finish()
    last_clock = steps[-1].clock_s if steps else 0.0
    steps.append(_record(len(steps), fed, max(last_clock, now() - start), 0.0, out, final=True))
    on_step(steps[-1])
    audio = np.concatenate(received) if received else np.zeros(0, dtype=np.float32)
    return StreamPass(Clock.REAL, tuple(steps)), audio
