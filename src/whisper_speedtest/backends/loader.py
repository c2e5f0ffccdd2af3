"""Loading a requested variant, with a fallback to float16 that always says so."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ..errors import CorruptWeights, QuantizationUnavailable, UserError
from ..models import sources, variants
from ..models.locations import Scan
from ..models.ref import ModelRef
from ..models.weights_mode import WeightsMode
from .base import Backend, LoadOptions, LoadResult


@dataclass(frozen=True)
class VariantPlan:
    """The weights to try first, the float16 weights to fall back to, and why a variant is missing."""

    requested: str
    model: ModelRef | None
    fallback_model: ModelRef
    unavailable_reason: str = ""


def plan_variant(
    backend: type[Backend], name: str, quantization: str | None, *, fallback: bool = True,
    on_note: Callable[[str], None] | None = None, scan: Scan | None = None,
) -> VariantPlan:
    """Locate (or create) the variant's weights; without ``fallback`` a missing variant raises.
    ``scan``: the run's one look at the caches, shared by every backend (a fresh one when None).

    Notes (a corrupt store entry made again, say) go to ``on_note``; corrupt weights that cannot
    be made again raise :class:`~whisper_speedtest.errors.CorruptWeights`, whatever ``fallback`` says.
    """
    requested = quantization or "default"
    own = backend.locate_model(name)
    if own is not None:  # a backend that brings its own model has no store variants
        if quantization in (None, "float16"):
            return VariantPlan(requested, own, own)
        reason = f"{backend.display_name} has no {quantization} variant"
        if not fallback:
            raise QuantizationUnavailable(reason)
        return VariantPlan(requested, None, own, reason)
    base = sources.locate(name, backend.model_format, on_note=on_note, scan=scan)
    if quantization in (None, "float16"):
        return VariantPlan(requested, base, base)
    if quantization not in backend.quantizations:
        reason = f"{backend.display_name} has no {quantization} variant"
    else:
        try:
            return VariantPlan(requested, variants.locate_variant(name, backend.model_format, quantization, on_note), base)
        except CorruptWeights:
            raise
        except (UserError, NotImplementedError, OSError) as exc:
            reason = f"{quantization} variant unavailable: {exc}"
    if not fallback:
        raise QuantizationUnavailable(reason)
    return VariantPlan(requested, None, base, reason)


def plan_native(
    backend: type[Backend], name: str, *, may_fetch: bool, fallback: bool = True, quantization: str | None = None,
) -> VariantPlan:
    """``--weights native``: the weights the backend's users usually download, in the catalog's order
    (mlx: the pre-quantized community repo, then the plain one; with ``quantization`` (``--quant``), that
    variant's repo, and the row is named by it).

    The first copy found (fetched when missing and ``may_fetch``) runs; a first choice that is missing
    or cannot be fetched leaves its reason for the row. A later choice already cached stands by in
    case the first fails to load; none at all raises :class:`ModelNotAvailable` with every reason.
    """
    from ..errors import ModelNotAvailable
    from ..models import catalog, native

    requested = quantization or WeightsMode.NATIVE.value
    own = backend.locate_model(name)
    if own is not None:  # a backend with its own model has nothing else to load
        return VariantPlan(requested, own, own)

    canonical = catalog.resolve(name)

    def ref(copy: native.NativeCopy) -> ModelRef:
        return ModelRef(canonical, backend.model_format, copy.path, copy.dtype, copy.fingerprint, copy.source)

    locations = catalog.native_locations(backend.model_format, name, quantization)
    reasons = []
    for index, location in enumerate(locations):
        try:
            chosen = ref(native.locate(location, backend.model_format, may_fetch=may_fetch))
        except ModelNotAvailable as exc:
            reasons.append(str(exc))
            continue
        if reasons:  # the first choice is missing: the fallback runs, and the row says why
            if not fallback:
                raise QuantizationUnavailable(reasons[0])
            return VariantPlan(requested, None, chosen, "; ".join(reasons))
        standby = chosen
        for later in locations[index + 1:]:
            try:
                standby = ref(native.locate(later, backend.model_format, may_fetch=False))
                break
            except ModelNotAvailable:
                continue
        return VariantPlan(requested, chosen, standby)
    raise ModelNotAvailable(f"no native weights for {backend.display_name}: {'; '.join(reasons)}")


def load_with_fallback(backend: Backend, plan: VariantPlan, options: LoadOptions) -> LoadResult:
    """Load ``plan.model``; if it is missing or fails and fallback is allowed, load float16 instead."""
    reason = plan.unavailable_reason
    # A fallback exists for a quantized variant, and whenever the plan names other weights to fall back to.
    wants_variant = options.quantization not in (None, "float16") or plan.model != plan.fallback_model
    if plan.model is not None:
        try:
            return backend.load(plan.model, options)
        except QuantizationUnavailable as exc:  # the library cannot apply it while loading
            reason = str(exc)
        except Exception as exc:
            if not wants_variant:
                raise  # nothing to fall back to
            reason = f"{plan.requested} failed to load: {' '.join(str(exc).split())[:200]}"
        backend.close()
    if not options.fallback:
        raise QuantizationUnavailable(reason)
    result = backend.load(plan.fallback_model, replace(options, quantization=None))
    return replace(result, requested=plan.requested, did_fallback=True, detail=reason)
