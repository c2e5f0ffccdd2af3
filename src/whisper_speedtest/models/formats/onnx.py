"""ONNX Runtime layout: optimum's export of our Hugging Face weights (encoder + decoders as ``.onnx``).

- :func:`export_onnx` runs optimum-onnx's exporter (``ORTModelForSpeechSeq2Seq`` with
  ``export=True``) on a transformers directory and saves the models beside the processor files;
- :func:`quantize_onnx_int8` applies ONNX Runtime's dynamic int8 quantization to every model
  of an export (int8 weights of MatMul/Gemm, activations quantized per call);
- :func:`check_onnx` is the cheap structural check: the file must be one complete ``ModelProto``
  (every top-level protobuf field ends inside the file, the last one exactly at its end).

optimum, onnxruntime and torch are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
import os
import shutil
import warnings
from contextlib import contextmanager
from pathlib import Path

from ...errors import ModelNotAvailable

ENCODER = "encoder_model.onnx"
DECODERS = ("decoder_model_merged.onnx", "decoder_model.onnx")  # merged (with/without past) or plain
# ModelProto fields that must be present: ir_version (1), graph (7).
_REQUIRED_FIELDS = {1: "ir_version", 7: "graph"}
_QUANTIZED_OPS = ("MatMul", "Gemm")
_EXPORTER_LOGGERS = ("optimum", "nncf", "openvino")  # their notes on what the exporter did: kept below ERROR


def require_optimum(extra: str) -> None:
    """Exports need optimum: a one-line error naming the extra where it is missing."""
    import importlib.util

    if importlib.util.find_spec("optimum") is None:
        raise ModelNotAvailable(f"exporting to {extra} needs optimum: pip install 'whisper-speedtest[{extra}]'")


@contextmanager
def quiet_export():
    """optimum's exporters trace the model with torch.jit: its TracerWarnings and transformers' deprecation notes
    concern the exporter's internals, not the user's run, and filled the benchmark's screen. Errors still raise."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    loggers = [logging.getLogger(name) for name in _EXPORTER_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def copy_processor_files(hf_dir: Path, out_dir: Path, weights_file: str) -> None:
    """Tokenizer, feature extractor, config and generation config of ``hf_dir`` (all but its weights)."""
    for item in sorted(hf_dir.iterdir()):
        if item.is_file() and item.name != weights_file and not (out_dir / item.name).exists():
            shutil.copy2(item, out_dir / item.name)


def export_onnx(hf_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Export the transformers Whisper model in ``hf_dir`` to ONNX in ``out_dir`` (float32)."""
    require_optimum("onnx")
    from optimum.onnxruntime import ORTModelForSpeechSeq2Seq

    from .hf import WEIGHTS_FILE

    hf_dir, out_dir = Path(hf_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with quiet_export():
        model = ORTModelForSpeechSeq2Seq.from_pretrained(hf_dir, export=True, provider="CPUExecutionProvider")
        model.save_pretrained(out_dir)
    del model
    copy_processor_files(hf_dir, out_dir, WEIGHTS_FILE)
    return out_dir


def quantize_onnx_int8(fp32_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Dynamic int8 (``onnxruntime.quantization.quantize_dynamic``) of every model in an export."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32_dir, out_dir = Path(fp32_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for item in sorted(fp32_dir.iterdir()):
        if item.suffix == ".onnx":
            quantize_dynamic(item, out_dir / item.name, weight_type=QuantType.QInt8,
                             op_types_to_quantize=list(_QUANTIZED_OPS))
        elif item.is_file() and not item.name.endswith(".onnx_data"):
            shutil.copy2(item, out_dir / item.name)
    return out_dir


def _varint(handle, limit: int) -> int | None:
    """A protobuf varint at the handle's position, or None if the file ends inside it."""
    value, shift = 0, 0
    while handle.tell() < limit:
        byte = handle.read(1)[0]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7
        if shift > 63:
            return None
    return None


def check_onnx(path: Path) -> str | None:
    """The first problem of an ``.onnx`` file as a ModelProto, or None (nothing is decoded but the framing)."""
    size = path.stat().st_size
    seen: set[int] = set()
    with open(path, "rb") as handle:
        while handle.tell() < size:
            start = handle.tell()
            tag = _varint(handle, size)
            if tag is None:
                return f"truncated: the file ends inside a field tag at byte {start}"
            field, wire = tag >> 3, tag & 7
            if wire == 0:
                if _varint(handle, size) is None:
                    return f"truncated: field {field} ends past the end of the file"
            elif wire in (1, 5):
                handle.seek(8 if wire == 1 else 4, os.SEEK_CUR)
            elif wire == 2:
                length = _varint(handle, size)
                if length is None or handle.tell() + length > size:
                    declared = "?" if length is None else handle.tell() + length
                    return f"truncated: field {field} runs to byte {declared}, the file has {size} bytes"
                handle.seek(length, os.SEEK_CUR)
            else:
                return f"not an ONNX model: wire type {wire} at byte {start}"
            if field == 0 or handle.tell() > size:
                return f"not an ONNX model: bad field at byte {start}"
            seen.add(field)
    missing = [name for number, name in _REQUIRED_FIELDS.items() if number not in seen]
    return f"not an ONNX model: no {' or '.join(missing)}" if missing else None
