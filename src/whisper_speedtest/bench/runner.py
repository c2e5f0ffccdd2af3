"""Runs each backend in its own spawned child process with a timeout, and assembles result rows."""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..audio import AudioClip
from ..dataset.entries import DatasetSelection
from ..backends.base import Backend, DecodeOptions, LoadOptions, ModelRef
from ..backends.loader import VariantPlan
from ..results import CRASHED, FAILED, OK, SKIPPED, TIMEOUT, TOO_SLOW, BackendResult, ClipResult, DatasetStats, DecodeSettings, FailedClip, ModelIdentity
from . import scoring, stats
from .lifeline import Lifeline
from .memory_watch import MemoryWatch
from .ray_driver import RaySettings
from .run_policy import RunPolicy
from .worker import WorkerJob, child_main

ProgressCallback = Callable[[str, str, Any], None]


@dataclass(frozen=True)
class BackendPlan:
    """One backend to run, with its located weights, or the reason it cannot run."""

    backend: type[Backend]
    variant: VariantPlan | None
    load_options: LoadOptions
    skip_reason: str | None = None
    skip_status: str = SKIPPED  # FAILED when the weights are there but must not run (corrupt)

    @property
    def model(self) -> ModelRef | None:
        if self.variant is None:
            return None
        return self.variant.model or self.variant.fallback_model

    @property
    def label(self) -> str:
        return self.backend.name + (f"@{self.variant_label}" if self.variant_label != "default" else "")

    @property
    def variant_label(self) -> str:
        """The row's variant: the quantization asked for, "native" weights, or "default"."""
        return self.load_options.quantization or ("native" if self.load_options.weights == "native" else "default")

    @property
    def backend_path(self) -> str:
        return f"{self.backend.__module__}:{self.backend.__qualname__}"


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


def failed_row(plan: BackendPlan, status: str, reason: str) -> BackendResult:
    return BackendResult(
        backend=plan.backend.name,
        display_name=plan.backend.display_name,
        status=status,
        reason=reason,
        model=model_identity(plan.model, plan.backend.family),
        requested=_requested(plan),
        variant=plan.variant_label,
    )


def _requested(plan: BackendPlan) -> dict[str, Any]:
    opts = plan.load_options
    return {"device": opts.device, "quantization": opts.quantization, "threads": opts.threads}


def _exit_reason(exitcode: int | None, evidence: str | None = None) -> str:
    """What ended the child, plus the out-of-memory evidence when there is some (never a guess)."""
    if exitcode is None:
        reason = "child process ended without a result"
    elif exitcode < 0:
        number = -exitcode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = None
        if number == signal.SIGKILL or name is None:
            reason = f"backend process killed (signal {number})"
        else:
            reason = f"backend process killed by {name} (signal {number})"
    else:
        reason = f"backend process exited with code {exitcode} without a result"
    return f"{reason}; {evidence}" if evidence else reason


def run_child(job: WorkerJob, timeout_s: float, on_message: Callable[[str, Any], None], label: str):
    """Run ``job`` in a spawned child; returns ("result"|"error"|"timeout"|"crashed"|"too slow", payload)."""
    context = mp.get_context("spawn")
    messages = context.Queue()
    process = context.Process(
        target=child_main, args=(job, messages, Lifeline.of_this_process()), name=f"whisper-speedtest:{label}"
    )
    process.start()
    kind, payload = "crashed", "interrupted"
    try:
        kind, payload = _collect(process, messages, timeout_s, on_message, job.policy)
    finally:
        _stop(process, grace_s=10.0 if kind in ("result", "error") else 0.0)
        messages.close()
        messages.join_thread()
    return kind, payload


def run_ray(job: WorkerJob, ray: RaySettings, on_message: Callable[[str, Any], None], timeout_s: float):
    """The dataset pass on Ray; ("result"|"error"|"timeout", payload) like ``run_child``."""
    import traceback

    from .dataset import one_line
    from .ray_driver import RayPassTimeout, run_on_ray

    try:
        return "result", run_on_ray(job, ray, on_message, timeout_s)
    except RayPassTimeout as exc:
        return "timeout", str(exc)
    except Exception as exc:  # Ray's own failures become the row's reason
        return "error", {"reason": one_line(exc), "traceback": traceback.format_exc()}


