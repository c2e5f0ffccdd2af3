"""Runs one planned backend, in its own spawned child (or on Ray for a dataset pass), and makes its row."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..results import CRASHED, FAILED, TIMEOUT, TOO_SLOW, BackendResult
from .child import MessageCallback, run_child
from .job import WorkerFailure, WorkerJob
from .plan import BackendPlan
from .ray_driver import RaySettings
from .rows import assemble_row, failed_row
from .run_policy import RunPolicy

if TYPE_CHECKING:
    from .request import BenchmarkRequest

ProgressCallback = Callable[[str, str, Any], None]


def run_ray(job: WorkerJob, ray: RaySettings, on_message: MessageCallback, timeout_s: float):
    """The dataset pass on Ray; ("result"|"error"|"timeout", payload) like ``run_child``."""
    import traceback

    from .dataset import one_line
    from .ray_driver import RayPassTimeout, run_on_ray

    try:
        return "result", run_on_ray(job, ray, on_message, timeout_s)
    except RayPassTimeout as exc:
        return "timeout", str(exc)
    except Exception as exc:  # Ray's own failures become the row's reason
        return "error", WorkerFailure(one_line(exc), traceback.format_exc())


def job_for(plan: BackendPlan, request: BenchmarkRequest) -> WorkerJob:
    """The child's job for ``plan`` within ``request``."""
    dataset = request.dataset
    settings = request.settings
    return WorkerJob(
        backend=plan.backend,
        variant=plan.variant,
        load_options=plan.load_options,
        decode=settings,  # a DecodeSettings is the DecodeOptions every backend gets
        clips=() if dataset else request.clips,
        policy=RunPolicy.of(settings),
        warmup=settings.warmup,
        measure_warm_load=dataset is None,
        dataset=dataset,
        batch_size=request.batch_size,
    )


def run_backend(plan: BackendPlan, request: BenchmarkRequest, on_progress: ProgressCallback = lambda *_: None) -> BackendResult:
    """Run one backend of ``request`` in a fresh child process (or on Ray) and make its row."""
    if plan.skip_reason is not None or plan.variant is None:
        return failed_row(plan, plan.skip_status, plan.skip_reason or "no model available")
    job = job_for(plan, request)
    timeout_s = request.settings.timeout_s

    def on_message(kind: str, payload: Any) -> None:
        on_progress(plan.label, kind, payload)

    if request.ray is not None and job.dataset is not None and plan.python is None:
        kind, payload = run_ray(job, request.ray, on_message, timeout_s)
    else:
        kind, payload = run_child(job, timeout_s, on_message, plan.label, plan.python)
    if kind == "result":
        return assemble_row(plan, job, payload)
    if kind == "error":
        on_progress(plan.label, "traceback", payload.traceback)
        return failed_row(plan, FAILED, payload.reason)
    return failed_row(plan, {"timeout": TIMEOUT, TOO_SLOW: TOO_SLOW}.get(kind, CRASHED), payload)
