"""Dataset mode inside the worker: many clips, in batches, end to end.

Audio decoding runs on a thread pool one batch ahead of inference, so the wall time is what a
user feeding the dataset would see. The split reports decode (preprocessing, overlapped) and
inference (log-mel, generate, detokenize) separately.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE, read_audio


@dataclass(frozen=True)
class DecodedBatch:
    samples: tuple[np.ndarray, ...]
    seconds: float


def _decode(paths: tuple[str, ...], pool: ThreadPoolExecutor) -> DecodedBatch:
    start = time.perf_counter()
    samples = tuple(s for s, _, _ in pool.map(read_audio, paths))
    return DecodedBatch(samples, time.perf_counter() - start)


def batches(items: tuple[str, ...], size: int) -> list[tuple[str, ...]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_dataset(backend, paths: tuple[str, ...], batch_size: int, options, report, meter=None) -> dict[str, Any]:
    """Transcribe every path; returns texts and the time split. The first batch warms up untimed.

    ``meter`` (a ``CostMeter``) is resumed and paused around the timed pass only.
    """
    groups = batches(paths, batch_size)
    report("total", len(groups))
    with ThreadPoolExecutor(max_workers=8) as decoders, ThreadPoolExecutor(max_workers=1) as prefetch:
        warm = _decode(groups[0], decoders)
        backend.transcribe_batch(list(warm.samples), options)
        backend.synchronize()
        texts: list[str] = []
        decode_s = inference_s = 0.0
        audio_s = 0.0
        if meter is not None:
            meter.resume()
        start = time.perf_counter()
        pending = prefetch.submit(_decode, groups[0], decoders)
        for index in range(len(groups)):
            batch = pending.result()
            if index + 1 < len(groups):
                pending = prefetch.submit(_decode, groups[index + 1], decoders)
            decode_s += batch.seconds
            audio_s += sum(len(s) for s in batch.samples) / SAMPLE_RATE
            backend.synchronize()
            t0 = time.perf_counter()
            transcripts = backend.transcribe_batch(list(batch.samples), options)
            backend.synchronize()
            inference_s += time.perf_counter() - t0
            texts.extend(t.text for t in transcripts)
            report("tick", 1)
        wall_s = time.perf_counter() - start
        if meter is not None:
            meter.pause()
    return {
        "texts": texts,
        "audio_s": audio_s,
        "wall_s": wall_s,
        "decode_s": decode_s,
        "inference_s": inference_s,
        "batches": len(groups),
    }