def _collect(process, messages, timeout_s: float, on_message: Callable[[str, Any], None], policy: RunPolicy):
    """Wait for the child's result; returns ("result"|"error"|"timeout"|"crashed"|"too slow", payload).

    A first pass (the child's ``("pass", audio seconds)``, ended by its next message) that runs past the
    policy's limit stops the child: the backend is slower than real time and the budget is spent.
    """
    deadline = time.monotonic() + timeout_s
    memory = MemoryWatch(process.pid)
    last_message = time.monotonic()
    first_pass: tuple[float, float] | None = None  # (audio seconds, when it began) while one runs
    load_s: float | None = None
    while True:
        try:
            kind, payload = messages.get(timeout=0.1)
        except queue_module.Empty:
            memory.sample()
            now = time.monotonic()
            if now > deadline:
                return "timeout", f"no result within --timeout {timeout_s:g} s; backend process stopped"
            limit = policy.first_pass_limit(first_pass[0]) if first_pass else None
            if limit is not None and now - first_pass[1] > limit:
                loaded = f"loaded in {load_s:.1f} s; " if load_s is not None else ""
                return TOO_SLOW, loaded + policy.stopped_note(first_pass[0], now - first_pass[1])
            if memory.stuck(last_message, timeout_s):
                return "crashed", f"{memory.evidence() or 'out of memory'}; backend process stuck at the limit, stopped"
            if not process.is_alive():
                try:  # the result may have arrived just as the process ended
                    kind, payload = messages.get(timeout=0.5)
                except queue_module.Empty:
                    process.join(1)
                    return "crashed", _exit_reason(process.exitcode, memory.evidence())
            else:
                continue
        last_message = time.monotonic()
        if kind in ("result", "error"):
            return kind, payload
        first_pass = (payload, last_message) if kind == "pass" else None
        if kind == "loaded":
            load_s = payload
        on_message(kind, payload)


def _stop(process, grace_s: float) -> None:
    """Let a child that delivered its result exit on its own; stop anything else."""
    process.join(grace_s)
    if process.is_alive():
        process.terminate()
        process.join(3)
    if process.is_alive():
        process.kill()
    process.join(3)


def run_backend(
    plan: BackendPlan,
    clips: Sequence[AudioClip],
    settings: DecodeSettings,
    on_progress: ProgressCallback = lambda *_: None,
    dataset: DatasetSelection | None = None,
    batch_size: int = 1,
    ray: RaySettings | None = None,
) -> BackendResult:
    """Run one backend in a fresh child process and turn what happened into a row."""
    if plan.skip_reason is not None or plan.variant is None:
        return failed_row(plan, plan.skip_status, plan.skip_reason or "no model available")
    job = WorkerJob(
        backend_path=plan.backend_path,
        variant=plan.variant,
        load_options=plan.load_options,
        decode_options=DecodeOptions(
            settings.language, settings.beam_size, settings.temperature, settings.condition_on_previous_text
        ),
        clip_names=() if dataset else tuple(c.name for c in clips),
        clip_samples=() if dataset else tuple(c.samples for c in clips),
        policy=RunPolicy.of(settings),
        warmup=settings.warmup,
        measure_warm_load=dataset is None,
        dataset=dataset,
        batch_size=batch_size,
    )
    if ray is not None and dataset is not None:
        kind, payload = run_ray(job, ray, lambda k, p: on_progress(plan.label, k, p), settings.timeout_s)
    else:
        kind, payload = run_child(job, settings.timeout_s, lambda k, p: on_progress(plan.label, k, p), plan.label)
    if kind == "result":
        if payload.get("dataset"):
            return assemble_dataset_row(plan, dataset, payload, batch_size)
        return assemble_row(plan, clips, payload)
    if kind == "error":
        on_progress(plan.label, "traceback", payload.get("traceback", ""))
        return failed_row(plan, FAILED, payload["reason"])
    return failed_row(plan, {"timeout": TIMEOUT, TOO_SLOW: TOO_SLOW}.get(kind, CRASHED), payload)


def _whole_set_score(clips, texts: Sequence[str | None]):
    """WER/CER over every clip that has a reference and a transcript (failed clips have none), or None."""
    scored = [(c.reference, text) for c, text in zip(clips, texts, strict=True) if c.reference and text is not None]
    return scoring.score_many([r for r, _ in scored], [h for _, h in scored]) if scored else None


