"""The streaming child's jobs: stream one backend (``StreamJob``), or time the reference words (``AlignJob``).

Both are frozen and picklable, and run in a spawned child (``child.run_stream_child``). The child
sends ("progress", text), ("step", (pass index, StreamStep)) for every step as it happens, then
("result", payload) or ("error", WorkerFailure).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...backends.base import Backend, LoadOptions, TimedWord
from ...backends.loader import VariantPlan, load_with_fallback
from ...results import DecodeOptions
from ..memory_sampler import MemorySampler
from .driver import play
from .records import Clock, StreamPass

Report = Callable[[str, Any], None]


@dataclass(frozen=True)
class StreamOutcome:
    """What a stream child measured; the parent turns it into a row."""

    load_s: float
    offline_text: str
    passes: tuple[StreamPass, ...]
    params: dict[str, Any]
    peak_rss: int


@dataclass(frozen=True)
class StreamJob:
    backend: type[Backend]
    variant: VariantPlan
    load_options: LoadOptions
    decode: DecodeOptions
    samples: np.ndarray
    chunk_s: float
    clocks: tuple[Clock, ...]
    agreement: int = 2

    def run(self, report: Report) -> StreamOutcome:
        """Load, transcribe offline once (also the warm-up), then one stream per clock."""
        sampler = MemorySampler().start()
        try:
            report("progress", "loading")
            start = time.perf_counter()
            backend = self.backend()
            load_with_fallback(backend, self.variant, self.load_options)
            backend.synchronize()
            load_s = time.perf_counter() - start
            report("progress", "offline transcription")
            offline = backend.transcribe(self.samples, self.decode).text

            def transcribe(buffer: np.ndarray, prompt: str):
                words = backend.transcribe_words(buffer, self.decode, prompt)
                backend.synchronize()
                return words

            passes = []
            for index, clock in enumerate(self.clocks):
                report("progress", f"{clock.value} clock · {self.chunk_s:g} s chunks")
                passes.append(play(transcribe, self.samples, self.chunk_s, clock, lambda step, i=index: report("step", (i, step)),
                                   agreement=self.agreement))
            params = backend.params()
            backend.close()
        finally:
            sampler.stop()
        return StreamOutcome(load_s, offline, tuple(passes), params, sampler.peak_rss)


@dataclass(frozen=True)
class AlignJob:
    """The reference alignment: one backend's offline word timestamps of the whole audio."""

    backend: type[Backend]
    variant: VariantPlan
    load_options: LoadOptions
    decode: DecodeOptions
    samples: np.ndarray

    def run(self, report: Report) -> tuple[TimedWord, ...]:
        report("progress", "reference alignment")
        backend = self.backend()
        load_with_fallback(backend, self.variant, self.load_options)
        words = backend.transcribe_words(self.samples, self.decode, "").words
        backend.close()
        return words
