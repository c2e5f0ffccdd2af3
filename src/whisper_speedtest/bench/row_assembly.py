"""A backend's row: what its child measured turned into statistics and scores, or why it has none."""

from __future__ import annotations

from collections.abc import Sequence

from ..backends.base import LoadResult, ModelRef
from ..results import OK, BackendResult, ClipResult, DatasetStats, FailedClip, ModelIdentity, RowIntervals
from . import scoring, stats
from .dataset_pass import DatasetPass
from .job import WorkerJob, WorkerResult
from .plan import BackendPlan


def model_identity(model: ModelRef | None, family: str = "whisper") -> ModelIdentity | None:
    if model is None:
        return None
    return ModelIdentity(
        name=model.name,
        format=model.format,
        dtype=model.dtype,
        fingerprint=model.fingerprint,
        path=model.path,
        source=model.source,
        family=family,
        synthetic=model.synthetic,
    )


def _what_loaded(plan: BackendPlan, load: LoadResult) -> dict:
    """A row's fields for the variant that loaded (asked for, actual, and any fallback)."""
    return {
        "requested": {**plan.requested, "variant": load.requested},
        "variant": plan.variant_label,
        "actual_variant": load.actual,
        "did_fallback": load.did_fallback,
        "fallback_reason": load.detail if load.did_fallback else "",
    }


def failed_row(plan: BackendPlan, status: str, reason: str, load: LoadResult | None = None) -> BackendResult:
    """A row without measurements; ``load`` (a row stopped after its load) says what loaded, fallback included."""
    model = plan.variant.fallback_model if load is not None and load.did_fallback else plan.model
    loaded = _what_loaded(plan, load) if load is not None else {"requested": plan.requested, "variant": plan.variant_label}
    return BackendResult(
        backend=plan.row_name,
        display_name=plan.row_display_name,
        status=status,
        reason=reason,
        model=model_identity(model, plan.backend.family),
        environment=plan.environment,
        **loaded,
    )


def _whole_set_score(clips, texts: Sequence[str | None]):
    """WER/CER over every clip that has a reference and a transcript (failed clips have none), or None."""
    scored = [(c.reference, text) for c, text in zip(clips, texts, strict=True) if c.reference and text is not None]
    return scoring.score_many([r for r, _ in scored], [h for _, h in scored]) if scored else None


def _clip_rows(job: WorkerJob, result: WorkerResult, synthetic: bool) -> tuple[ClipResult, ...]:
    rows = []
    for clip, samples, text in zip(job.clips, result.times, result.texts, strict=True):
        clip_stats = stats.summarize(samples)
        rows.append(
            ClipResult(
                clip=clip.name,
                audio_s=clip.duration_s,
                transcribe=clip_stats,
                rtfx=stats.rtfx(clip.duration_s, clip_stats.median),
                text=text,
                score=None if synthetic else scoring.score(clip.reference, text),
                samples=tuple(samples),
                reference=clip.reference,
                word_errors=None if synthetic else scoring.word_errors(clip.reference, text),
            )
        )
    return tuple(rows)


def _dataset_stats(plan: BackendPlan, job: WorkerJob, measured: DatasetPass) -> DatasetStats:
    """A dataset pass: RTFx = audio of the clips that ran / end-to-end wall time."""
    selection = job.dataset
    wall = measured.wall_s
    return DatasetStats(
        clips=len(measured.texts),
        audio_s=measured.audio_s,
        wall_s=wall,
        decode_s=measured.decode_s,
        inference_s=measured.inference_s,
        rtfx=measured.audio_s / wall if wall > 0 else 0.0,
        model_rtfx=measured.audio_s / measured.inference_s if measured.inference_s > 0 else None,
        order=measured.order,
        batch_size=job.batch_size,
        mode=plan.backend.batch_mode if job.batch_size > 1 else "one clip at a time",
        transcripts=tuple(text or "" for text in measured.texts),
        source=selection.spec.describe(),
        sample=selection.sample,
        failed=tuple(FailedClip(position, selection.entries[position].name, reason) for position, reason in measured.failed),
        driver=measured.driver,
        workers=measured.workers,
        startup_s=measured.startup_s,
        word_errors=() if plan.model is not None and plan.model.synthetic else tuple(
            scoring.word_errors(e.reference, t) for e, t in zip(selection.entries, measured.texts, strict=True)
        ),
    )


def row_intervals(samples: tuple[float, ...], clips: tuple[ClipResult, ...], dataset: DatasetStats | None) -> RowIntervals:
    """95 % intervals: the median time over the timed passes (over clips when there is one pass and many
    clips), RTFx from the same, WER over clips."""
    audio_s = dataset.audio_s if dataset else sum(c.audio_s for c in clips)
    median = stats.median_interval(samples) if dataset is None else None
    rtfx = stats.rtfx_interval(audio_s, median)
    if median is None and len(clips) >= stats.MIN_CLIPS_FOR_CLIP_BOOTSTRAP:
        clip_medians = [c.transcribe.median for c in clips]
        median = stats.clip_total_interval(clip_medians)
        rtfx = stats.rtfx_over_clips([c.audio_s for c in clips], clip_medians)
    errors = dataset.word_errors if dataset else tuple(c.word_errors for c in clips)
    return RowIntervals(median, rtfx, stats.wer_interval(errors))


def assemble_row(plan: BackendPlan, job: WorkerJob, result: WorkerResult) -> BackendResult:
    """Turn the child's measurements into statistics and scores (none for synthetic weights).

    Clip mode times every clip over several rounds; a dataset pass is one end-to-end pass, timed once.
    """
    synthetic = plan.model is not None and plan.model.synthetic
    dataset = _dataset_stats(plan, job, result.dataset) if result.dataset is not None else None
    if dataset is not None:
        scored, clip_rows, params = job.dataset.entries, (), {**result.params, "batch": job.batch_size}
        samples = (dataset.wall_s,)
        rtfx = dataset.rtfx
    else:
        scored, clip_rows, params = job.clips, _clip_rows(job, result, synthetic), result.params
        samples = tuple(stats.per_run_totals(result.times))
        rtfx = stats.rtfx(sum(c.duration_s for c in job.clips), stats.summarize(samples).median)
    transcribe = stats.summarize(samples)
    load = result.load
    model = plan.variant.fallback_model if load.did_fallback else plan.model
    return BackendResult(
        backend=plan.row_name,
        display_name=plan.row_display_name,
        status=OK,
        model=model_identity(model, plan.backend.family),
        load_s=result.load_s,
        warm_load_s=result.warm_load_s,
        transcribe=transcribe,
        rtfx=rtfx,
        score=None if synthetic else _whole_set_score(scored, result.texts),
        clips=clip_rows,
        peak_rss_mb=result.peak_rss / 2**20,
        peak_vram_mb=result.peak_vram / 2**20 if result.peak_vram else None,
        params=params,
        **_what_loaded(plan, load),
        packages=result.packages,
        dataset=dataset,
        cost=result.cost,
        load_cost=result.load_cost,
        runs_note=result.runs_note,
        samples=samples,
        intervals=row_intervals(samples, clip_rows, dataset),
        warnings=tuple(stats.sample_warnings(samples)),
        environment=plan.environment,
    )
