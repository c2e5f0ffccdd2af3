"""Dataset mode inside the worker: many clips, in batches, end to end.

Audio decoding runs on a thread pool one batch ahead of inference, so the wall time is what a
user feeding the dataset would see. The split reports decode (preprocessing, overlapped) and
inference (log-mel, model, detokenize) separately; the second gives the model-only RTFx that the
Open ASR Leaderboard reports.

Clips are batched longest first, so the clips of a batch have similar lengths and a batch stops
decoding soon after its clips end; transcripts are returned in manifest order. The first batch
(the longest clips) is also the untimed warm-up, so buffers are sized for the worst case up front.

A backend with a ``stage_next_batch(fetch)`` method is told, before each batch, how to fetch the
next batch's decoded clips (``fetch()`` waits for them), so it may prepare them while this batch
runs (the graph decoder's overlapped log-mel); the clock is the same.

A clip that cannot be decoded, or that fails in the backend on its own (a failing batch is tried
again clip by clip), becomes a failed clip with its reason; the pass goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
import numpy as np

from ..child_messages import ChildMessage
from ..audio import SAMPLE_RATE


DECODE_THREADS = 8  # audio decoding; more threads measured slower on a 16-core H200 host (GIL contention)


def one_line(exc: BaseException) -> str:
    """An exception as the one-line reason a failed clip carries."""
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


@dataclass(frozen=True)
class DatasetPass:
    """What one end-to-end pass over a dataset measured (in process or on Ray)."""

    texts: tuple[str | None, ...]  # manifest order; None where the clip failed
    failed: tuple[tuple[int, str], ...]  # (position, one-line reason), by position
    order: str  # "longest first" or "manifest order"
    audio_s: float  # audio of the clips that ran
    wall_s: float
    decode_s: float
    inference_s: float
    batches: int
    driver: str = "in process"
    workers: tuple[str, ...] = ()  # Ray: where each model actor ran
    startup_s: float | None = None  # Ray: its start and the actors' loads, before the clock started


@dataclass(frozen=True)
class DecodedBatch:
    positions: tuple[int, ...]  # of the clips in the pass
    samples: tuple[np.ndarray | None, ...]  # None where decoding failed
    errors: tuple[str, ...]  # the reason where decoding failed, else ""
    seconds: float


def decode_batch(positions: Sequence[int], entries: Sequence, read: Callable, pool: ThreadPoolExecutor) -> DecodedBatch:
    def attempt(position: int) -> tuple[np.ndarray | None, str]:
        try:
            return read(entries[position]), ""
        except Exception as exc:
            return None, one_line(exc)

    start = time.perf_counter()
    decoded = list(pool.map(attempt, positions))
    return DecodedBatch(tuple(positions), tuple(s for s, _ in decoded), tuple(e for _, e in decoded), time.perf_counter() - start)


def transcribe_safely(backend, samples: list[np.ndarray], options) -> list[str | BaseException]:
    """Texts of a batch; when the batch fails, each clip alone, where a failure is the exception itself."""
    try:
        return [t.text for t in backend.transcribe_batch(samples, options)]
    except Exception:
        results: list[str | BaseException] = []
        for clip in samples:
            try:
                results.append(backend.transcribe_batch([clip], options)[0].text)
            except Exception as exc:
                results.append(exc)
        return results


def batches(items: Sequence[int], size: int) -> list[tuple[int, ...]]:
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def longest_first(durations: Sequence[float]) -> list[int]:
    """Clip indices from the longest to the shortest (ties keep manifest order)."""
    return sorted(range(len(durations)), key=lambda index: -durations[index])


def pass_progress(batches_done: int, groups: list[tuple[int, ...]], entries: Sequence, audio_total_s: float,
                  elapsed_s: float) -> tuple[str, float | None]:
    """("clips 24/77 · batches 3/10 · ETA ~40 s", 40.0): clips and batches done of all, and the seconds
    left, from the clips' audio seconds left at the rate the pass has gone so far (None before any)."""
    clips_done = sum(len(group) for group in groups[:batches_done])
    audio_done = sum(entries[i].duration_s for group in groups[:batches_done] for i in group)
    left = max(0.0, audio_total_s - audio_done)
    eta = elapsed_s / audio_done * left if audio_done > 0 else None
    shown = f" · ETA ~{eta:.0f} s" if eta is not None and left > 0 else ""
    return f"clips {clips_done}/{len(entries)} · batches {batches_done}/{len(groups)}{shown}", eta


def run_dataset(backend, entries: Sequence, read: Callable, batch_size: int, options, report, meter=None) -> DatasetPass:
    """Transcribe every entry (``read(entry)`` decodes it); texts in manifest order, the time split, failed clips.

    ``meter`` (a ``CostMeter``) is resumed and paused around the timed pass only.
    """
    order = longest_first([e.duration_s for e in entries])
    groups = batches(order, batch_size)
    report(ChildMessage.TOTAL, len(groups))
    audio_total = sum(e.duration_s for e in entries)
    report(ChildMessage.PROGRESS, f"clips 0/{len(entries)} · batches 0/{len(groups)} · warm-up batch")
    texts: list[str | None] = [None] * len(entries)
    failed: dict[int, str] = {}
    stage_next = getattr(backend, "stage_next_batch", None)
    with ThreadPoolExecutor(max_workers=DECODE_THREADS) as decoders, ThreadPoolExecutor(max_workers=1) as prefetch:
        warm = decode_batch(groups[0], entries, read, decoders)
        transcribe_safely(backend, [s for s in warm.samples if s is not None], options)
        backend.synchronize()
        decode_s = inference_s = audio_s = 0.0
        if meter is not None:
            meter.resume()
        start = time.perf_counter()
        pending = prefetch.submit(decode_batch, groups[0], entries, read, decoders)
        for index in range(len(groups)):
            batch = pending.result()
            if index + 1 < len(groups):
                pending = prefetch.submit(decode_batch, groups[index + 1], entries, read, decoders)
                if stage_next is not None:
                    stage_next(lambda upcoming=pending: [s for s in upcoming.result().samples if s is not None])
            decode_s += batch.seconds
            failed.update((p, e) for p, e in zip(batch.positions, batch.errors) if e)
            ready = [(p, s) for p, s in zip(batch.positions, batch.samples) if s is not None]
            backend.synchronize()
            t0 = time.perf_counter()
            results = transcribe_safely(backend, [s for _, s in ready], options) if ready else []
            backend.synchronize()
            inference_s += time.perf_counter() - t0
            for (position, samples), result in zip(ready, results, strict=True):
                if isinstance(result, BaseException):
                    failed[position] = one_line(result)
                else:
                    texts[position] = result
                    audio_s += len(samples) / SAMPLE_RATE  # RTFx counts the audio of clips that ran
            report(ChildMessage.TICK, 1)
            description, eta = pass_progress(index + 1, groups, entries, audio_total, time.perf_counter() - start)
            report(ChildMessage.PROGRESS, description)
            if eta is not None:
                report(ChildMessage.ETA, eta)
        wall_s = time.perf_counter() - start
        if meter is not None:
            meter.pause()
    return DatasetPass(
        texts=tuple(texts),
        failed=tuple(sorted(failed.items())),
        order="longest first" if order != list(range(len(entries))) else "manifest order",
        audio_s=audio_s,
        wall_s=wall_s,
        decode_s=decode_s,
        inference_s=inference_s,
        batches=len(groups),
    )
