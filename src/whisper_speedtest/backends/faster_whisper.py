"""faster-whisper (CTranslate2)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import QuantizationUnavailable
from .base import Backend, DecodeOptions, LoadOptions, LoadResult, ModelRef, Transcript, physical_cores


LIBRARY_DEFAULT_BEAMS = 5  # WhisperModel.transcribe's beam_size when none is given


def compute_type_for(quantization: str | None, device: str) -> str:
    """CTranslate2 compute type for a variant name: int8 on CPU by default, float16 on CUDA."""
    if quantization is None:
        return "float16" if device == "cuda" else "int8"
    if quantization == "int8":
        return "int8_float16" if device == "cuda" else "int8"
    if quantization == "float16":
        return "float16" if device == "cuda" else "float32"  # CTranslate2's CPU kernels have no fp16 path
    raise QuantizationUnavailable(f"CTranslate2 has no {quantization} compute type")


class FasterWhisperBackend(Backend):
    name = "faster-whisper"
    original_names = ("FasterWhisperImplementation",)
    display_name = "faster-whisper"
    requires = ("faster-whisper", "ctranslate2")
    model_format = "ct2"
    extra = "faster-whisper"
    quantizations = {"int8": "CTranslate2 compute type int8 (int8_float16 on CUDA)"}

    def __init__(self) -> None:
        self._model = None
        self._params: dict[str, Any] = {}

    @staticmethod
    def _device(requested: str) -> str:
        import ctranslate2

        if requested != "auto":
            return requested
        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        import ctranslate2
        from faster_whisper import WhisperModel

        device = self._device(options.device)
        requested = compute_type_for(options.quantization, device)
        if requested not in ctranslate2.get_supported_compute_types(device):
            raise QuantizationUnavailable(f"compute type {requested} is not supported on {device}")
        threads = options.threads or physical_cores()
        self._model = WhisperModel(
            model.path, device=device, compute_type=requested, cpu_threads=threads if device == "cpu" else 0
        )
        self._params = {
            "device": device,
            "compute_type": self._model.model.compute_type,
            "threads": threads if device == "cpu" else None,
        }
        return LoadResult(requested=options.quantization or "default", actual=self._model.model.compute_type)

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
        if options.beam_size != LIBRARY_DEFAULT_BEAMS:
            self._params["library_default_beam_size"] = LIBRARY_DEFAULT_BEAMS
        return Transcript("".join(p["text"] for p in parts).strip(), tuple(parts), info.language)

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def close(self) -> None:
        self._model = None