def assemble_row(plan: BackendPlan, clips: Sequence[AudioClip], raw: dict[str, Any]) -> BackendResult:
    """Turn the child's raw measurements into statistics and scores (none for synthetic weights)."""
    synthetic = plan.model is not None and plan.model.synthetic
    clip_rows = []
    for clip, samples, text in zip(clips, raw["times"], raw["texts"], strict=True):
        clip_stats = stats.summarize(samples)
        clip_rows.append(
            ClipResult(
                clip=clip.name,
                audio_s=clip.duration_s,
                transcribe=clip_stats,
                rtfx=stats.rtfx(clip.duration_s, clip_stats.median),
                text=text,
                score=None if synthetic else scoring.score(clip.reference, text),
            )
        )
    totals = stats.summarize(stats.per_run_totals(raw["times"]))
    overall = None if synthetic else _whole_set_score(clips, raw["texts"])
    load = raw["load_result"]
    model = plan.variant.fallback_model if load["did_fallback"] else plan.model
    vram = raw.get("peak_vram")
    return BackendResult(
        backend=plan.backend.name,
        display_name=plan.backend.display_name,
        status=OK,
        model=model_identity(model, plan.backend.family),
        load_s=raw["load_s"],
        warm_load_s=raw.get("warm_load_s"),
        transcribe=totals,
        rtfx=stats.rtfx(sum(c.duration_s for c in clips), totals.median),
        score=overall,
        clips=tuple(clip_rows),
        peak_rss_mb=raw["peak_rss"] / 2**20,
        peak_vram_mb=vram / 2**20 if vram else None,
        params=raw["params"],
        requested={**_requested(plan), "variant": load["requested"]},
        did_fallback=bool(load["did_fallback"]),
        variant=plan.variant_label,
        actual_variant=load["actual"],
        fallback_reason=load["detail"] if load["did_fallback"] else "",
        packages=raw.get("packages", {}),
        cost=raw.get("cost"),
        load_cost=raw.get("load_cost"),
        runs_note=raw.get("runs_note", ""),
    )


def assemble_dataset_row(plan: BackendPlan, selection: DatasetSelection, raw: dict[str, Any], batch_size: int) -> BackendResult:
    """A dataset pass: RTFx = audio of the clips that ran / end-to-end wall time, WER over them."""
    data = raw["dataset"]
    clips = selection.entries
    synthetic = plan.model is not None and plan.model.synthetic
    overall = None if synthetic else _whole_set_score(clips, raw["texts"])
    wall = data["wall_s"]
    failed = tuple(FailedClip(int(i), clips[int(i)].name, reason) for i, reason in sorted(data.get("failed", {}).items()))
    dataset = DatasetStats(
        clips=len(raw["texts"]),
        audio_s=data["audio_s"],
        wall_s=wall,
        decode_s=data["decode_s"],
        inference_s=data["inference_s"],
        rtfx=data["audio_s"] / wall if wall > 0 else 0.0,
        model_rtfx=data["audio_s"] / data["inference_s"] if data["inference_s"] > 0 else None,
        order=data.get("sorted", ""),
        batch_size=batch_size,
        mode=plan.backend.batch_mode if batch_size > 1 else "one clip at a time",
        transcripts=tuple(text or "" for text in raw["texts"]),
        source=selection.spec.describe(),
        sample=selection.sample,
        failed=failed,
        driver=data.get("driver", "in process"),
        workers=tuple(data.get("workers", ())),
        startup_s=data.get("startup_s"),
    )
    load = raw["load_result"]
    vram = raw.get("peak_vram")
    return BackendResult(
        backend=plan.backend.name,
        display_name=plan.backend.display_name,
        status=OK,
        model=model_identity(plan.model, plan.backend.family),
        load_s=raw["load_s"],
        transcribe=stats.summarize([wall]),
        rtfx=dataset.rtfx,
        score=overall,
        peak_rss_mb=raw["peak_rss"] / 2**20,
        peak_vram_mb=vram / 2**20 if vram else None,
        params={**raw["params"], "batch": batch_size},
        requested={**_requested(plan), "variant": load["requested"]},
        did_fallback=bool(load["did_fallback"]),
        packages=raw.get("packages", {}),
        variant=plan.variant_label,
        actual_variant=load["actual"],
        dataset=dataset,
        cost=raw.get("cost"),
        load_cost=raw.get("load_cost"),
    )
