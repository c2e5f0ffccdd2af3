"""mlx-whisper: Apple's MLX on Metal, or the MLX CPU/CUDA device on Linux, with our converted weights."""

from __future__ import annotations

import sys

import numpy as np

from ..errors import QuantizationUnavailable
from ..models.ref import ModelRef
from .base import (
    Backend, DecodeOptions, LoadOptions, LoadResult, Transcript, mlx_device, mlx_peak_memory, mlx_port_transcribe_kwargs,
    mlx_quantized_layers, mlx_reset_peak_memory,
)


class MlxWhisperBackend(Backend):
    name = "mlx-whisper"
    original_names = ("MLXWhisperImplementation",)
    display_name = "mlx-whisper"
    requires = ("mlx-whisper", "mlx")
    platforms = ("darwin", "linux")
    model_format = "mlx"
    extra = "mlx"
    quantizations = {"int8": "MLX 8-bit affine, group 64 (made once in the store)", "int4": "MLX 4-bit affine, group 64 (made once in the store)"}
    # int8: measured on CUDA (benchmarks/results/mlx-cuda-h200-2026-12-04.md), int4 loads fastest (1.9-2.2x
    # float16, weights evicted) but breaks the 2% WER rule on tiny.en (+0.115); int8 loads 1.2-1.4x faster and
    # stays within it on tiny.en and base. On the Linux CPU device the load falls back to float16 and says why
    # (MLX's quantized kernels need Metal or CUDA: the mlx-cuda extra).
    fast_load_quantization = "int8"

    def __init__(self) -> None:
        super().__init__()
        self._path: str | None = None

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        import mlx.core as mx
        from mlx_whisper.transcribe import ModelHolder

        # transcribe() looks the model up in ModelHolder by path: loading through it means the
        # timed runs reuse this model instead of loading another copy.
        ModelHolder.model = None
        ModelHolder.model_path = None
        bits = _quantized_bits(model.path)
        actual = f"int{bits}" if bits else "float16"
        device = mlx_device()
        if bits and device["device"] != "mlx/gpu":
            # Seen with mlx 0.32 on Linux: the CPU device never finishes a quantized encoder pass.
            raise QuantizationUnavailable(f"MLX {actual} kernels do not run on the CPU device; they need Metal or CUDA")
        mlx_reset_peak_memory()
        loaded = ModelHolder.get_model(model.path, mx.float16)
        mx.eval(loaded.parameters())
        self._path = model.path
        self._params = {**device, "dtype": actual, **mlx_quantized_layers(loaded)}
        if sys.platform == "darwin":
            self._params["metal"] = mx.metal.is_available()
        return LoadResult(requested=options.quantization or "default", actual=actual)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        import mlx_whisper

        if options.beam_size > 1:
            raise NotImplementedError("mlx-whisper has no beam search decoder; run it with --beam-size 1")
        result = mlx_whisper.transcribe(audio, path_or_hf_repo=self._path, **mlx_port_transcribe_kwargs(options))
        self.record_params(beam_size=1, decoder="greedy")
        return Transcript.from_whisper_result(result)

    def peak_device_memory(self) -> int | None:
        return mlx_peak_memory()

    def close(self) -> None:
        from mlx_whisper.transcribe import ModelHolder

        ModelHolder.model = None
        ModelHolder.model_path = None


def _quantized_bits(path: str) -> int | None:
    """The bit width mlx-whisper applies, from the model's config.json (None when unquantized)."""
    import json
    from pathlib import Path

    config = json.loads((Path(path) / "config.json").read_text())
    quantization = config.get("quantization") or {}
    return quantization.get("bits")

