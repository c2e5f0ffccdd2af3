"""Canonical tensors: openai-whisper ``model_state_dict`` names, float16, one dict per model.

Every writer takes canonical tensors and every reader returns them, so the same weights
get the same :func:`fingerprint` whatever file format they came from.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ...errors import ModelFormatError
from .dims import Dims
from .ct2 import Ct2Model

HEAD_DIM = 64  # every released Whisper model uses 64-wide attention heads
ENGLISH_ONLY_VOCAB = 51864

_BLOCK = re.compile(r"^(encoder|decoder)\.blocks\.(\d+)\.")


@dataclass(frozen=True)
class Weights:
    """Canonical tensors together with the architecture they describe."""

    tensors: dict[str, np.ndarray]
    dims: Dims


@dataclass(frozen=True)
class DecodeHints:
    """Decoding metadata that is not in the tensors (from CTranslate2's config.json)."""

    suppress_tokens: tuple[int, ...] = ()
    begin_suppress_tokens: tuple[int, ...] = ()
    alignment_heads: tuple[tuple[int, int], ...] = ()
    lang_ids: tuple[int, ...] = ()


def decode_hints(ct2: Ct2Model) -> DecodeHints:
    """Suppress lists and alignment heads from the model's config.json (empty when absent)."""
    cfg = ct2.config
    try:
        return DecodeHints(
            suppress_tokens=tuple(int(t) for t in cfg.get("suppress_ids") or ()),
            begin_suppress_tokens=tuple(int(t) for t in cfg.get("suppress_ids_begin") or ()),
            alignment_heads=tuple((int(layer), int(head)) for layer, head in cfg.get("alignment_heads") or ()),
            lang_ids=tuple(int(t) for t in cfg.get("lang_ids") or ()),
        )
    except (TypeError, ValueError):
        raise ModelFormatError(f"{ct2.path.parent / 'config.json'}: malformed Whisper config") from None


def sinusoids(length: int, channels: int) -> np.ndarray:
    """Whisper's fixed sinusoidal encoder position embedding, float32 [length, channels]."""
    half = channels // 2
    increment = np.log(10000) / (half - 1)
    inv_timescales = np.exp(-increment * np.arange(half, dtype=np.float32))
    scaled = np.arange(length, dtype=np.float32)[:, None] * inv_timescales[None, :]
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1).astype(np.float32)


def _f16(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float16)


