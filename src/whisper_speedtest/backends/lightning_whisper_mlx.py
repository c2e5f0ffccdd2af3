"""lightning-whisper-mlx: batched Whisper decoding on MLX, running our converted MLX weights.

The library's ``LightningWhisperMLX`` class always downloads ``weights.npz`` from its own Hub repos
into ``./mlx_models``. Its model classes use the same tensor names as mlx-whisper, so we build the
model from our MLX directory (``config.json`` + ``weights.safetensors``; a ``weights.npz`` also
works) and hand it to the library's ``ModelHolder`` under that path, which ``transcribe_audio``
then reuses for every run.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError, QuantizationUnavailable
from ..models.ref import ModelRef
from .base import (
    Backend, DecodeOptions, LoadOptions, LoadResult, Transcript, mlx_device, mlx_peak_memory, mlx_quantized_layers,
    mlx_reset_peak_memory,
)

DEFAULT_BATCH_SIZE = 12  # LightningWhisperMLX's default
WEIGHT_FILES = ("weights.safetensors", "weights.npz")
SECONDS_PER_MEL_FRAME = 0.01  # HOP_LENGTH / SAMPLE_RATE; the library's segments are in mel frames


def weights_file(directory: Path) -> Path:
    """The weights of an MLX Whisper directory, or a clear error naming what is missing."""
    if not (directory / "config.json").is_file():
        raise ModelFormatError(f"{directory} has no config.json; lightning-whisper-mlx needs the MLX layout")
    for name in WEIGHT_FILES:
        if (directory / name).is_file():
            return directory / name
    raise ModelFormatError(f"{directory} has neither {' nor '.join(WEIGHT_FILES)}")


def _transcribe_module():
    # The package re-exports transcribe_audio; the module itself holds ModelHolder.
    return importlib.import_module("lightning_whisper_mlx.transcribe")


def segments_from_frames(raw_segments: list) -> tuple[dict[str, Any], ...]:
    """The library returns ``[start_frame, end_frame, text]`` per 30 s window."""
    return tuple(
        {"start": round(start * SECONDS_PER_MEL_FRAME, 3), "end": round(end * SECONDS_PER_MEL_FRAME, 3), "text": text}
        for start, end, text in raw_segments
    )


def _float_token_embedding(arrays: dict, quantization: dict) -> dict:
    """The store's quantized MLX weights with the token embedding dequantized to float16.

    lightning-whisper-mlx's decoder computes its logits as ``x @ token_embedding.weight.T`` itself,
    which a quantized embedding (packed words, seen on CUDA: a shape error) cannot do; mlx-whisper
    calls ``as_linear`` instead. Every Linear layer keeps its quantized weights."""
    import mlx.core as mx

    key = "decoder.token_embedding"
    if f"{key}.scales" not in arrays:
        return arrays
    arrays = dict(arrays)
    arrays[f"{key}.weight"] = mx.dequantize(
        arrays[f"{key}.weight"], arrays.pop(f"{key}.scales"), arrays.pop(f"{key}.biases"),
        group_size=quantization["group_size"], bits=quantization["bits"],
    ).astype(mx.float16)
    return arrays


class LightningWhisperMlxBackend(Backend):
    name = "lightning-whisper-mlx"
    original_names = ("LightningWhisperMLXImplementation",)
    display_name = "lightning-whisper-mlx"
    requires = ("lightning-whisper-mlx", "mlx")
    platforms = ("darwin", "linux")
    model_format = "mlx"
    extra = "lightning"
    own_environment = ("lightning",)  # it pins tiktoken==0.3.3, which openai-whisper's extra refuses
    reported_packages = ("tiktoken", "mlx-cpu", "numba")
    quantizations = {"int8": "MLX 8-bit affine, group 64 (our store's MLX variant)", "int4": "MLX 4-bit affine, group 64 (our store's MLX variant)"}

    def __init__(self) -> None:
        super().__init__()
        self._path: str | None = None
        self._model = None
        self._batch_size = DEFAULT_BATCH_SIZE

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        directory = Path(model.path or "")
        weights = weights_file(directory)
        config = json.loads((directory / "config.json").read_text())
        config.pop("model_type", None)
        quantization = config.pop("quantization", None)

        import mlx.core as mx
        import mlx.nn as nn
        from lightning_whisper_mlx import whisper
        from mlx.utils import tree_unflatten

        on_gpu = mx.default_device().type == mx.gpu
        if quantization and not on_gpu:
            # The same limit as mlx-whisper: quantized kernels do not finish on the MLX CPU device.
            raise QuantizationUnavailable("MLX quantized kernels do not run on the CPU device; they need Metal or CUDA")
        mlx_reset_peak_memory()
        built = whisper.Whisper(whisper.ModelDimensions(**config), mx.float16)
        arrays = mx.load(str(weights))
        if quantization:
            arrays = _float_token_embedding(arrays, quantization)
            nn.quantize(built, **quantization, class_predicate=lambda path, _: f"{path}.scales" in arrays)
        built.update(tree_unflatten(list(arrays.items())))
        mx.eval(built.parameters())
        holder = _transcribe_module().ModelHolder
        holder.model, holder.model_path = built, str(directory)
        self._model, self._path = built, str(directory)
        self._batch_size = options.batch_size or DEFAULT_BATCH_SIZE
        actual = f"int{quantization['bits']}" if quantization else "float16"
        self._params = {**mlx_device(), "dtype": actual, "batch_size": self._batch_size, **mlx_quantized_layers(built)}
        if quantization:
            self._params["token_embedding"] = "float16 (dequantized: the library's logits need a plain embedding)"
        return LoadResult(requested=options.quantization or "default", actual=actual)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        module = _transcribe_module()
        if options.beam_size > 1:
            raise NotImplementedError("lightning-whisper-mlx has no beam search decoder; run it with --beam-size 1")
        if module.ModelHolder.model is not self._model:
            raise RuntimeError("lightning-whisper-mlx lost the loaded model (ModelHolder was replaced)")
        result = module.transcribe_audio(
            np.asarray(audio, dtype=np.float32),
            path_or_hf_repo=self._path,
            language=options.language,
            temperature=options.temperature,
            condition_on_previous_text=options.condition_on_previous_text,
            batch_size=self._batch_size,
            verbose=None,
        )
        self.record_params(beam_size=1, decoder="greedy", windows="fixed 30 s windows, decoded in batches")
        return Transcript(result["text"].strip(), segments_from_frames(result["segments"]), result.get("language"))

    def peak_device_memory(self) -> int | None:
        return mlx_peak_memory()

    def close(self) -> None:
        holder = _transcribe_module().ModelHolder if self._model is not None else None
        if holder is not None and holder.model is self._model:
            holder.model, holder.model_path = None, None
        self._model, self._path = None, None
