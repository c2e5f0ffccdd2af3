"""Convert a CTranslate2 Whisper model into any backend's format, writing the result atomically."""

from __future__ import annotations

import os
from pathlib import Path

from ...atomic import staged
from ...errors import BadOption
from . import registry
from .ct2 import resolve_model_bin
from .conversion_source import ConversionSource

# Kept for callers that import these names; the registry is where they come from.
FORMATS = registry.convertible()
EXPORTED_FORMATS = registry.exported()


def convert(
    ct2_path: str | os.PathLike,
    fmt: str,
    out_path: str | os.PathLike,
    *,
    english_only: bool | None = None,
    ggml_dtype: str = "f16",
) -> Path:
    """Convert the CTranslate2 model at ``ct2_path`` (dir or model.bin) to ``fmt`` at ``out_path``.

    The output is built next to ``out_path`` and moved into place only when complete, replacing
    any previous output. ``english_only`` defaults to what the vocabulary size says and is
    checked against it when given. ``ggml_dtype`` is the whisper.cpp weight type: f16, f32, q8_0 or q4_0
    (others raise NotImplementedError).
    """
    target = registry.FORMATS.get(fmt)
    if target is None or not target.convertible:
        raise BadOption(f"unknown model format {fmt!r}; choose from {', '.join(FORMATS)}")
    source = ConversionSource(resolve_model_bin(ct2_path), english_only, ggml_dtype)
    out_path = Path(out_path)
    with staged(out_path, folder=not target.single_file) as tmp:
        target.write(source, tmp)
    return out_path


def export(hf_dir: str | os.PathLike, fmt: str, out_dir: str | os.PathLike, *, int8: bool = False) -> Path:
    """Export a transformers Whisper directory to ``fmt`` (onnx, openvino) with optimum, atomically.

    ``int8``: OpenVINO int8 weight compression (NNCF); ONNX int8 is quantized from the float32
    export instead (:func:`.onnx.quantize_onnx_int8`).
    """
    target = registry.FORMATS.get(fmt)
    if target is None or not target.exported:
        raise BadOption(f"{fmt!r} is not an exported format; choose from {', '.join(EXPORTED_FORMATS)}")
    if int8 and not target.exports_int8:
        raise NotImplementedError(f"{fmt} int8 is not made by the exporter")
    out_dir = Path(out_dir)
    with staged(out_dir, folder=True) as tmp:
        target.export(hf_dir, tmp, **({"int8": True} if int8 else {}))
    return out_dir
