"""faster-whisper (CTranslate2)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Backend, DecodeOptions, LoadOptions, LoadResult, ModelRef, Transcript, physical_cores

# CTranslate2 compute types for the quantization names used across backends.
_COMPUTE_TYPES = {"float16": "float16", "int8": "int8", "int8_float16": "int8_float16", "float32": "float32"}


class FasterWhisperBackend(Backend):
    name = "faster-whisper"
    display_name = "faster-whisper"
    requires = ("faster-whisper", "ctranslate2")
    model_format = "ct2"
    extra = "faster-whisper"

    def __init__(self) -> None:
        self._model = None
        self._params: dict[str, Any] = {}

    @staticmethod
    def _device(requested: str) -> str:
        import ctranslate2

        if requested != "auto":
            return requested
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"

    @staticmethod
    def _default_compute_type(device: str) -> str:
        # int8 is CTranslate2's fastest exact-enough choice on CPU; fp16 on CUDA.
        return "float16" if device == "cuda" else "int8"

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        import ctranslate2
        from faster_whisper import WhisperModel

        device = self._device(options.device)
        requested = _COMPUTE_TYPES.get(options.quantization or "", None) or self._default_compute_type(device)
        supported = ctranslate2.get_supported_compute_types(device)
        actual = requested
        if requested not in supported:
            if not options.fallback:
                from ..errors import QuantizationUnavailable

                raise QuantizationUnavailable(f"compute type {requested} is not supported on {device}")
            actual = "float32" if device == "cpu" else "float16"
        threads = options.threads or physical_cores()
        self._model = WhisperModel(
            model.path, device=device, compute_type=actual, cpu_threads=threads if device == "cpu" else 0
        )
        self._params = {
            "device": device,
            "compute_type": self._model.model.compute_type,
            "threads": threads if device == "cpu" else None,
        }
        return LoadResult(requested=requested, actual=self._model.model.compute_type, did_fallback=actual != requested)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        segments, info = self._model.transcribe(
            audio,
            language=options.language,
            beam_size=options.beam_size,
            temperature=options.temperature,
            condition_on_previous_text=options.condition_on_previous_text,
            vad_filter=False,
        )
        parts = [{"start": s.start, "end": s.end, "text": s.text} for s in segments]
        self._params["beam_size"] = options.beam_size
        return Transcript("".join(p["text"] for p in parts).strip(), tuple(parts), info.language)

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def close(self) -> None:
        self._model = None
