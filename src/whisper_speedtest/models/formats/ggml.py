"""whisper.cpp's legacy ggml model file (``ggml-*.bin``), written and read with numpy.

Layout, as ``whisper_model_load`` in whisper.cpp reads it (all little-endian int32 unless noted)::

    magic 0x67676d6c, then n_vocab n_audio_ctx n_audio_state n_audio_head n_audio_layer
    n_text_ctx n_text_state n_text_head n_text_layer n_mels ftype
    mel filters: n_mel, n_fft, then n_mel*n_fft float32
    vocab: count, then per token: byte length, bytes (specials are synthesized by whisper.cpp)
    tensors until EOF: n_dims, name length, type, ne[n_dims] (reversed shape), name, data

whisper.cpp fixes each tensor's type: 2-D weights use the file's weight type (f16 or a
quantized type), conv kernels f16, and biases, norms and position embeddings f32.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...errors import ModelFormatError
from .dims import Dims
from .binary import Cursor, map_file, problem_of
from .canonical import Weights, expected_shapes, to_canonical_dtype, validate
from .tokenizer import bpe_token_bytes, load_tokenizer_json

MAGIC = 0x67676D6C  # "ggml"
SAMPLE_RATE, N_FFT = 16000, 400
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8  # ggml_type ids
_QNT_VERSION, _QNT_FACTOR = 2, 1000  # GGML_QNT_VERSION, GGML_QNT_VERSION_FACTOR
# File weight type -> (header ftype, ggml_type of the 2-D weights). Quantized ftypes carry the
# quantization version, as whisper.cpp's quantize tool writes them.
DTYPES = {
    "f32": (0, GGML_F32),
    "f16": (1, GGML_F16),
    "q8_0": (_QNT_VERSION * _QNT_FACTOR + 7, GGML_Q8_0),
    "q4_0": (_QNT_VERSION * _QNT_FACTOR + 2, GGML_Q4_0),
}
_ALWAYS_F32 = {"encoder.conv1.bias", "encoder.conv2.bias", "encoder.positional_embedding",
               "decoder.positional_embedding"}
_Q8_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "i1", (32,))])
_Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_NUMPY = {GGML_F32: np.dtype("<f4"), GGML_F16: np.dtype("<f2")}


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


def mel_filters(n_mels: int, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """Slaney-style, area-normalized triangular mel filterbank ``[n_mels, n_fft // 2 + 1]`` (float32).

    The same filters Whisper ships in ``mel_filters.npz`` (librosa's defaults).
    """
    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2), n_mels + 2))
    widths = np.diff(edges_hz)
    rising = (fft_hz[None, :] - edges_hz[:-2, None]) / widths[:-1, None]
    falling = (edges_hz[2:, None] - fft_hz[None, :]) / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.astype(np.float32)


def quantize_q8_0(values: np.ndarray) -> bytes:
    """ggml Q8_0: blocks of 32 values as one float16 scale (amax/127) and 32 int8."""
    flat = np.asarray(values, dtype=np.float32).reshape(-1, 32)
    amax = np.abs(flat).max(axis=1)
    scale = amax / 127.0
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
    scaled = flat * inverse[:, None]
    blocks = np.empty(flat.shape[0], dtype=_Q8_0_BLOCK)
    blocks["d"] = scale.astype(np.float16)
    blocks["qs"] = np.trunc(scaled + np.copysign(0.5, scaled)).astype(np.int8)  # C roundf: half away from 0
    return blocks.tobytes()


def dequantize_q8_0(raw: bytes | memoryview, n_values: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=_Q8_0_BLOCK, count=n_values // 32)
    return (blocks["qs"].astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def quantize_q4_0(values: np.ndarray) -> bytes:
    """ggml Q4_0: blocks of 32 values as a float16 scale (signed max / -8) and 32 4-bit codes.

    Code j of a block sits in the low nibble of byte j, code j + 16 in its high nibble.
    """
    flat = np.asarray(values, dtype=np.float32).reshape(-1, 32)
    signed_max = np.take_along_axis(flat, np.abs(flat).argmax(axis=1)[:, None], axis=1)[:, 0]
    scale = signed_max / -8.0
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale != 0)
    codes = np.minimum(15, np.trunc(flat * inverse[:, None] + 8.5)).astype(np.uint8)
    blocks = np.empty(flat.shape[0], dtype=_Q4_0_BLOCK)
    blocks["d"] = scale.astype(np.float16)
    blocks["qs"] = codes[:, :16] | (codes[:, 16:] << 4)
    return blocks.tobytes()


def dequantize_q4_0(raw: bytes | memoryview, n_values: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=_Q4_0_BLOCK, count=n_values // 32)
    codes = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.float32) - 8.0
    return (codes * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


# ggml_type -> (block layout, quantize, dequantize) for the block-quantized types.
_QUANTIZED = {
    GGML_Q8_0: (_Q8_0_BLOCK, quantize_q8_0, dequantize_q8_0),
    GGML_Q4_0: (_Q4_0_BLOCK, quantize_q4_0, dequantize_q4_0),
}


def _tensor_type(name: str, ndim: int, weight_type: int) -> int:
    if weight_type == GGML_F32 or ndim < 2 or name in _ALWAYS_F32:
        return GGML_F32
    if ndim == 3:  # conv kernels stay f16 even in quantized files
        return GGML_F16
    return weight_type


def _encode(name: str, values: np.ndarray, tensor_type: int) -> bytes:
    if tensor_type in _QUANTIZED:
        if values.shape[-1] % 32:
            raise ModelFormatError(f"{name}: rows of {values.shape[-1]} values cannot be split in blocks of 32")
        return _QUANTIZED[tensor_type][1](values)
    return np.ascontiguousarray(values, dtype=_NUMPY[tensor_type]).tobytes()


_HPARAMS = ("n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
            "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels")  # file order


def _hparams(dims: Dims, ftype: int) -> bytes:
    return struct.pack("<I11i", MAGIC, *(getattr(dims, field) for field in _HPARAMS), ftype)


def write_ggml(
    tensors: Mapping[str, np.ndarray],
    dims: Dims,
    *,
    tokenizer_json: str | os.PathLike,
    out_path: str | os.PathLike,
    dtype: str = "f16",
) -> Path:
    """Write a whisper.cpp model; ``dtype`` is the weight type: ``f16`` (default), ``f32``, ``q8_0`` or ``q4_0``."""
    if dtype not in DTYPES:
        raise NotImplementedError(f"ggml weight type {dtype!r} is not supported; choose from {', '.join(DTYPES)}")
    validate(tensors, dims)
    ftype, weight_type = DTYPES[dtype]
    vocab = bpe_token_bytes(load_tokenizer_json(tokenizer_json))
    filters = mel_filters(dims.n_mels)
    out_path = Path(out_path)
    with open(out_path, "wb") as out:
        out.write(_hparams(dims, ftype))
        out.write(struct.pack("<2i", *filters.shape) + filters.astype("<f4").tobytes())
        out.write(struct.pack("<i", len(vocab)))
        for token in vocab:
            out.write(struct.pack("<i", len(token)) + token)
        for name in expected_shapes(dims):
            values = np.asarray(tensors[name])
            if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
                values = values.reshape(-1, 1)
            tensor_type = _tensor_type(name, values.ndim, weight_type)
            encoded_name = name.encode("utf-8")
            out.write(struct.pack("<3i", values.ndim, len(encoded_name), tensor_type))
            out.write(struct.pack(f"<{values.ndim}i", *reversed(values.shape)))
            out.write(encoded_name)
            out.write(_encode(name, values, tensor_type))
    return out_path


def _read_hparams(cur: Cursor) -> tuple[Dims, int]:
    if cur.unpack("<I", "magic") != MAGIC:
        raise cur.error("bad magic; not a ggml whisper model")
    values = [cur.unpack("<i", "hparams") for _ in range(11)]
    dims = Dims(**dict(zip(_HPARAMS, values[:10], strict=True)))
    if min(values[:10]) <= 0:
        raise cur.error(f"non-positive hyperparameter in {dims}")
    return dims, values[10]


def _skip_filters_and_vocab(cur: Cursor) -> None:
    n_mel, n_fft = cur.unpack("<i", "mel filter rows"), cur.unpack("<i", "mel filter columns")
    if not (0 < n_mel <= 512 and 0 < n_fft <= 4096):
        raise cur.error(f"implausible mel filter shape {n_mel}x{n_fft}")
    cur.take(4 * n_mel * n_fft, "mel filters")
    n_words = cur.unpack("<i", "vocab size")
    if n_words < 0:
        raise cur.error(f"negative vocab size {n_words}")
    for index in range(n_words):
        length = cur.unpack("<i", f"length of token {index}")
        if length < 0:
            raise cur.error(f"token {index} has negative length")
        cur.take(length, f"token {index}")


def _tensor_header(cur: Cursor) -> tuple[str, tuple[int, ...], int, int]:
    """Name, shape, ggml type and data size of the next tensor; the cursor is left at its data."""
    n_dims, name_length, tensor_type = (cur.unpack("<i", "tensor header") for _ in range(3))
    if not 1 <= n_dims <= 4 or not 0 < name_length <= 256:
        raise cur.error(f"bad tensor header (n_dims={n_dims}, name length={name_length}) at offset {cur.pos}")
    shape = tuple(reversed([cur.unpack("<i", "tensor shape") for _ in range(n_dims)]))
    name = cur.raw(name_length, "tensor name").decode("utf-8", errors="replace")
    if min(shape) < 0:
        raise cur.error(f"{name} has a negative dimension {shape}")
    count = int(np.prod(shape))
    if tensor_type in _NUMPY:
        return name, shape, tensor_type, count * _NUMPY[tensor_type].itemsize
    if tensor_type in _QUANTIZED and count % 32 == 0:
        return name, shape, tensor_type, count // 32 * _QUANTIZED[tensor_type][0].itemsize
    raise cur.error(f"{name} has unsupported tensor type {tensor_type}")


def _read_tensor(cur: Cursor, buf) -> tuple[str, np.ndarray]:
    name, shape, tensor_type, nbytes = _tensor_header(cur)
    start = cur.take(nbytes, f"data of {name}")
    count = int(np.prod(shape))
    if tensor_type in _NUMPY:
        values = np.frombuffer(buf, dtype=_NUMPY[tensor_type], count=count, offset=start)
    else:
        values = _QUANTIZED[tensor_type][2](memoryview(buf)[start : start + nbytes], count)
    return name, values.reshape(shape)


def check_ggml_layout(path: str | os.PathLike) -> Dims:
    """Walk the headers without reading tensor data: every tensor lies inside the file, the file
    ends with the last one, and the tensors are those the hyperparameters call for."""
    path = Path(path)
    buf, size = map_file(path)
    try:
        cur = Cursor(buf, size, path, "ggml model")
        dims, _ftype = _read_hparams(cur)
        _skip_filters_and_vocab(cur)
        found: dict[str, tuple[int, ...]] = {}
        while not cur.at_end:
            name, shape, _type, nbytes = _tensor_header(cur)
            cur.take(nbytes, f"data of {name}")
            found[name] = shape
    finally:
        if hasattr(buf, "close"):
            buf.close()
    for name, shape in expected_shapes(dims).items():
        if name not in found:
            raise ModelFormatError(f"{path}: corrupt ggml model: tensor {name} is missing")
        if int(np.prod(found[name])) != int(np.prod(shape)):
            raise ModelFormatError(f"{path}: corrupt ggml model: {name} has shape {found[name]}, expected {shape}")
    return dims


def read_ggml(path: str | os.PathLike) -> Weights:
    """Canonical tensors from a whisper.cpp ggml file (f32, f16, q8_0 or q4_0 weights)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFormatError(f"{path}: no such ggml model file")
    buf, size = map_file(path)
    cur = Cursor(buf, size, path, "ggml model")
    dims, _ftype = _read_hparams(cur)
    _skip_filters_and_vocab(cur)
    tensors = {}
    while not cur.at_end:
        name, values = _read_tensor(cur, buf)
        tensors[name] = values.reshape(-1) if name in ("encoder.conv1.bias", "encoder.conv2.bias") else values
    tensors = to_canonical_dtype(tensors)
    validate(tensors, dims)
    return Weights(tensors, dims)


def file_problem(path: Path) -> str | None:
    """The cheap check of a ggml file (magic, header, tensor extents), as a problem line or None."""
    with open(path, "rb") as handle:
        head = handle.read(48)  # magic + 11 int32 hyper-parameters
    if len(head) < 4 or struct.unpack("<I", head[:4])[0] != MAGIC:
        return "not a ggml file (magic 0x67676d6c missing)"
    if len(head) < 48:
        return f"truncated: {len(head)} bytes, shorter than the ggml header"
    return problem_of(check_ggml_layout, path)


def detect_ggml(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        head = handle.read(4)
    return len(head) == 4 and struct.unpack("<I", head)[0] == MAGIC


def write_converted(source, out_path: Path) -> None:
    """Writer from a :class:`.source.ConversionSource`; an unknown weight type fails before anything is read."""
    if source.ggml_dtype not in DTYPES:
        raise NotImplementedError(f"ggml weight type {source.ggml_dtype!r} is not supported; choose from {', '.join(DTYPES)}")
    write_ggml(source.tensors, source.dims, tokenizer_json=source.tokenizer_json, out_path=out_path,
               dtype=source.ggml_dtype)


def quantize_ggml(ct2_dir: Path, ggml_type: str, out: Path) -> str:
    """The stored variant ``ggml_type`` (q8_0, q4_0) written from the CTranslate2 weights at ``ct2_dir``.

    Its fingerprint is of its own (dequantized) tensors: they are not the source's."""
    from .canonical import fingerprint
    from .convert import convert

    convert(ct2_dir, "ggml", out, ggml_dtype=ggml_type)
    return fingerprint(read_ggml(out).tensors)
