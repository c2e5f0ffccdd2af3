"""mlx-whisper: Apple's MLX on Metal, or the MLX CPU/CUDA device on Linux, with our converted weights."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .base import Backend, DecodeOptions, LoadOptions, LoadResult, ModelRef, Transcript


class MlxWhisperBackend(Backend):
    name = "mlx-whisper"
    display_name = "mlx-whisper"
    requires = ("mlx-whisper", "mlx")
    platforms = ("darwin", "linux")
    model_format = "mlx"
    extra = "mlx"

    def __init__(self) -> None:
        self._path: str | None = None
        self._params: dict[str, Any] = {}

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        import mlx.core as mx
        from mlx_whisper.transcribe import ModelHolder

        # transcribe() looks the model up in ModelHolder by path: loading through it means the
        # timed runs reuse this model instead of loading another copy.
        ModelHolder.model = None
        ModelHolder.model_path = None
        loaded = ModelHolder.get_model(model.path, mx.float16)
        mx.eval(loaded.parameters())
        self._path = model.path
        device = mx.default_device()
        quantized = any("scales" in k for k, _ in _flat(loaded.parameters()))
        actual = "quantized" if quantized else "float16"
        self._params = {"device": f"mlx-{'gpu' if device.type == mx.gpu else 'cpu'}", "dtype": actual}
        if sys.platform == "darwin":
            self._params["metal"] = mx.metal.is_available()
        requested = options.quantization or actual
        return LoadResult(requested=requested, actual=actual, did_fallback=requested not in (actual, "float16") and not quantized)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        import mlx_whisper

        if options.beam_size > 1:
            raise NotImplementedError("mlx-whisper has no beam search decoder; run it with --beam-size 1")
        result = mlx_whisper.transcribe(
            audio,
            path_or_hf_repo=self._path,
            language=options.language,
            temperature=options.temperature,
            condition_on_previous_text=options.condition_on_previous_text,
            verbose=None,
            fp16=True,
        )
        self._params.update(beam_size=1, decoder="greedy")
        segments = tuple({"start": s["start"], "end": s["end"], "text": s["text"]} for s in result["segments"])
        return Transcript(result["text"].strip(), segments, result.get("language"))

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def close(self) -> None:
        from mlx_whisper.transcribe import ModelHolder

        ModelHolder.model = None
        ModelHolder.model_path = None


def _flat(tree, prefix: str = ""):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _flat(value, f"{prefix}{key}.")
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _flat(value, f"{prefix}{index}.")
    else:
        yield prefix.rstrip("."), tree
