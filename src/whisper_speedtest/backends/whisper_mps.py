"""whisper-mps: despite its name, a Whisper port to MLX (Apple's array framework), running our
converted openai-whisper checkpoint.

The library's own ``load_model`` only accepts model names and downloads them into
``~/.cache/whisper``; its ``transcribe`` looks the model up by name in a ``ModelHolder``. We build
the MLX model from our checkpoint with the library's own converter and hand it to ``ModelHolder``
under the checkpoint's path, so the timed runs use exactly the weights we loaded and nothing is
downloaded or loaded twice.

int8/int4 are MLX affine quantization (group 64) of the model's Linear layers, applied with
``mlx.nn.quantize`` right after the conversion, on an MLX GPU only (Metal, or CUDA through the
``mlx-cuda`` extra). The token embedding stays float16: the library's decoder multiplies by
``token_embedding.weight.T`` itself, which a quantized embedding would break.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from ..errors import ModelFormatError, QuantizationUnavailable
from ..models import catalog
from ..models.backend_caches import openai_whisper_dir
from ..models.ref import ModelRef
from .base import (
    Backend, DecodeOptions, LoadOptions, LoadResult, Transcript, mlx_device, mlx_peak_memory, mlx_port_transcribe_kwargs,
    mlx_quantized_layers, mlx_reset_peak_memory,
)

MLX_GROUP_SIZE = 64
BITS = {"int8": 8, "int4": 4}


def own_cache_file(name: str) -> Path:
    """Where whisper-mps itself would keep ``name``: the catalog's openai file name in ``~/.cache/whisper``."""
    return openai_whisper_dir() / catalog.upstream_location("openai", name).filename


def quantize_linear_layers(model, bits: int) -> None:
    """MLX affine quantization (group 64) of every Linear layer, in place; the token embedding stays
    float16, since the library's decoder computes its logits as ``x @ token_embedding.weight.T``."""
    import mlx.nn as nn

    nn.quantize(model, group_size=MLX_GROUP_SIZE, bits=bits, class_predicate=lambda _, module: isinstance(module, nn.Linear))


def _model_holder():
    # ``whisper_mps.whisper.transcribe`` is shadowed by the function of that name in the package.
    return importlib.import_module("whisper_mps.whisper.transcribe").ModelHolder


class WhisperMpsBackend(Backend):
    name = "whisper-mps"
    original_names = ("WhisperMPSImplementation",)
    display_name = "whisper-mps (MLX)"
    requires = ("whisper-mps", "mlx", "torch")
    platforms = ("darwin", "linux")
    model_format = "openai"
    extra = "whisper-mps"
    quantizations = {
        "int8": "MLX 8-bit affine, group 64, of the Linear layers (mlx.nn.quantize while loading; MLX GPU only)",
        "int4": "MLX 4-bit affine, group 64, of the Linear layers (mlx.nn.quantize while loading; MLX GPU only)",
    }

    def __init__(self) -> None:
        super().__init__()
        self._key: str | None = None
        self._model = None

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        if not model.path or not Path(model.path).is_file():
            raise ModelFormatError(f"whisper-mps needs an openai-whisper checkpoint file, got {model.path!r}")
        import mlx.core as mx
        import torch
        from whisper_mps.whisper import torch_whisper
        from whisper_mps.whisper.load_models import torch_to_mlx

        bits = BITS.get(options.quantization or "")
        device = mlx_device()
        if bits and device["device"] != "mlx/gpu":
            raise QuantizationUnavailable(f"MLX {options.quantization} kernels do not run on the CPU device; they need Metal or CUDA")
        mlx_reset_peak_memory()
        checkpoint = torch.load(model.path, map_location="cpu", weights_only=True)
        torch_model = torch_whisper.Whisper(torch_whisper.ModelDimensions(**checkpoint["dims"]))
        torch_model.load_state_dict(checkpoint["model_state_dict"])
        self._model = torch_to_mlx(torch_model, mx.float16)  # the library's default dtype
        del checkpoint, torch_model
        actual = "float16"
        if bits:
            quantize_linear_layers(self._model, bits)
            actual = f"int{bits}"
        mx.eval(self._model.parameters())
        holder = _model_holder()
        holder.model, holder.model_name = self._model, model.path
        self._key = model.path
        self._params = {**device, "dtype": actual, **mlx_quantized_layers(self._model)}
        return LoadResult(requested=options.quantization or "default", actual=actual)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        from whisper_mps.whisper.transcribe import transcribe

        if options.beam_size > 1:
            raise NotImplementedError("whisper-mps has no beam search decoder; run it with --beam-size 1")
        holder = _model_holder()
        if holder.model is not self._model or holder.model_name != self._key:
            # transcribe() would otherwise try to load (and download) a model by this name.
            raise RuntimeError("whisper-mps lost the loaded model (ModelHolder was replaced)")
        result = transcribe(np.asarray(audio, dtype=np.float32), model=self._key, **mlx_port_transcribe_kwargs(options))
        self.record_params(beam_size=1, decoder="greedy")
        return Transcript.from_whisper_result(result)

    def peak_device_memory(self) -> int | None:
        return mlx_peak_memory()

    def close(self) -> None:
        if self._key is not None:
            holder = _model_holder()
            if holder.model is self._model:
                holder.model, holder.model_name = None, None
        self._model, self._key = None, None

