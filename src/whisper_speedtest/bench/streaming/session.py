"""A whole streaming run: the reference alignment, then every backend × chunk size in its own child."""

from __future__ import annotations

import dataclasses
import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...audio import AudioClip
from ...backends.base import Backend, LoadOptions, TimedWord
from ...errors import AudioError, BadOption
from ...interrupts import signal_number
from ...results import CRASHED, FAILED, OK, SKIPPED, TIMEOUT, DecodeOptions
from .. import provenance, scoring
from ..plan import BackendPlan, plan_backend
from . import metrics
from .child import run_stream_child
from .job import AlignJob, StreamJob, StreamOutcome
from .library_job import LibraryStreamJob, library_streaming, library_streaming_unavailable
from .policy import DEFAULT_AGREEMENT, TRIM_S, policy_name
from .records import Alignment, Clock, StreamFigures, StreamPass, StreamRow, StreamRun, StreamStep, Streaming

ALIGNER = "faster-whisper"
INTERRUPTED_REASON = "interrupted by the user"


@dataclass(frozen=True)
class StreamRequest:
    model: str  # canonical catalog name
    backends: tuple[type[Backend], ...]
    decode: DecodeOptions
    load_options: LoadOptions
    clip: AudioClip
    chunk_sizes: tuple[float, ...] = (1.0,)
    clocks: tuple[Clock, ...] = (Clock.SIMULATED,)
    timeout_s: float = 900.0
    in_process: bool = False  # run each job in this process (tests of what has no process boundary)
    alignment: Alignment | None = None  # given word end times instead of the aligner's (scripted tests)
    agreement: int = DEFAULT_AGREEMENT  # LocalAgreement-n: hypotheses in a row that must agree before a word is committed
    check_audio: bool = True  # False: a live recording cut short by Ctrl-C, recorded as it is

    def __post_init__(self) -> None:
        check_chunk_sizes(self.chunk_sizes, self.clip.duration_s if self.check_audio else None)
        if self.agreement < 2:
            raise BadOption(f"--agreement must be at least 2 hypotheses (got {self.agreement})")

    @property
    def policy(self) -> str:
        return policy_name(self.agreement)


def check_chunk_sizes(chunk_sizes: tuple[float, ...], audio_s: float | None = None) -> None:
    import math

    if not chunk_sizes:
        raise BadOption("--chunk needs at least one size in seconds, e.g. 1 or 0.5,1,2")
    for size in chunk_sizes:
        if not math.isfinite(size) or size <= 0:
            raise BadOption(f"--chunk must be a positive number of seconds (got {size:g})")
    if audio_s is not None and audio_s < max(chunk_sizes):
        raise AudioError(f"the audio ({audio_s:.2f} s) is shorter than one chunk ({max(chunk_sizes):g} s)")


Progress = Callable[[str, str, Any], None]  # (label, kind, payload)


class StreamInterrupted(KeyboardInterrupt):
    """Ctrl-C during a streaming run; carries what was measured."""

    def __init__(self, run: StreamRun, signum: int) -> None:
        super().__init__("interrupted")
        self.run = run
        self.signum = signum


def _execute(job, request: StreamRequest, on_message, label: str) -> tuple[str, Any, str]:
    """(kind, payload, library log): in a child, or in this process (tests; its output is not captured)."""
    if not request.in_process:
        return run_stream_child(job, request.timeout_s, on_message, label)
    import traceback

    from ..dataset_pass import one_line
    from ..job import WorkerFailure

    try:
        return "result", job.run(on_message), ""
    except Exception as exc:
        return "error", WorkerFailure(one_line(exc), traceback.format_exc()), ""


def alignment_for(request: StreamRequest, on_progress: Progress, after: str = "") -> tuple[Alignment | None, str]:
    """The word end times a run scores against (the request's own, or the reference alignment made now,
    its source followed by ``after``), and the note that says which."""
    if request.alignment is not None:
        return request.alignment, f"word end times: {request.alignment.source}"
    alignment, note = reference_alignment(request, on_progress)
    if alignment is not None and after:
        alignment = Alignment(f"{alignment.source}{after}", alignment.words)
        note = f"word end times: {alignment.source}"
    return alignment, note


