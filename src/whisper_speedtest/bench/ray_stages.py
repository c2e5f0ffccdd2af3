"""The two Ray Data stages of a dataset pass: CPU decoders, and model actors that load a backend once.

Both call the in-process dataset mode's own functions (``decode_batch``, ``transcribe_safely``) and
the worker's backend loading, so Ray is a driver over the same backend code, not a second copy.
Rows travel as clip positions; every stage returns, per row, what it did and how long it took.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE
from ..dataset.entries import DatasetSelection
from ..dataset.reading import ClipReader
from .dataset_pass import DECODE_THREADS, decode_batch, one_line, transcribe_safely


def _json_column(values: list) -> np.ndarray:
    return np.array([json.dumps(v) for v in values], dtype=object)


class Decoder:
    """CPU stage: reads and decodes one batch of clips per row, to 16 kHz float32 laid end to end.

    A row is one batch exactly as the in-process mode forms it (longest first), so both modes hand
    the backend the same batches; a clip that fails to decode carries its reason.
    """

    def __init__(self, selection: DatasetSelection, groups: list[tuple[int, ...]]) -> None:
        self._entries = selection.entries
        self._groups = groups
        self._read = ClipReader(selection.spec)
        self._pool = ThreadPoolExecutor(max_workers=DECODE_THREADS)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        rows = [decode_batch(self._groups[int(g)], self._entries, self._read, self._pool) for g in batch["group"]]
        empty = np.zeros(0, dtype=np.float32)
        return {
            "positions": _json_column([list(r.positions) for r in rows]),
            "lengths": _json_column([[0 if s is None else len(s) for s in r.samples] for r in rows]),
            "audio": [np.concatenate([empty, *(s for s in r.samples if s is not None)]) for r in rows],
            "errors": _json_column([list(r.errors) for r in rows]),
            "decode_s": np.array([r.seconds for r in rows]),
        }


class Transcriber:
    """GPU (or N-CPU) stage: one backend per actor, loaded once and warmed up on the longest clips."""

    def __init__(self, job, warmup: DatasetSelection) -> None:
        from ..backends.loader import load_with_fallback
        from .memory_sampler import MemorySampler

        self._sampler = MemorySampler().start()
        start = time.perf_counter()
        self._backend = job.backend()
        self._load = load_with_fallback(self._backend, job.variant, job.load_options)
        self._backend.synchronize()
        self._load_s = time.perf_counter() - start
        self._options = job.decode
        read = ClipReader(warmup.spec)
        transcribe_safely(self._backend, [read(e) for e in warmup.entries], self._options)  # untimed warm-up
        self._backend.synchronize()
        self._ready_at = time.time()
        gpus = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        self._where = f"{socket.gethostname()}:{'gpu ' + gpus if gpus else 'cpu'}:pid {os.getpid()}"

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, list] = {"positions": [], "texts": [], "errors": [], "audio_s": [], "decode_s": [], "inference_s": [], "actor": []}
        for positions, lengths, audio, errors, decode_s in zip(
            batch["positions"], batch["lengths"], batch["audio"], batch["errors"], batch["decode_s"]
        ):
            texts, errors, audio_s, inference_s = self._transcribe(json.loads(lengths), np.asarray(audio, dtype=np.float32), json.loads(errors))
            for key, value in (("positions", json.loads(positions)), ("texts", texts), ("errors", errors)):
                out[key].append(json.dumps(value))
            out["audio_s"].append(audio_s)
            out["decode_s"].append(float(decode_s))
            out["inference_s"].append(inference_s)
            out["actor"].append(json.dumps(self._record(), default=str))
        return {key: np.array(values, dtype=object if isinstance(values[0], str) else np.float64) for key, values in out.items()}

    def _transcribe(self, lengths: list[int], audio: np.ndarray, errors: list[str]):
        """One batch: texts and reasons per clip, the audio that ran (s), the model time (s)."""
        bounds = np.cumsum([0, *(n for n, e in zip(lengths, errors) if not e)])
        samples = [audio[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        ready = [i for i, e in enumerate(errors) if not e]
        texts = [""] * len(errors)
        self._backend.synchronize()
        start = time.perf_counter()
        results = transcribe_safely(self._backend, samples, self._options) if samples else []
        self._backend.synchronize()
        inference_s = time.perf_counter() - start
        audio_s = 0.0
        for i, clip, result in zip(ready, samples, results, strict=True):
            if isinstance(result, BaseException):
                errors[i] = one_line(result)
            else:
                texts[i] = result
                audio_s += len(clip) / SAMPLE_RATE
        return texts, errors, audio_s, inference_s

    def _record(self) -> dict[str, Any]:
        """Who this actor is and what it measured, sent with every batch (the last one wins)."""
        self._sampler.sample()
        device_peak = self._backend.peak_device_memory()
        return {
            "where": self._where, "load_s": self._load_s, "ready_at": self._ready_at,
            "peak_rss": self._sampler.peak_rss, "peak_vram": self._sampler.peak_vram_with(device_peak) or 0,
            "params": self._backend.params(), "packages": self._backend.package_versions(),
            "load_result": dataclasses.asdict(self._load),
        }
