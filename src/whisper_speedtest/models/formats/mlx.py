"""mlx-whisper layout: ``config.json`` (the dims) + ``weights.safetensors``.

Differences from canonical naming, per ``mlx_whisper/whisper.py``:
- ``mlp.0``/``mlp.2`` are ``mlp1``/``mlp2``;
- conv weights are channels-last, ``[out, kernel, in]`` instead of ``[out, in, kernel]``;
- the encoder's sinusoidal position embedding is computed, not loaded (and must not be
  in the file: ``load_model`` updates parameters strictly);
- ``alignment_heads`` is a model parameter, an int array of ``[layer, head]`` rows.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ...errors import ModelFormatError
from .dims import Dims
from .folder import read_config_and_safetensors
from .canonical import Weights, sinusoids, to_canonical_dtype, validate

WEIGHTS_FILE = "weights.safetensors"
_COMPUTED = "encoder.positional_embedding"


def mlx_name(name: str) -> str:
    return name.replace(".mlp.0.", ".mlp1.").replace(".mlp.2.", ".mlp2.")


def _canonical_name(name: str) -> str:
    return name.replace(".mlp1.", ".mlp.0.").replace(".mlp2.", ".mlp.2.")


def _is_conv_weight(name: str) -> bool:
    return name in ("encoder.conv1.weight", "encoder.conv2.weight")


def write_mlx(
    tensors: Mapping[str, np.ndarray],
    dims: Dims,
    out_dir: str | os.PathLike,
    *,
    alignment_heads: Sequence[tuple[int, int]] = (),
) -> Path:
    """Write a directory that ``mlx_whisper.load_models.load_model(out_dir)`` accepts (float16 weights)."""
    from safetensors.numpy import save_file

    validate(tensors, dims)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = {}
    for name, value in tensors.items():
        if name == _COMPUTED:
            continue
        value = np.asarray(value, dtype=np.float16)
        if _is_conv_weight(name):
            value = value.transpose(0, 2, 1)
        weights[mlx_name(name)] = np.ascontiguousarray(value)
    if alignment_heads:
        weights["alignment_heads"] = np.asarray(alignment_heads, dtype=np.int64).reshape(-1, 2)
    save_file(weights, str(out_dir / WEIGHTS_FILE))
    config = {**dataclasses.asdict(dims), "model_type": "whisper"}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return out_dir


def mlx_quantization(model_dir: str | os.PathLike) -> dict | None:
    """The ``quantization`` of an mlx-whisper folder's config.json (``{"bits": 4, "group_size": 64}``), or None."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{model_dir}: not a readable mlx-whisper model ({exc})") from None
    return config.get("quantization") or None


def read_mlx_quantized(model_dir: str | os.PathLike) -> tuple[dict[str, np.ndarray], Dims, dict]:
    """A quantized mlx-whisper folder as stored: (its arrays — packed weights, scales, biases —, dims, quantization).

    They cannot be read back to float16 tensors; their fingerprint is of these arrays as they are.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    model_dir = Path(model_dir)
    quantization = mlx_quantization(model_dir)
    if not quantization or not isinstance(quantization.get("bits"), int):
        raise ModelFormatError(f"{model_dir}: config.json records no quantization bits")
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    try:
        if (model_dir / WEIGHTS_FILE).is_file():
            arrays = load_file(str(model_dir / WEIGHTS_FILE))
        else:
            with np.load(model_dir / "weights.npz") as npz:
                arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, SafetensorError) as exc:
        raise ModelFormatError(f"{model_dir}: the quantized weights cannot be read ({exc})") from None
    try:
        dims = Dims(**{f.name: int(config[f.name]) for f in dataclasses.fields(Dims)})
    except (KeyError, TypeError, ValueError):
        raise ModelFormatError(f"{model_dir}/config.json does not hold Whisper dims") from None
    if not any(name.endswith(".scales") for name in arrays):
        raise ModelFormatError(f"{model_dir}: config.json says quantized, but the weights hold no scales")
    return arrays, dims, quantization


def read_mlx(model_dir: str | os.PathLike) -> Weights:
    """Canonical tensors from an unquantized mlx-whisper directory.

    The encoder position embedding is recomputed (mlx files do not store it), so it may differ
    from the source model in the last float16 bit.
    """
    model_dir = Path(model_dir)
    config, weights = read_config_and_safetensors(model_dir, WEIGHTS_FILE, "mlx-whisper")
    if "quantization" in config:
        raise ModelFormatError(f"{model_dir}: quantized mlx models cannot be read back to float16 tensors")
    try:
        dims = Dims(**{f.name: int(config[f.name]) for f in dataclasses.fields(Dims)})
    except (KeyError, TypeError, ValueError):
        raise ModelFormatError(f"{model_dir}/config.json does not hold Whisper dims") from None
    tensors = {}
    for name, value in weights.items():
        if name == "alignment_heads":
            continue
        if _is_conv_weight(name):
            value = value.transpose(0, 2, 1)
        tensors[_canonical_name(name)] = value
    tensors[_COMPUTED] = sinusoids(dims.n_audio_ctx, dims.n_audio_state)
    tensors = to_canonical_dtype(tensors)
    validate(tensors, dims)
    return Weights(tensors, dims)


def write_converted(source, out_dir: Path) -> None:
    """Writer from a :class:`.source.ConversionSource`."""
    write_mlx(source.tensors, source.dims, out_dir, alignment_heads=source.hints.alignment_heads)


MLX_GROUP_SIZE = 64


def quantize_mlx(base_dir: Path, dtype: str, out: Path) -> None:
    """Affine-quantize the float16 MLX copy at ``base_dir`` to ``dtype`` (int8, int4; group size 64)
    into the folder ``out``, in the layout mlx-whisper loads (``config.json`` gains ``quantization``).

    Returns no fingerprint: quantized MLX tensors have no canonical reader here, and they are not the base's."""
    import shutil

    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten
    from mlx_whisper.load_models import load_model

    bits = int(dtype.removeprefix("int"))
    model = load_model(str(base_dir), dtype=mx.float16)
    nn.quantize(model, group_size=MLX_GROUP_SIZE, bits=bits)
    out.mkdir()
    mx.save_safetensors(str(out / WEIGHTS_FILE), dict(tree_flatten(model.parameters())))
    config = json.loads((Path(base_dir) / "config.json").read_text())
    config["quantization"] = {"group_size": MLX_GROUP_SIZE, "bits": bits}
    (out / "config.json").write_text(json.dumps(config, indent=2))
    for extra in Path(base_dir).iterdir():
        if extra.name not in ("config.json", WEIGHTS_FILE, "weights.npz"):
            shutil.copy2(extra, out / extra.name)
    return None