def reference_alignment(request: StreamRequest, on_progress: Progress) -> tuple[Alignment | None, str]:
    """Word end times from the aligner's offline word timestamps, kept where they match the reference text."""
    from ...backends import get_backend

    aligner = get_backend(ALIGNER)
    plan = plan_backend(aligner, request.model, request.load_options, lambda text: None)
    if plan.skip_reason or plan.variant is None:
        return None, f"no reference alignment ({ALIGNER}: {plan.skip_reason}); latency not measured"
    job = AlignJob(aligner, plan.variant, request.load_options, request.decode, request.clip.samples)
    kind, payload, _log = _execute(job, request, lambda k, p: on_progress("alignment", k, p), "alignment")
    if kind != "result":
        reason = payload.reason if kind == "error" else payload
        return None, f"no reference alignment ({ALIGNER} failed: {reason}); latency not measured"
    words: tuple[TimedWord, ...] = payload
    source = f"{ALIGNER} {request.model} offline, {aligner.word_timestamps}"
    if request.clip.reference:
        pairs = metrics.match_in_order([w.text for w in words], request.clip.reference.split())
        words = tuple(words[i] for i, _ in pairs)
        source += ", words kept where they match the reference text"
    return Alignment(source, words), f"word end times: {source}"


def _passes_from_steps(steps: dict[int, list[StreamStep]], clocks: tuple[Clock, ...]) -> tuple[StreamPass, ...]:
    return tuple(StreamPass(clocks[i], tuple(s), completed=False) for i, s in sorted(steps.items()))


def figures_of(passes: tuple[StreamPass, ...], offline_text: str, request: StreamRequest, alignment: Alignment | None,
               chunk_s: float) -> StreamFigures:
    by_clock = {p.clock: p for p in passes}
    simulated, real = by_clock.get(Clock.SIMULATED), by_clock.get(Clock.REAL)
    main = simulated or real
    audio_s = request.clip.duration_s
    words = alignment.words if alignment else ()
    committed = metrics.committed_text(main)
    reference = request.clip.reference

    def wer(ref: str | None, hyp: str) -> float | None:
        score = scoring.score(ref, hyp)
        return score.wer if score else None

    lags = metrics.lags(real) if real else []
    ends = metrics.lag_ends(lags)
    rtf = metrics.compute_s(real or simulated) / audio_s
    return StreamFigures(
        unaware=metrics.latency_summary(simulated, words) if simulated and alignment else None,
        aware=metrics.latency_summary(real, words) if real and alignment else None,
        rtf=rtf,
        kept_up=metrics.kept_up(lags, chunk_s) if real else rtf <= 1.0,
        lag_start_s=ends[0] if ends else None,
        lag_end_s=ends[1] if ends else None,
        revisions_per_min=metrics.revisions(main) / (audio_s / 60),
        final_wer=wer(reference, committed),
        offline_wer=wer(reference, offline_text),
        wer_vs_offline=wer(offline_text, committed),
    )


def _row(plan: BackendPlan, chunk_s: float, policy: str, status: str, reason: str = "", streaming: Streaming = Streaming.POLICY,
         **fields) -> StreamRow:
    cls = plan.backend
    model = plan.model
    if streaming is Streaming.LIBRARY:
        policy_text = f"library's own streaming: {library_streaming(cls) or 'none'}"
        word_times = "the library's own (it commits words itself)"
    else:
        policy_text = f"{policy}, trim at segment ends past {TRIM_S:g} s, committed text as prompt"
        word_times = cls.word_timestamps_support().reason
    return StreamRow(
        backend=plan.label, display_name=cls.display_name, status=status, reason=reason,
        model=f"{model.name} ({model.format} {model.dtype})" if model else "", chunk_s=chunk_s,
        model_fingerprint=model.fingerprint if model else None,
        policy=policy_text, word_timestamps=word_times, streaming=streaming, **fields,
    )


