"""``stream --mic``: the microphone streamed live to one backend, its recording replayed to the others.

The first backend that can stream live (our policy with word timestamps, or a library streaming API
fed from Python) is loaded and warmed up in its child; then the microphone opens and every stretch
of audio goes to that child as it arrives, on the real clock. When the microphone stops (Enter,
``--max-seconds``), the recording is what every other row gets: the reference alignment is computed
on it, and each other backend × chunk size (and library streaming) hears it replayed on the real
clock, at the speed of speech, alone on the machine, as the live one was. No two backends ever
share the machine while they are timed.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...audio import SAMPLE_RATE, AudioClip
from ...backends.base import Backend, LoadOptions
from ...errors import UserError
from ...interrupts import signal_number
from ...recorder import MeterReading, Recorder, Recording
from ...results import CRASHED, FAILED, OK, SKIPPED, TIMEOUT, DecodeOptions
from ..plan import BackendPlan, plan_backend
from . import metrics
from .child import run_stream_child
from .library_job import END_OF_AUDIO, LiveStreamJob, library_streaming_unavailable
from .policy import DEFAULT_AGREEMENT, policy_name
from .records import LIVE_SOURCE, REPLAY_SOURCE, Alignment, Clock, StreamPass, StreamRow, StreamRun, Streaming
from .session import (INTERRUPTED_REASON, Progress, StreamInterrupted, StreamRequest, _row, check_chunk_sizes, figures_of,
                      alignment_for, stream_backend, stream_run_record, stream_units)


class NoLiveBackend(UserError):
    """None of the chosen backends can stream live, so the microphone is not opened."""


@dataclass(frozen=True)
class LiveRequest:
    model: str
    backends: tuple[type[Backend], ...]
    decode: DecodeOptions
    load_options: LoadOptions
    warmup: np.ndarray  # speech the live backend transcribes once before the microphone opens
    clip_name: str
    clip_path: str
    reference: str | None = None
    chunk_sizes: tuple[float, ...] = (1.0,)
    timeout_s: float = 900.0
    agreement: int = DEFAULT_AGREEMENT
    max_seconds: float | None = None
    alignment: Alignment | None = None  # given word end times instead of the aligner's on the recording (scripted tests)

    def __post_init__(self) -> None:
        check_chunk_sizes(self.chunk_sizes)


@dataclass
class _Capture:
    """The recorder's thread: what it recorded, or the error that stopped it."""

    recording: Recording | None = None
    error: BaseException | None = None
    thread: threading.Thread | None = None
    stopped_at: float | None = None  # monotonic time the microphone stopped


def can_stream_live(plan: BackendPlan, streaming: Streaming) -> bool:
    if plan.skip_reason or plan.variant is None:
        return False
    if streaming is Streaming.LIBRARY:
        # a bridge streams a whole file itself: replayed only
        return hasattr(plan.backend, "open_library_stream") and not library_streaming_unavailable(plan.backend)
    return plan.backend.word_timestamps_support().ok


def _start_capture(recorder: Recorder, stop: threading.Event, audio_queue: Any, capture: _Capture, max_seconds: float | None,
                   on_meter: Callable[[MeterReading], None]) -> None:
    def on_audio(block: np.ndarray) -> None:
        if not started:  # audio time 0 arrived when the first stretch did, less its own length
            started.append(True)
            audio_queue.put(("start", time.monotonic() - len(block) / SAMPLE_RATE))
        audio_queue.put(("audio", block))

    def record() -> None:
        try:
            capture.recording = recorder.record(stop, on_meter=on_meter, max_seconds=max_seconds, on_audio=on_audio)
        except BaseException as exc:  # raised again in the main thread, after the live child has ended
            capture.error = exc
        finally:
            capture.stopped_at = time.monotonic()
            audio_queue.put(END_OF_AUDIO)

    started: list[bool] = []
    capture.thread = threading.Thread(target=record, name="stream-microphone", daemon=True)
    capture.thread.start()


def _file_request(request: LiveRequest, clip: AudioClip, check_audio: bool = True) -> StreamRequest:
    return StreamRequest(model=request.model, backends=request.backends, decode=request.decode, load_options=request.load_options,
                         clip=clip, chunk_sizes=request.chunk_sizes, clocks=(Clock.REAL,), timeout_s=request.timeout_s,
                         agreement=request.agreement, check_audio=check_audio, alignment=request.alignment)


