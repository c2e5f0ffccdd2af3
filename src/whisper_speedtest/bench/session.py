"""Plans and runs a whole benchmark: which backends, which weights, then one child per backend."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..audio import AudioClip
from ..dataset.entries import DatasetSelection
from ..interrupts import signal_number
from ..models.locations import Scan
from ..plain_text import clean_strings
from ..results import SKIPPED, BackendResult, BenchmarkRun, ClipInfo
from . import audio_set, provenance
from .managed import plan_routed
from .plan import BackendPlan, PlanningInterrupted
from .row_assembly import failed_row
from .request import BenchmarkRequest, select_backends
from .runner import ProgressCallback, run_backend

__all__ = ["BenchmarkInterrupted", "BenchmarkRequest", "PlanningInterrupted", "run_benchmark", "select_backends"]


def clip_infos(clips: Sequence[AudioClip]) -> tuple[ClipInfo, ...]:
    return tuple(
        ClipInfo(c.name, c.path, round(c.duration_s, 3), c.reference, c.original_sample_rate, c.original_channels)
        for c in clips
    )


def dataset_clip_infos(selection: DatasetSelection | None) -> tuple[ClipInfo, ...]:
    if selection is None:
        return ()
    return tuple(ClipInfo(e.name, e.path, round(e.duration_s, 3), e.reference, 0, 0) for e in selection.entries)


def run_benchmark(
    request: BenchmarkRequest,
    *,
    on_plan: Callable[[list[BackendPlan]], None] = lambda plans: None,
    on_progress: ProgressCallback = lambda *_: None,
    on_row: Callable[[BackendResult], None] = lambda row: None,
    on_note: Callable[[str], None] = lambda text: None,
) -> BenchmarkRun:
    """Run every planned backend; Ctrl-C keeps the rows finished so far and marks the rest.

    Planning looks at the caches once (one ``Scan`` for the run); ``--weights native`` takes a fresh look per
    backend instead, since a fetch changes what is there."""
    scan = Scan()
    plans = [
        plan_routed(cls, request.model, replace(request.load_options, quantization=quant), on_note, request.synthetic,
                    request.weights, version, scan)
        for cls, version in request.entries()
        for quant in request.quantizations
    ]
    on_plan(plans)
    rows: list[BackendResult] = []
    stopped_by: int | None = None  # the signal that interrupted the run
    for plan in plans:
        if stopped_by is not None:
            rows.append(failed_row(plan, SKIPPED, INTERRUPTED_REASON))
            continue
        try:
            row = run_backend(plan, request, on_progress)
        except KeyboardInterrupt as exc:
            stopped_by = signal_number(exc)
            row = failed_row(plan, SKIPPED, INTERRUPTED_REASON)
        row = clean_strings(row)  # a library's transcript or message, shown at once
        rows.append(row)
        on_row(row)
    packages = [dist for cls in request.backends for dist in cls.requires]
    run = clean_strings(BenchmarkRun(  # every writer (JSON, CSV, MD, HTML, SQLite, terminal) can take its text
        run_id=uuid.uuid4().hex[:12],
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        provenance=provenance.collect(packages),
        settings=request.settings,
        clips=clip_infos(request.clips) + dataset_clip_infos(request.dataset),
        results=tuple(rows),
        interrupted=stopped_by is not None,
        price_per_hour=request.price_per_hour,
        audio_set=audio_set.of_dataset(request.dataset) if request.dataset else audio_set.of_clips(request.clips),
    ))
    if stopped_by is not None:
        raise BenchmarkInterrupted(run, stopped_by)
    return run


INTERRUPTED_REASON = "interrupted by the user"


class BenchmarkInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during a run; carries the partial results so they can still be written."""

    def __init__(self, run: BenchmarkRun, signum: int) -> None:
        super().__init__("interrupted")
        self.run = run
        self.signum = signum

    @property
    def finished_rows(self) -> tuple[BackendResult, ...]:
        """Rows of backends that ran to an end (ok or failed), not those skipped or cut short."""
        return tuple(r for r in self.run.results if r.status != SKIPPED)

