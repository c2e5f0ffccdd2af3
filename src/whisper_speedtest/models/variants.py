"""Quantized variants of a model, made once from the same source weights and kept in the store.

``float16`` is the unquantized baseline. ``int8``/``int4`` map to each format's own scheme (its
store dtypes are the format registry's ``stored_variants``):
ggml q8_0/q4_0 written by our converter, MLX affine quantization (``nn.quantize``), each made by its
format's ``quantize`` hook in the registry. Formats whose
library quantizes at load time (CTranslate2 compute types, torch dynamic int8) use the baseline
weights, and the backend applies the quantization. The exports (onnx, openvino) keep int8 as
their own store entries: ONNX Runtime dynamic int8 and OpenVINO int8 weight compression (NNCF);
they carry the fingerprint of the tensors before export, like the load-time variants.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BadOption, QuantizationUnavailable
from . import catalog, sources, store
from .ref import ModelRef
from .formats import registry as formats

QUANTIZATIONS = ("float16", "int8", "int4")


def check_quantization(value: str | None) -> str | None:
    if value is None or value in QUANTIZATIONS:
        return value
    raise BadOption(f"unknown quantization {value!r}; choose from {', '.join(QUANTIZATIONS)}")


def store_dtype(fmt: str, quantization: str) -> str | None:
    """The dtype of ``fmt``'s ``quantization`` variant in the store, or None when the format keeps none."""
    return formats.get(fmt).variant_dtype(quantization) if formats.known(fmt) else None


def locate_variant(name: str, fmt: str, quantization: str | None, on_note: sources.NoteCallback = None):
    """A ModelRef for the quantized variant, creating it in the store on first use (and again
    when the stored one is corrupt, see :func:`sources.checked_entry`)."""

    known = formats.FORMATS.get(fmt)
    if quantization in (None, "float16") or (known is not None and known.load_time_quantization):
        return sources.locate(name, fmt, on_note=on_note)
    name = catalog.resolve(name)
    dtype = store_dtype(fmt, quantization)
    if dtype is None:
        raise QuantizationUnavailable(f"no {quantization} variant for the {fmt} format")
    if known.exported:
        entry = sources.export_entry(name, fmt, dtype, on_note)
        return ModelRef(name, fmt, str(entry.payload), entry.dtype, entry.fingerprint, entry.source)

    def make() -> store.StoreEntry:
        return _make_variant(name, known, quantization, dtype, on_note)

    entry = store.find(name, fmt, dtype)
    if entry is None:
        entry = make()
    else:
        entry = sources.checked_entry(entry, lambda: sources.Rebuild(f"quantizing it again ({quantization})", make), on_note)
    return ModelRef(name, fmt, str(entry.payload), dtype, entry.fingerprint, entry.source)


def _make_variant(name: str, fmt: formats.Format, quantization: str, dtype: str,
                  on_note: sources.NoteCallback) -> store.StoreEntry:
    """Quantize with the format's own ``quantize`` hook, from the CTranslate2 source or the unquantized copy."""
    if fmt.quantize is None:
        raise QuantizationUnavailable(f"no {quantization} variant for the {fmt.name} format")
    if fmt.quantize_from == "ct2":
        source = sources.ct2_source(name)
        if source is None:
            raise QuantizationUnavailable(f"no CTranslate2 source for {name} to quantize from")
        origin, label = source.path, source.source
    else:
        base = sources.locate(name, fmt.name, on_note=on_note)
        origin, label = Path(base.path), base.source
    described = quantization if dtype == quantization else f"{quantization} ({dtype})"

    def build(staging: Path) -> str | None:
        try:
            return fmt.quantize(origin, dtype, staging / fmt.store_payload)
        except NotImplementedError as exc:
            raise QuantizationUnavailable(str(exc)) from None

    return store.add(name, fmt.name, dtype, source=f"{described} from {label}", build=build)
