"""Which weights each backend will run, or why it cannot run: decided in this process, before any child starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..backends.base import Backend, LoadOptions, ModelRef
from ..backends.loader import VariantPlan, plan_native, plan_variant
from ..errors import CorruptWeights, QuantizationUnavailable, UserError, os_error_line
from ..interrupts import signal_number
from ..models import sources
from ..models.locations import Scan
from ..models.weights_mode import WeightsMode
from ..results import FAILED, SKIPPED


@dataclass(frozen=True)
class BackendPlan:
    """One backend to run, with its located weights, or the reason it cannot run."""

    backend: type[Backend]
    variant: VariantPlan | None
    load_options: LoadOptions
    skip_reason: str | None = None
    skip_status: str = SKIPPED  # FAILED when the weights are there but must not run (corrupt)
    weights: WeightsMode = WeightsMode.SAME
    python: str | None = None  # a managed environment's interpreter for the child (bench.managed), None: this one
    version: str | None = None  # the pinned version of the backend's library (-b faster-whisper==1.1.1)
    environment: str = ""  # the managed environment's folder name, "" for this one

    @property
    def row_name(self) -> str:
        """The row's backend name: with a pinned version, ``name==version``."""
        return self.backend.name + (f"=={self.version}" if self.version else "")

    @property
    def model(self) -> ModelRef | None:
        if self.variant is None:
            return None
        return self.variant.model or self.variant.fallback_model

    @property
    def row_display_name(self) -> str:
        return self.backend.display_name + (f"=={self.version}" if self.version else "")

    @property
    def label(self) -> str:
        return self.row_name + (f"@{self.variant_label}" if self.variant_label != "default" else "")

    @property
    def variant_label(self) -> str:
        """The row's variant: the quantization asked for, native weights, or "default"."""
        return self.load_options.quantization or (WeightsMode.NATIVE.value if self.weights == WeightsMode.NATIVE else "default")

    @property
    def requested(self) -> dict[str, object]:
        """The load settings asked for, as the row records them."""
        opts = self.load_options
        return {"device": opts.device, "quantization": opts.quantization, "threads": opts.threads}


def plan_backend(
    cls: type[Backend], model_name: str, load_options: LoadOptions, on_note: Callable[[str], None], synthetic: bool = False,
    weights: WeightsMode = WeightsMode.SAME, scan: Scan | None = None,
) -> BackendPlan:
    """Check availability and locate weights (``weights``: same or native); problems become a skip reason, not an exception.

    ``scan`` is the run's one look at the caches, shared by every backend it plans (a fresh one when None)."""
    availability = cls.available()
    if not availability.ok:
        return BackendPlan(cls, None, load_options, availability.reason, weights=weights)
    if synthetic:
        if not cls.supports_synthetic:
            return BackendPlan(cls, None, load_options, "no --synthetic-weights support in this backend", weights=weights)
        ref = ModelRef(model_name, cls.model_format, None, "float16", None, "synthetic (random weights)", synthetic=True)
        return BackendPlan(cls, VariantPlan("default", ref, ref), load_options, weights=weights)
    activity = f"locating {model_name} weights for {cls.display_name}"
    try:
        if weights == WeightsMode.NATIVE:
            from ..models.hub_remote import offline_reason

            activity = f"locating {model_name} native weights for {cls.display_name}"
            variant = plan_native(cls, model_name, may_fetch=offline_reason() is None, fallback=load_options.fallback,
                                  quantization=load_options.quantization)
        else:
            if sources.needs_conversion(model_name, cls.model_format, scan=scan):
                activity = f"converting {model_name} to {cls.model_format} for {cls.display_name}"
                on_note(f"{activity} (once; kept in the store)")
            variant = plan_variant(cls, model_name, load_options.quantization, fallback=load_options.fallback, on_note=on_note,
                                   scan=scan)
    except CorruptWeights as exc:
        return BackendPlan(cls, None, load_options, str(exc), skip_status=FAILED, weights=weights)
    except QuantizationUnavailable as exc:  # --no-fallback: the variant asked for cannot run, so its row fails
        return BackendPlan(cls, None, load_options, str(exc), skip_status=FAILED, weights=weights)
    except UserError as exc:
        return BackendPlan(cls, None, load_options, str(exc), weights=weights)
    except KeyboardInterrupt as exc:
        raise PlanningInterrupted(activity, signal_number(exc)) from None
    except OSError as exc:  # the store is full or read-only: this backend's row fails, the others still run
        return BackendPlan(cls, None, load_options, store_problem(exc, activity), skip_status=FAILED, weights=weights)
    return BackendPlan(cls, variant, load_options, weights=weights)


def store_problem(exc: OSError, activity: str) -> str:
    """An ``OSError`` met while weights were located or converted, as a row's one-line reason."""
    line = os_error_line(exc)
    cut = line.find(" (")
    return f"{line} while {activity}" if cut < 0 else f"{line[:cut]} while {activity}{line[cut:]}"


class PlanningInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) before any backend ran, while weights were located or converted."""

    def __init__(self, activity: str, signum: int) -> None:
        super().__init__(activity)
        self.activity = activity
        self.signum = signum
