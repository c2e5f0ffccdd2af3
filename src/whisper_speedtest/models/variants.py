"""Quantized variants of a model, made once from the same source weights and kept in the store.

``float16`` is the unquantized baseline. ``int8``/``int4`` map to each format's own scheme (its
store dtypes are the format registry's ``stored_variants``):
ggml q8_0/q4_0 written by our converter, MLX affine quantization (``nn.quantize``). Formats whose
library quantizes at load time (CTranslate2 compute types, torch dynamic int8) use the baseline
weights, and the backend applies the quantization. The exports (onnx, openvino) keep int8 as
their own store entries: ONNX Runtime dynamic int8 and OpenVINO int8 weight compression (NNCF);
they carry the fingerprint of the tensors before export, like the load-time variants.
"""

from __future__ import annotations

import json
import shutil
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
        return _make_variant(name, fmt, quantization, dtype, sources.locate(name, fmt, on_note=on_note))

    entry = store.find(name, fmt, dtype)
    if entry is None:
        entry = make()
    else:
        entry = sources.checked_entry(entry, lambda: sources.Rebuild(f"quantizing it again ({quantization})", make), on_note)
    return ModelRef(name, fmt, str(entry.payload), dtype, entry.fingerprint, entry.source)


def _make_variant(name: str, fmt: str, quantization: str, dtype: str, base) -> store.StoreEntry:
    source = sources.ct2_source(name)
    if fmt == "ggml":
        if source is None:
            raise QuantizationUnavailable(f"no CTranslate2 source for {name} to quantize from")
        return _ggml_variant(name, dtype, source)
    return _mlx_variant(name, dtype, int(dtype.removeprefix("int")), base)


def _ggml_variant(name: str, ggml_type: str, source: sources.Ct2Source) -> store.StoreEntry:
    """The quantized file's fingerprint is of its own (dequantized) tensors: they are not the source's."""
    from .formats.canonical import fingerprint
    from .formats.convert import convert
    from .formats.ggml import read_ggml

    def build(staging: Path) -> str:
        out = staging / formats.get("ggml").store_payload
        try:
            convert(source.path, "ggml", out, ggml_dtype=ggml_type)
        except NotImplementedError as exc:
            raise QuantizationUnavailable(str(exc)) from None
        return fingerprint(read_ggml(out).tensors)

    return store.add(name, "ggml", ggml_type, source=f"{ggml_type} from {source.source}", build=build)


def _mlx_variant(name: str, dtype: str, bits: int, base) -> store.StoreEntry:
    """Affine-quantize our converted MLX weights (group size 64), in the layout mlx-whisper loads."""

    def build(staging: Path) -> str | None:
        import mlx.core as mx
        import mlx.nn as nn
        from mlx.utils import tree_flatten
        from mlx_whisper.load_models import load_model

        model = load_model(base.path, dtype=mx.float16)
        nn.quantize(model, group_size=64, bits=bits)
        weights = staging / "weights"
        weights.mkdir()
        mx.save_safetensors(str(weights / "weights.safetensors"), dict(tree_flatten(model.parameters())))
        config = json.loads((Path(base.path) / "config.json").read_text())
        config["quantization"] = {"group_size": 64, "bits": bits}
        (weights / "config.json").write_text(json.dumps(config, indent=2))
        for extra in Path(base.path).iterdir():
            if extra.name not in ("config.json", "weights.safetensors", "weights.npz"):
                shutil.copy2(extra, weights / extra.name)
        return None  # quantized MLX tensors have no canonical reader here: not the base's fingerprint

    return store.add(name, "mlx", dtype, source=f"{bits}-bit from {base.source}", build=build)
