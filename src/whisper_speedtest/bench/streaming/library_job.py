"""The child's jobs for a library's own streaming (``LibraryStreamJob``) and for the live microphone
(``LiveStreamJob``, with either policy). Frozen and picklable, like ``job.StreamJob``, and they send
the same messages: ("progress", text), ("step", (pass index, StreamStep)), then the result; the live
job also sends ("ready", None) once it is loaded and warm, when the microphone may open."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...backends.base import Backend, LoadOptions
from ...backends.loader import VariantPlan, load_with_fallback
from ...results import DecodeOptions
from ..memory_sampler import MemorySampler
from .driver import StreamPolicy, play, play_arriving
from .job import Report, StreamOutcome
from .native import LibraryPolicy, pass_from_events
from .policy import LocalAgreement
from .records import Clock, StreamPass, Streaming

WARMUP_STREAM_SAMPLES = 3 * 16_000  # the streaming path's warm-up: its first calls, not a whole stream
END_OF_AUDIO = None  # what the parent puts on the live job's audio queue when the microphone stops


def library_streaming(backend: type[Backend]) -> str:
    """The line a backend gives for its library's own streaming API ("" when it has none)."""
    return str(getattr(backend, "library_streaming", "") or "")


def library_streaming_unavailable(backend: type[Backend]) -> str | None:
    """Why the library's streaming cannot run on this machine though the backend can (None: it can)."""
    check = getattr(backend, "library_streaming_unavailable", None)
    return check() if check is not None else None


def _load(backend_cls: type[Backend], variant: VariantPlan, load_options: LoadOptions, report: Report) -> tuple[Backend, float]:
    report("progress", "loading")
    start = time.perf_counter()
    backend = backend_cls()
    load_with_fallback(backend, variant, load_options)
    backend.synchronize()
    return backend, time.perf_counter() - start


def _library_pass(backend: Backend, samples: np.ndarray, decode: DecodeOptions, chunk_s: float, clock: Clock, on_step) -> StreamPass:
    if hasattr(backend, "open_library_stream"):
        stream = backend.open_library_stream(decode)
        try:
            return play(None, samples, chunk_s, clock, on_step, policy=LibraryPolicy(stream, backend.display_name))
        finally:
            stream.close()
    _, events = backend.stream_with_library(samples, decode, chunk_s, clock.value)
    stream = pass_from_events(events, clock, backend.display_name)
    for step in stream.steps:
        on_step(step)
    return stream


@dataclass(frozen=True)
class LibraryStreamJob:
    """Load, transcribe offline once (also the warm-up), then the library's own streaming, once per clock."""

    backend: type[Backend]
    variant: VariantPlan
    load_options: LoadOptions
    decode: DecodeOptions
    samples: np.ndarray
    chunk_s: float
    clocks: tuple[Clock, ...]

    def run(self, report: Report) -> StreamOutcome:
        sampler = MemorySampler().start()
        try:
            backend, load_s = _load(self.backend, self.variant, self.load_options, report)
            report("progress", "offline transcription")
            offline = backend.transcribe(self.samples, self.decode).text
            passes = []
            for index, clock in enumerate(self.clocks):
                report("progress", f"library's own streaming · {clock.value} clock · {self.chunk_s:g} s chunks")
                passes.append(_library_pass(backend, self.samples, self.decode, self.chunk_s, clock,
                                            lambda step, i=index: report("step", (i, step))))
            params = backend.params()
            backend.close()
        finally:
            sampler.stop()
        return StreamOutcome(load_s, offline, tuple(passes), params, sampler.peak_rss)


class QueueSource:
    """The live job's audio: ("start", monotonic time of audio 0), then ("audio", block)…, then END_OF_AUDIO."""

    def __init__(self, audio_queue: Any) -> None:
        self._queue = audio_queue

    def start(self) -> float | None:
        item = self._queue.get()
        return None if item is END_OF_AUDIO else float(item[1])

    def _unpack(self, item):
        return END_OF_AUDIO if item is END_OF_AUDIO else item[1]

    def get(self):
        return self._unpack(self._queue.get())

    def get_nowait(self):
        return self._unpack(self._queue.get_nowait())


@dataclass(frozen=True)
class LiveStreamJob:
    """Load and warm up, say "ready", then stream the microphone's audio as it arrives on ``audio``
    (a multiprocessing queue), then transcribe what was recorded offline (for the offline WER)."""

    backend: type[Backend]
    variant: VariantPlan
    load_options: LoadOptions
    decode: DecodeOptions
    warmup: np.ndarray
    chunk_s: float
    streaming: Streaming
    agreement: int
    audio: Any

    def _policy(self, backend: Backend) -> tuple[StreamPolicy, Any]:
        if self.streaming is Streaming.LIBRARY:
            stream = backend.open_library_stream(self.decode)
            return LibraryPolicy(stream, backend.display_name), stream

        def transcribe(buffer: np.ndarray, prompt: str):
            words = backend.transcribe_words(buffer, self.decode, prompt)
            backend.synchronize()
            return words

        return LocalAgreement(transcribe, agreement=self.agreement), None

    def run(self, report: Report) -> StreamOutcome:
        sampler = MemorySampler().start()
        try:
            backend, load_s = _load(self.backend, self.variant, self.load_options, report)
            report("progress", "warm-up")
            backend.transcribe(self.warmup, self.decode)
            warm_policy, warm_stream = self._policy(backend)  # the streaming path itself, once, on the warm-up audio
            play(None, self.warmup[:WARMUP_STREAM_SAMPLES], self.chunk_s, Clock.SIMULATED, policy=warm_policy)
            if warm_stream is not None:
                warm_stream.close()
            policy, stream = self._policy(backend)
            report("ready", None)
            source = QueueSource(self.audio)
            start = source.start()
            if start is None:  # the microphone stopped before any audio came
                recorded, passes = np.zeros(0, dtype=np.float32), ()
            else:
                live, recorded = play_arriving(policy, source, self.chunk_s, start, lambda step: report("step", (0, step)))
                passes = (live,)
            if stream is not None:
                stream.close()
            report("progress", "offline transcription of the recording")
            offline = backend.transcribe(recorded, self.decode).text if len(recorded) else ""
            params = backend.params()
            backend.close()
        finally:
            sampler.stop()
        return StreamOutcome(load_s, offline, passes, params, sampler.peak_rss)