def _count_layers(ct2: Ct2Model, stack: str) -> int:
    pattern = re.compile(rf"^{stack}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in ct2.variables if (m := pattern.match(name))}
    if not indices or indices != set(range(len(indices))):
        raise ModelFormatError(f"{ct2.path}: {stack} layers are missing or not numbered 0..n-1")
    return len(indices)


def _split(array: np.ndarray, parts: int, what: str) -> list[np.ndarray]:
    if array.shape[0] % parts:
        raise ModelFormatError(f"fused {what} has {array.shape[0]} rows, not divisible by {parts}")
    return [np.ascontiguousarray(p) for p in np.split(array, parts, axis=0)]


def _linear(ct2: Ct2Model, src: str, dst: str, out: dict, *, bias: bool = True) -> None:
    out[f"{dst}.weight"] = _f16(ct2.float_weight(f"{src}/weight"))
    if bias:
        out[f"{dst}.bias"] = _f16(ct2.get(f"{src}/bias"))


def _layer_norm(ct2: Ct2Model, src: str, dst: str, out: dict) -> None:
    out[f"{dst}.weight"] = _f16(ct2.get(f"{src}/gamma"))
    out[f"{dst}.bias"] = _f16(ct2.get(f"{src}/beta"))


def _fused_qkv(ct2: Ct2Model, src: str, dst: str, out: dict) -> None:
    """Split CTranslate2's fused Q|K|V projection; the K bias is dropped.

    Dropping it is exact: a key bias adds the same q·b to every score of a query, which softmax ignores.
    """
    q_w, k_w, v_w = _split(ct2.float_weight(f"{src}/weight"), 3, f"{src}/weight")
    q_b, _k_b, v_b = _split(ct2.get(f"{src}/bias"), 3, f"{src}/bias")
    out.update({f"{dst}.query.weight": _f16(q_w), f"{dst}.query.bias": _f16(q_b), f"{dst}.key.weight": _f16(k_w),
                f"{dst}.value.weight": _f16(v_w), f"{dst}.value.bias": _f16(v_b)})


def _fused_kv(ct2: Ct2Model, src: str, dst: str, out: dict) -> None:
    k_w, v_w = _split(ct2.float_weight(f"{src}/weight"), 2, f"{src}/weight")
    _k_b, v_b = _split(ct2.get(f"{src}/bias"), 2, f"{src}/bias")
    out.update({f"{dst}.key.weight": _f16(k_w), f"{dst}.value.weight": _f16(v_w), f"{dst}.value.bias": _f16(v_b)})


def _ffn(ct2: Ct2Model, src: str, dst: str, out: dict) -> None:
    _layer_norm(ct2, f"{src}/layer_norm", f"{dst}.mlp_ln", out)
    _linear(ct2, f"{src}/linear_0", f"{dst}.mlp.0", out)
    _linear(ct2, f"{src}/linear_1", f"{dst}.mlp.2", out)


def canonical_tensors(ct2: Ct2Model) -> dict[str, np.ndarray]:
    """The model's weights in openai-whisper naming, float16 (int8 weights dequantized)."""
    if ct2.spec_name != "WhisperSpec":
        raise ModelFormatError(f"{ct2.path}: a {ct2.spec_name} model, not Whisper")
    out: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        _linear(ct2, f"encoder/{conv}", f"encoder.{conv}", out)
    if ct2.has("encoder/position_encodings/encodings"):
        out["encoder.positional_embedding"] = _f16(ct2.get("encoder/position_encodings/encodings"))
    else:  # CTranslate2 may leave the fixed sinusoids out
        state = out["encoder.conv1.weight"].shape[0]
        out["encoder.positional_embedding"] = _f16(sinusoids(1500, state))
    for i in range(_count_layers(ct2, "encoder")):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        _layer_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln", out)
        _fused_qkv(ct2, f"{src}/self_attention/linear_0", f"{dst}.attn", out)
        _linear(ct2, f"{src}/self_attention/linear_1", f"{dst}.attn.out", out)
        _ffn(ct2, f"{src}/ffn", dst, out)
    _layer_norm(ct2, "encoder/layer_norm", "encoder.ln_post", out)

    out["decoder.token_embedding.weight"] = _f16(ct2.float_weight("decoder/embeddings/weight"))
    out["decoder.positional_embedding"] = _f16(ct2.get("decoder/position_encodings/encodings"))
    for i in range(_count_layers(ct2, "decoder")):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        _layer_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln", out)
        _fused_qkv(ct2, f"{src}/self_attention/linear_0", f"{dst}.attn", out)
        _linear(ct2, f"{src}/self_attention/linear_1", f"{dst}.attn.out", out)
        _layer_norm(ct2, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln", out)
        _linear(ct2, f"{src}/attention/linear_0", f"{dst}.cross_attn.query", out)
        _fused_kv(ct2, f"{src}/attention/linear_1", f"{dst}.cross_attn", out)
        _linear(ct2, f"{src}/attention/linear_2", f"{dst}.cross_attn.out", out)
        _ffn(ct2, f"{src}/ffn", dst, out)
    _layer_norm(ct2, "decoder/layer_norm", "decoder.ln", out)
    validate(out, ct2_dims(ct2, out))
    return out


def _scalar_int(ct2: Ct2Model, name: str) -> int | None:
    if not ct2.has(name):
        return None
    value = ct2.get(name)
    if value.size != 1:
        raise ModelFormatError(f"{ct2.path}: {name} is not a scalar")
    return int(value.reshape(()))


def ct2_dims(ct2: Ct2Model, tensors: Mapping[str, np.ndarray]) -> Dims:
    """Dims of ``tensors``, with head counts taken from the model.bin where it records them."""
    return infer_dims(
        tensors,
        n_audio_head=_scalar_int(ct2, "encoder/num_heads"),
        n_text_head=_scalar_int(ct2, "decoder/num_heads"),
    )


def _n_blocks(tensors: Mapping[str, np.ndarray], stack: str) -> int:
    indices = {int(m.group(2)) for name in tensors if (m := _BLOCK.match(name)) and m.group(1) == stack}
    return max(indices) + 1 if indices else 0


def _shape(tensors: Mapping[str, np.ndarray], name: str) -> tuple[int, ...]:
    if name not in tensors:
        raise ModelFormatError(f"weights lack {name}; not a complete Whisper model")
    return tuple(tensors[name].shape)


def infer_dims(
    tensors: Mapping[str, np.ndarray], *, n_audio_head: int | None = None, n_text_head: int | None = None
) -> Dims:
    """Architecture from tensor shapes; head counts default to ``state // 64``."""
    n_audio_state, n_mels, _ = _shape(tensors, "encoder.conv1.weight")
    n_audio_ctx = _shape(tensors, "encoder.positional_embedding")[0]
    n_vocab, n_text_state = _shape(tensors, "decoder.token_embedding.weight")
    n_text_ctx = _shape(tensors, "decoder.positional_embedding")[0]
    return Dims(
        n_mels=n_mels,
        n_vocab=n_vocab,
        n_audio_ctx=n_audio_ctx,
        n_audio_state=n_audio_state,
        n_audio_head=n_audio_head or n_audio_state // HEAD_DIM,
        n_audio_layer=_n_blocks(tensors, "encoder"),
        n_text_ctx=n_text_ctx,
        n_text_state=n_text_state,
        n_text_head=n_text_head or n_text_state // HEAD_DIM,
        n_text_layer=_n_blocks(tensors, "decoder"),
    )


def _attention_shapes(prefix: str, n: int) -> dict[str, tuple[int, ...]]:
    shapes = {f"{prefix}.{p}.weight": (n, n) for p in ("query", "key", "value", "out")}
    shapes.update({f"{prefix}.{p}.bias": (n,) for p in ("query", "value", "out")})
    return shapes


def _block_shapes(prefix: str, n: int, *, cross: bool) -> dict[str, tuple[int, ...]]:
    shapes = _attention_shapes(f"{prefix}.attn", n)
    norms = ["attn_ln", "mlp_ln"] + (["cross_attn_ln"] if cross else [])
    if cross:
        shapes.update(_attention_shapes(f"{prefix}.cross_attn", n))
    for norm in norms:
        shapes.update({f"{prefix}.{norm}.weight": (n,), f"{prefix}.{norm}.bias": (n,)})
    shapes.update({f"{prefix}.mlp.0.weight": (4 * n, n), f"{prefix}.mlp.0.bias": (4 * n,),
                   f"{prefix}.mlp.2.weight": (n, 4 * n), f"{prefix}.mlp.2.bias": (n,)})
    return shapes


def expected_shapes(dims: Dims) -> dict[str, tuple[int, ...]]:
    """Every canonical tensor name of a model with ``dims``, with its shape."""
    a, t = dims.n_audio_state, dims.n_text_state
    shapes: dict[str, tuple[int, ...]] = {
        "encoder.conv1.weight": (a, dims.n_mels, 3), "encoder.conv1.bias": (a,),
        "encoder.conv2.weight": (a, a, 3), "encoder.conv2.bias": (a,),
        "encoder.positional_embedding": (dims.n_audio_ctx, a),
        "encoder.ln_post.weight": (a,), "encoder.ln_post.bias": (a,),
        "decoder.token_embedding.weight": (dims.n_vocab, t),
        "decoder.positional_embedding": (dims.n_text_ctx, t),
        "decoder.ln.weight": (t,), "decoder.ln.bias": (t,),
    }
    for i in range(dims.n_audio_layer):
        shapes.update(_block_shapes(f"encoder.blocks.{i}", a, cross=False))
    for i in range(dims.n_text_layer):
        shapes.update(_block_shapes(f"decoder.blocks.{i}", t, cross=True))
    return shapes


def validate(tensors: Mapping[str, np.ndarray], dims: Dims) -> None:
    """Raise ModelFormatError unless ``tensors`` is exactly a Whisper model with ``dims``."""
    expected = expected_shapes(dims)
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}"
        raise ModelFormatError(f"weights do not form a Whisper model: {detail}")
    for name, shape in expected.items():
        if tuple(tensors[name].shape) != shape:
            raise ModelFormatError(f"weights do not form a Whisper model: {name} has shape "
                                   f"{tuple(tensors[name].shape)}, expected {shape}")
    if dims.n_audio_state % dims.n_audio_head or dims.n_text_state % dims.n_text_head:
        raise ModelFormatError(f"head counts do not divide the model width: {dims}")


def is_english_only(dims: Dims) -> bool:
    """Whisper's own rule: English-only models have the 51864-token vocabulary."""
    return dims.n_vocab == ENGLISH_ONLY_VOCAB


def fingerprint(tensors: Mapping[str, np.ndarray]) -> str:
    """sha256 over sorted names, dtype, shape and raw bytes: equal weights give equal fingerprints."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.data)
    return digest.hexdigest()


def to_canonical_dtype(tensors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Readers' last step: float16, C-contiguous."""
    return {name: _f16(value) for name, value in tensors.items()}
