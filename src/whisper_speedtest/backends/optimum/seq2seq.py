"""Decoding for optimum's ``*ModelForSpeechSeq2Seq`` (ONNX Runtime and OpenVINO exports).

Both classes are transformers ``WhisperForConditionalGeneration`` generation front ends over
another runtime, so decoding is transformers' ``generate()`` with the same settings as the
transformers backend: short clips as one 30 s window, longer ones with Whisper's own long-form
algorithm (timestamps, windows moved on by the predicted timestamps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import Backend, DecodeOptions, LoadOptions, Transcript, physical_cores
from ..transformers.pipeline_backend import CHUNK_SECONDS, generate_kwargs


class OptimumSeq2SeqBackend(Backend):
    """A backend whose model is an optimum seq2seq model plus a transformers ``WhisperProcessor``."""
    # optimum-onnx 0.1 pins transformers<4.58, which the transformers extra (5.x) refuses: both optimum backends
    # run in one environment of their own (transformers 4.57) where they are not installed here.
    own_environment = ("onnx", "openvino")
    reported_packages = ("optimum", "optimum-onnx", "optimum-intel", "onnxruntime", "openvino", "tokenizers")

    def __init__(self) -> None:
        super().__init__()
        self._model = None
        self._processor = None
        self._multilingual = False

    @staticmethod
    def threads_for(options: LoadOptions) -> int:
        return options.threads or physical_cores()

    def _finish_load(self, model, model_path: str, params: dict[str, Any]) -> None:
        from transformers import AutoProcessor

        self._model = model
        self._processor = AutoProcessor.from_pretrained(model_path)
        self._multilingual = bool(getattr(model.generation_config, "is_multilingual", False))
        self._params = {**params, "chunk_s": CHUNK_SECONDS}

    def _inputs(self, audio: np.ndarray, long_audio: bool) -> dict[str, Any]:
        extractor = self._processor.feature_extractor
        if not long_audio:
            return {"input_features": extractor(audio, sampling_rate=16_000, return_tensors="pt").input_features}
        features = extractor(audio, sampling_rate=16_000, return_tensors="pt", truncation=False,
                             padding="longest", return_attention_mask=True)
        return {"input_features": features.input_features, "attention_mask": features.attention_mask}

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        import torch

        long_audio = len(audio) > CHUNK_SECONDS * 16_000
        kwargs = generate_kwargs(options, self._multilingual)
        if long_audio:
            kwargs.update(return_timestamps=True, condition_on_prev_tokens=options.condition_on_previous_text)
        with torch.inference_mode():
            tokens = self._model.generate(**self._inputs(audio, long_audio), **kwargs)
        text = self._processor.tokenizer.batch_decode(tokens, skip_special_tokens=True)[0]
        self.record_params(beam_size=options.beam_size, decoder="generate",
                            longform="sequential" if long_audio else "single window")
        return Transcript(text.strip(), (), options.language)


    def close(self) -> None:
        self._model = None
        self._processor = None
