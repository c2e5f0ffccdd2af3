"""Plans and runs a whole benchmark: which backends, which weights, then one child per backend."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ..audio import AudioClip
from ..backends import all_backends, get_backend
from ..backends.base import Backend, LoadOptions
from ..dataset.entries import DatasetSelection
from ..interrupts import signal_number
from ..results import SKIPPED, BackendResult, BenchmarkRun, ClipInfo, DecodeSettings
from . import provenance
from .plan import BackendPlan, PlanningInterrupted, plan_backend
from .ray_driver import RaySettings
from .rows import failed_row
from .runner import ProgressCallback, run_backend

__all__ = ["BenchmarkInterrupted", "BenchmarkRequest", "PlanningInterrupted", "run_benchmark", "select_backends"]


def select_backends(names: Sequence[str] | None) -> tuple[type[Backend], ...]:
    """The named backends (unknown names raise; one class once however it is named), or every registered one."""
    if names:
        return tuple(dict.fromkeys(get_backend(name) for name in names))
    return tuple(sorted(all_backends().values(), key=lambda cls: cls.name))


def clip_infos(clips: Sequence[AudioClip]) -> tuple[ClipInfo, ...]:
    return tuple(
        ClipInfo(c.name, c.path, round(c.duration_s, 3), c.reference, c.original_sample_rate, c.original_channels)
        for c in clips
    )


def dataset_clip_infos(selection: DatasetSelection | None) -> tuple[ClipInfo, ...]:
    if selection is None:
        return ()
    return tuple(ClipInfo(e.name, e.path, round(e.duration_s, 3), e.reference, 0, 0) for e in selection.entries)


@dataclass(frozen=True)
class BenchmarkRequest:
    """One benchmark, checked: names already resolved, backends already chosen. The audio is added last,
    with :meth:`with_clips` (dataset mode reads its clips in the child instead)."""

    model: str  # a canonical catalog name (``catalog.resolve`` already applied)
    backends: tuple[type[Backend], ...]
    settings: DecodeSettings
    load_options: LoadOptions
    clips: tuple[AudioClip, ...] = ()
    quantizations: tuple[str | None, ...] = (None,)
    dataset: DatasetSelection | None = None
    batch_size: int = 1
    synthetic: bool = False
    price_per_hour: float | None = None  # the machine's cost per hour, for a cost per audio hour
    ray: RaySettings | None = None  # dataset mode on Ray Data instead of one child process
    weights: str = "same"  # same: our shared copy for every backend; native: each backend's usual download

    @classmethod
    def named(cls, model: str, backends: Sequence[str] | None, settings: DecodeSettings, load_options: LoadOptions,
              **fields) -> BenchmarkRequest:
        """A request from names, for scripts: ``model`` may be an alias, ``backends`` None means every registered one."""
        from ..models import catalog

        return cls(catalog.resolve(model), select_backends(backends), settings, load_options, **fields)

    def with_clips(self, clips: Sequence[AudioClip]) -> BenchmarkRequest:
        return replace(self, clips=tuple(clips))


def run_benchmark(
    request: BenchmarkRequest,
    *,
    on_plan: Callable[[list[BackendPlan]], None] = lambda plans: None,
    on_progress: ProgressCallback = lambda *_: None,
    on_row: Callable[[BackendResult], None] = lambda row: None,
    on_note: Callable[[str], None] = lambda text: None,
) -> BenchmarkRun:
    """Run every planned backend; Ctrl-C keeps the rows finished so far and marks the rest."""
    plans = [
        plan_backend(cls, request.model, replace(request.load_options, quantization=quant), on_note, request.synthetic,
                     request.weights)
        for cls in request.backends
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
        rows.append(row)
        on_row(row)
    packages = [dist for cls in request.backends for dist in cls.requires]
    run = BenchmarkRun(
        run_id=uuid.uuid4().hex[:12],
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        provenance=provenance.collect(packages),
        settings=request.settings,
        clips=clip_infos(request.clips) + dataset_clip_infos(request.dataset),
        results=tuple(rows),
        interrupted=stopped_by is not None,
        price_per_hour=request.price_per_hour,
    )
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