@dataclass
class _LiveAttempt:
    unit: tuple[BackendPlan, float, Streaming]
    outcome: tuple[str, Any]
    steps: list
    capture: _Capture
    stopped_by: int | None
    library_log: str = ""  # what the child's libraries printed

    @property
    def microphone_opened(self) -> bool:
        return self.capture.thread is not None

    @property
    def live_pass(self) -> StreamPass:
        return StreamPass(Clock.REAL, tuple(self.steps), completed=False)


def _stream_live(unit, request: LiveRequest, recorder: Recorder, stop: threading.Event, on_progress: Progress,
                 on_meter: Callable[[MeterReading], None]) -> _LiveAttempt:
    """One backend in its child: loaded and warm, then the microphone opens and streams to it until it stops."""
    plan, chunk_s, streaming = unit
    label = f"{plan.label}@{chunk_s:g}s (live)"
    audio_queue = mp.get_context("spawn").Queue()
    job = LiveStreamJob(plan.backend, plan.variant, plan.load_options, request.decode, request.warmup, chunk_s, streaming,
                        request.agreement, audio_queue)
    attempt = _LiveAttempt(unit, ("crashed", INTERRUPTED_REASON), [], _Capture(), None)

    def on_message(kind: str, payload: Any) -> None:
        if kind == "ready":
            _start_capture(recorder, stop, audio_queue, attempt.capture, request.max_seconds, on_meter)
        elif kind == "step":
            attempt.steps.append(payload[1])
        on_progress(label, kind, payload)

    started = time.monotonic()

    def deadline() -> float:
        """--timeout for the load and warm-up, none while the microphone records, --timeout again once it stopped."""
        capture = attempt.capture
        if capture.thread is None:
            return started + request.timeout_s
        if capture.stopped_at is None:
            return float("inf")
        return capture.stopped_at + request.timeout_s

    try:
        kind, payload, attempt.library_log = run_stream_child(job, request.timeout_s, on_message, label, deadline_of=deadline)
        attempt.outcome = (kind, payload)
    except KeyboardInterrupt as exc:
        attempt.stopped_by = signal_number(exc)
    finally:
        stop.set()  # the microphone stops with its backend (Enter, --max-seconds, a failure, Ctrl-C)
        if attempt.capture.thread is not None:
            attempt.capture.thread.join(10)
        audio_queue.cancel_join_thread()  # audio the stopped child never read must not hold this process at exit
        audio_queue.close()
    return attempt


def run_live(request: LiveRequest, recorder: Recorder, stop: threading.Event, *, on_progress: Progress = lambda *_: None,
             on_row: Callable[[StreamRow], None] = lambda row: None, on_note: Callable[[str], None] = lambda text: None,
             on_meter: Callable[[MeterReading], None] = lambda reading: None,
             on_recorded: Callable[[Recording], None] = lambda recording: None) -> StreamRun:
    """Stream the microphone live to the first backend that can take it (the next one if it fails before
    the microphone opens), then replay the recording to the rest."""
    plans = [plan_backend(cls, request.model, request.load_options, on_note) for cls in request.backends]
    units = stream_units(plans, request.chunk_sizes)
    candidates = [unit for unit in units if can_stream_live(unit[0], unit[2])]
    if not candidates:
        reasons = "; ".join(f"{p.label}: {p.skip_reason or p.backend.word_timestamps_support().reason}" for p in plans)
        raise NoLiveBackend(f"no chosen backend can stream live ({reasons or 'none chosen'})")
    policy = policy_name(request.agreement)
    failed_first: dict[int, StreamRow] = {}  # units whose backend failed before the microphone opened
    for candidate in candidates:
        attempt = _stream_live(candidate, request, recorder, stop, on_progress, on_meter)
        if attempt.microphone_opened or attempt.stopped_by is not None:
            break
        plan, chunk_s, streaming = candidate
        kind, payload = attempt.outcome
        reason = payload.reason if kind == "error" else payload
        failed_first[units.index(candidate)] = _row(plan, chunk_s, policy, {"error": FAILED, "timeout": TIMEOUT}.get(kind, CRASHED), reason, streaming,
                                                    audio_source=LIVE_SOURCE)
        on_row(failed_first[units.index(candidate)])
        stop.clear()
    else:
        raise NoLiveBackend("every backend that could stream live failed before the microphone opened: "
                            + "; ".join(f"{r.backend}: {r.reason}" for r in failed_first.values()))
    if attempt.capture.error is not None and attempt.stopped_by is None:
        raise attempt.capture.error
    recording = attempt.capture.recording or Recording(np.zeros(0, dtype=np.float32), SAMPLE_RATE, 1)
    if recording.samples.size:
        on_recorded(recording)
    clip = recording.to_clip(request.clip_name, request.clip_path, request.reference)
    live_index = units.index(attempt.unit)
    if attempt.stopped_by is not None:
        rows = [failed_first.get(i) or _row(p, c, policy, SKIPPED, INTERRUPTED_REASON, s,
                                             passes=(attempt.live_pass,) if i == live_index and attempt.steps else (),
                                             audio_source=LIVE_SOURCE if i == live_index else REPLAY_SOURCE)
                for i, (p, c, s) in enumerate(units)]
        run = stream_run_record(_file_request(request, clip, check_audio=False), rows, None,
                                "interrupted during the live stream: no reference alignment", True, source="microphone")
        raise StreamInterrupted(run, attempt.stopped_by)
    file_request = _file_request(request, clip)  # a recording shorter than one chunk: one line, the recording already saved
    return _after_the_live_stream(file_request, units, live_index, attempt, failed_first, on_progress, on_row, on_note)