def stream_backend(plan: BackendPlan, chunk_s: float, request: StreamRequest, alignment: Alignment | None,
                   on_progress: Progress, streaming: Streaming = Streaming.POLICY) -> StreamRow:
    """One backend at one chunk size, by our policy or by the library's own streaming; a failure keeps
    the steps measured before it."""
    row_of = functools.partial(_row, streaming=streaming)
    if plan.skip_reason or plan.variant is None:
        return row_of(plan, chunk_s, request.policy, plan.skip_status, plan.skip_reason or "no model available")
    if streaming is Streaming.LIBRARY:
        if not library_streaming(plan.backend):
            return row_of(plan, chunk_s, request.policy, SKIPPED, f"{plan.backend.display_name} has no streaming API of its own")
        unavailable = library_streaming_unavailable(plan.backend)
        if unavailable:
            return row_of(plan, chunk_s, request.policy, SKIPPED, unavailable)
        job: Any = LibraryStreamJob(plan.backend, plan.variant, plan.load_options, request.decode, request.clip.samples, chunk_s,
                                    request.clocks)
    else:
        support = plan.backend.word_timestamps_support()
        if not support.ok:
            return row_of(plan, chunk_s, request.policy, SKIPPED, support.reason)
        job = StreamJob(plan.backend, plan.variant, plan.load_options, request.decode, request.clip.samples, chunk_s, request.clocks,
                        request.agreement)
    label = f"{plan.label}@{chunk_s:g}s" + (" (own streaming)" if streaming is Streaming.LIBRARY else "")
    steps: dict[int, list[StreamStep]] = {}

    def on_message(kind: str, payload: Any) -> None:
        if kind == "step":
            steps.setdefault(payload[0], []).append(payload[1])
        on_progress(label, kind, payload)

    try:
        kind, payload, log = _execute(job, request, on_message, label)
    except KeyboardInterrupt as exc:
        exc.partial_row = row_of(plan, chunk_s, request.policy, SKIPPED, INTERRUPTED_REASON, passes=_passes_from_steps(steps, request.clocks))
        raise
    if kind == "result":
        outcome: StreamOutcome = payload
        return row_of(
            plan, chunk_s, request.policy, OK, params=outcome.params, load_s=outcome.load_s, peak_rss_mb=outcome.peak_rss / 2**20,
            offline_text=outcome.offline_text, committed_text=metrics.committed_text(outcome.passes[0]),
            passes=outcome.passes, figures=figures_of(outcome.passes, outcome.offline_text, request, alignment, chunk_s),
            library_log=log,
        )
    if kind == "error":
        on_progress(label, "traceback", payload.traceback)
        status, reason = FAILED, payload.reason
    else:
        status, reason = (TIMEOUT if kind == "timeout" else CRASHED), payload
    return row_of(plan, chunk_s, request.policy, status, reason, passes=_passes_from_steps(steps, request.clocks), library_log=log)


def stream_units(plans: list[BackendPlan], chunk_sizes: tuple[float, ...]) -> list[tuple[BackendPlan, float, Streaming]]:
    """Every backend × chunk size by our policy, then by the library's own streaming where it has one."""
    units = []
    for plan in plans:
        for streaming in (Streaming.POLICY, Streaming.LIBRARY):
            if streaming is Streaming.LIBRARY and not library_streaming(plan.backend):
                continue
            units += [(plan, chunk_s, streaming) for chunk_s in chunk_sizes]
    return units


def run_stream(request: StreamRequest, *, on_progress: Progress = lambda *_: None,
               on_row: Callable[[StreamRow], None] = lambda row: None, on_note: Callable[[str], None] = lambda text: None) -> StreamRun:
    """Every backend × chunk size; Ctrl-C keeps the rows (and steps) measured so far."""
    rows: list[StreamRow] = []
    stopped_by: int | None = None
    alignment, note = None, "interrupted before the reference alignment"
    try:
        alignment, note = alignment_for(request, on_progress)
        on_note(note)
        plans = [plan_backend(cls, request.model, request.load_options, on_note) for cls in request.backends]
    except KeyboardInterrupt as exc:
        stopped_by, plans = signal_number(exc), []
    for plan, chunk_s, streaming in stream_units(plans, request.chunk_sizes):
        if stopped_by is not None:
            rows.append(_row(plan, chunk_s, request.policy, SKIPPED, INTERRUPTED_REASON, streaming))
            continue
        try:
            row = stream_backend(plan, chunk_s, request, alignment, on_progress, streaming)
        except KeyboardInterrupt as exc:
            stopped_by = signal_number(exc)
            row = getattr(exc, "partial_row", None) or _row(plan, chunk_s, request.policy, SKIPPED, INTERRUPTED_REASON, streaming)
        rows.append(row)
        on_row(row)
    run = stream_run_record(request, rows, alignment, note, stopped_by is not None)
    if stopped_by is not None:
        raise StreamInterrupted(run, stopped_by)
    return run


def stream_run_record(request: StreamRequest, rows: list[StreamRow], alignment: Alignment | None, note: str, interrupted: bool,
                      **settings: Any) -> StreamRun:
    """The run's record: every row told where its word end times came from; ``settings`` added to the run's."""
    rows = [dataclasses.replace(row, word_ends=alignment.source if alignment else note) for row in rows]
    return StreamRun(
        run_id=uuid.uuid4().hex[:12],
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        audio_name=request.clip.name, audio_path=request.clip.path, audio_s=round(request.clip.duration_s, 3),
        reference=request.clip.reference, alignment=alignment, alignment_note=note,
        settings={"model": request.model, "chunk_sizes": list(request.chunk_sizes), "clocks": [c.value for c in request.clocks],
                  "language": request.decode.language, "beam_size": request.decode.beam_size,
                  "temperature": request.decode.temperature, "timeout_s": request.timeout_s, "policy": request.policy, **settings},
        rows=tuple(rows), interrupted=interrupted,
        provenance=provenance.collect([dist for cls in request.backends for dist in cls.requires]),
    )

