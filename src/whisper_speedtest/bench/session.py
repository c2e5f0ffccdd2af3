"""Plans and runs a whole benchmark: which backends, which weights, then one child per backend."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ..audio import AudioClip
from ..dataset.entries import DatasetSelection
from ..backends import all_backends, get_backend
from ..backends.base import Backend, LoadOptions
from ..backends.base import ModelRef
from ..backends.loader import VariantPlan, plan_native, plan_variant
from ..errors import CorruptWeights, UserError
from ..interrupts import signal_number
from ..models import catalog, sources
from ..results import FAILED, SKIPPED, BackendResult, BenchmarkRun, ClipInfo, DecodeSettings
from . import provenance
from .ray_driver import RaySettings
from .runner import BackendPlan, ProgressCallback, failed_row, run_backend


def select_backends(names: Sequence[str] | None) -> list[type[Backend]]:
    """The named backends (unknown names raise), or every registered one."""
    if names:
        seen: dict[str, type[Backend]] = {}
        for name in names:
            cls = get_backend(name)
            seen.setdefault(cls.name, cls)
        return list(seen.values())
    return sorted(all_backends().values(), key=lambda cls: cls.name)


def plan_backend(
    cls: type[Backend], model_name: str, load_options: LoadOptions, on_note: Callable[[str], None], synthetic: bool = False
) -> BackendPlan:
    """Check availability and locate weights; problems become a skip reason, not an exception."""
    availability = cls.available()
    if not availability.ok:
        return BackendPlan(cls, None, load_options, availability.reason)
    if synthetic:
        if not cls.supports_synthetic:
            return BackendPlan(cls, None, load_options, "no --synthetic-weights support in this backend")
        ref = ModelRef(model_name, cls.model_format, None, "float16", None, "synthetic (random weights)", synthetic=True)
        return BackendPlan(cls, VariantPlan("default", ref, ref), load_options)
    activity = f"locating {model_name} weights for {cls.display_name}"
    try:
        if load_options.weights == "native":
            from ..models.hub_remote import offline_setting

            activity = f"locating {model_name} native weights for {cls.display_name}"
            variant = plan_native(cls, model_name, may_fetch=offline_setting() is None, fallback=load_options.fallback)
            return BackendPlan(cls, variant, load_options)
        if sources.needs_conversion(model_name, cls.model_format):
            activity = f"converting {model_name} to {cls.model_format} for {cls.display_name}"
            on_note(f"{activity} (once; kept in the store)")
        variant = plan_variant(cls, model_name, load_options.quantization, fallback=load_options.fallback, on_note=on_note)
    except CorruptWeights as exc:
        return BackendPlan(cls, None, load_options, str(exc), skip_status=FAILED)
    except UserError as exc:
        return BackendPlan(cls, None, load_options, str(exc))
    except KeyboardInterrupt as exc:
        raise PlanningInterrupted(activity, signal_number(exc)) from None
    return BackendPlan(cls, variant, load_options)


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
    model: str
    backends: tuple[str, ...] | None
    clips: tuple[AudioClip, ...]
    settings: DecodeSettings
    load_options: LoadOptions
    quantizations: tuple[str | None, ...] = (None,)
    dataset: DatasetSelection | None = None
    batch_size: int = 1
    synthetic: bool = False
    price_per_hour: float | None = None  # the machine's cost per hour, for a cost per audio hour
    ray: RaySettings | None = None  # dataset mode on Ray Data instead of one child process


def run_benchmark(
    request: BenchmarkRequest,
    *,
    on_plan: Callable[[list[BackendPlan]], None] = lambda plans: None,
    on_progress: ProgressCallback = lambda *_: None,
    on_row: Callable[[BackendResult], None] = lambda row: None,
    on_note: Callable[[str], None] = lambda text: None,
) -> BenchmarkRun:
    """Run every planned backend; Ctrl-C keeps the rows finished so far and marks the rest."""
    model_name = catalog.resolve(request.model)
    classes = select_backends(request.backends)
    plans = [
        plan_backend(cls, model_name, replace(request.load_options, quantization=quant), on_note, request.synthetic)
        for cls in classes
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
            row = run_backend(plan, request.clips, request.settings, on_progress, request.dataset, request.batch_size, request.ray)
        except KeyboardInterrupt as exc:
            stopped_by = signal_number(exc)
            row = failed_row(plan, SKIPPED, INTERRUPTED_REASON)
        rows.append(row)
        on_row(row)
    packages = [dist for cls in classes for dist in cls.requires]
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


class PlanningInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) before any backend ran, while weights were located or converted."""

    def __init__(self, activity: str, signum: int) -> None:
        super().__init__(activity)
        self.activity = activity
        self.signum = signum