def _live_row(attempt: _LiveAttempt, request: StreamRequest, alignment: Alignment | None) -> StreamRow:
    plan, chunk_s, streaming = attempt.unit
    kind, payload = attempt.outcome
    if kind == "result":
        passes = payload.passes or (StreamPass(Clock.REAL, ()),)
        return _row(plan, chunk_s, request.policy, OK, "", streaming, params=payload.params, load_s=payload.load_s,
                    peak_rss_mb=payload.peak_rss / 2**20, offline_text=payload.offline_text,
                    committed_text=metrics.committed_text(passes[0]), passes=passes,
                    figures=figures_of(passes, payload.offline_text, request, alignment, chunk_s), audio_source=LIVE_SOURCE,
                    library_log=attempt.library_log)
    status, reason = (FAILED, payload.reason) if kind == "error" else (TIMEOUT if kind == "timeout" else CRASHED, payload)
    return _row(plan, chunk_s, request.policy, status, reason, streaming, passes=(attempt.live_pass,), audio_source=LIVE_SOURCE,
                library_log=attempt.library_log)


def _after_the_live_stream(request: StreamRequest, units, live_index: int, attempt: _LiveAttempt, failed_first: dict[int, StreamRow],
                           on_progress, on_row, on_note) -> StreamRun:
    """The alignment on the recording, the live row, then every other unit replayed on the real clock."""
    rows: list[StreamRow] = []
    stopped_by: int | None = None
    alignment, note = None, "interrupted before the reference alignment"
    try:
        alignment, note = alignment_for(request, on_progress, after="; run on the recording after the live stream")
        on_note(note)
    except KeyboardInterrupt as exc:
        stopped_by = signal_number(exc)
    for index, (plan, chunk_s, streaming) in enumerate(units):
        if index in failed_first:
            rows.append(failed_first[index])
            continue
        if index == live_index:
            row = _live_row(attempt, request, alignment)
        elif stopped_by is not None:
            row = _row(plan, chunk_s, request.policy, SKIPPED, INTERRUPTED_REASON, streaming, audio_source=REPLAY_SOURCE)
        else:
            try:
                row = stream_backend(plan, chunk_s, request, alignment, on_progress, streaming)
            except KeyboardInterrupt as exc:
                stopped_by = signal_number(exc)
                row = getattr(exc, "partial_row", None) or _row(plan, chunk_s, request.policy, SKIPPED, INTERRUPTED_REASON, streaming)
            row = dataclasses.replace(row, audio_source=REPLAY_SOURCE)
        rows.append(row)
        on_row(row)
    run = stream_run_record(request, rows, alignment, note, stopped_by is not None, source="microphone")
    if stopped_by is not None:
        raise StreamInterrupted(run, stopped_by)
    return run
