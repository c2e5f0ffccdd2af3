"""Runs one planned backend, in its own spawned child (or on Ray for a dataset pass), and makes its row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..results import CRASHED, FAILED, TIMEOUT, TOO_SLOW, BackendResult
from ..child_messages import ChildMessage
from .child import MessageCallback, run_child_logged
from .job import WorkerFailure, WorkerJob
from .machine_load import load_warnings, snapshot
from .plan import BackendPlan
from .ray_driver import RaySettings
from .row_assembly import assemble_row, failed_row
from .run_policy import RunPolicy

if TYPE_CHECKING:
    from .request import BenchmarkRequest

ProgressCallback = Callable[[str, ChildMessage, Any], None]  # (row label, kind, payload)


def run_ray(job: WorkerJob, ray: RaySettings, on_message: MessageCallback, timeout_s: float):
    """The dataset pass on Ray; (RESULT, ERROR or TIMEOUT, payload) like ``run_child``."""
    import traceback

    from .dataset_pass import one_line
    from .ray_driver import RayPassTimeout, run_on_ray

    try:
        return ChildMessage.RESULT, run_on_ray(job, ray, on_message, timeout_s)
    except RayPassTimeout as exc:
        return ChildMessage.TIMEOUT, str(exc)
    except Exception as exc:  # Ray's own failures become the row's reason
        return ChildMessage.ERROR, WorkerFailure(one_line(exc), traceback.format_exc())


def job_for(plan: BackendPlan, request: BenchmarkRequest) -> WorkerJob:
    """The child's job for ``plan`` within ``request``."""
    dataset = request.dataset
    settings = request.settings
    policy = RunPolicy.of(settings)
    if is_sweep(request):
        policy = policy.for_sweep()
    return WorkerJob(
        backend=plan.backend,
        variant=plan.variant,
        load_options=plan.load_options,
        decode=settings,  # a DecodeSettings is the DecodeOptions every backend gets
        clips=() if dataset else request.clips,
        policy=policy,
        warmup=settings.warmup,
        measure_warm_load=dataset is None,
        dataset=dataset,
        batch_size=request.batch_size,
    )


def is_sweep(request: BenchmarkRequest) -> bool:
    """A ``--quant`` sweep of several variants: its float16 row is the baseline of the others' WER change."""
    return len(request.quantizations) > 1


def run_backend(plan: BackendPlan, request: BenchmarkRequest, on_progress: ProgressCallback = lambda *_: None) -> BackendResult:
    """Run one backend of ``request`` in a fresh child process (or on Ray) and make its row, with how busy
    the machine was at its start and end."""
    if plan.skip_reason is not None or plan.variant is None:
        return failed_row(plan, plan.skip_status, plan.skip_reason or "no model available")
    start = snapshot("start")
    row = _run_measured(plan, request, on_progress)
    snapshots = (start, snapshot("end"))
    return replace(row, machine_load=snapshots, warnings=row.warnings + tuple(load_warnings(snapshots)))


def _run_measured(plan: BackendPlan, request: BenchmarkRequest, on_progress: ProgressCallback) -> BackendResult:
    job = job_for(plan, request)
    timeout_s = request.settings.timeout_s

    loaded = []  # the child's VARIANT message (a LoadResult): what a row stopped before its result had loaded

    def on_message(kind: ChildMessage, payload: Any) -> None:
        if kind == ChildMessage.VARIANT:
            loaded.append(payload)
        on_progress(plan.label, kind, payload)

    log = ""
    if request.ray is not None and job.dataset is not None and plan.python is None:
        kind, payload = run_ray(job, request.ray, on_message, timeout_s)
    else:
        kind, payload, log = run_child_logged(job, timeout_s, on_message, plan.label, plan.python)
    if kind == ChildMessage.RESULT:
        row = assemble_row(plan, job, payload)
    elif kind == ChildMessage.ERROR:
        on_progress(plan.label, ChildMessage.TRACEBACK, payload.traceback)
        row = failed_row(plan, FAILED, payload.reason)
    else:
        status = TIMEOUT if kind == ChildMessage.TIMEOUT else TOO_SLOW if kind == ChildMessage.TOO_SLOW else CRASHED
        row = failed_row(plan, status, payload, loaded[-1] if loaded else None)
    return replace(row, library_log=log) if log else row
