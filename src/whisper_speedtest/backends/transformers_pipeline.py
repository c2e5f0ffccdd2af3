"""Hugging Face transformers ASR pipeline, tuned per device in the insanely-fast-whisper style."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from ..errors import QuantizationUnavailable
from .torch_support import TorchDeviceMixin
from .base import Backend, DecodeOptions, LoadOptions, LoadResult, ModelRef, Transcript

CHUNK_SECONDS = 30


def _attention_for(device: str) -> str:
    if device == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def batch_size_for(device: str, model_params_millions: float, free_bytes: int | None) -> int:
    """Chunks decoded at once: as many as GPU memory comfortably holds, one at a time on CPU."""
    if device != "cuda" or not free_bytes:
        return 1
    per_chunk = 60e6 + model_params_millions * 1e6 * 0.5  # activations + KV cache per 30 s chunk, fp16
    return int(max(1, min(64, free_bytes * 0.5 // per_chunk)))


def generate_kwargs(options: DecodeOptions, multilingual: bool) -> dict[str, Any]:
    """transformers ``generate()`` arguments for the shared decode settings (also used by the optimum backends)."""
    kwargs: dict[str, Any] = {"num_beams": options.beam_size, "do_sample": False}
    if options.temperature > 0:
        kwargs.update(do_sample=True, temperature=options.temperature)
    if multilingual:
        kwargs.update(task="transcribe", language=options.language)
    return kwargs


class TransformersBackend(TorchDeviceMixin, Backend):
    name = "transformers"
    display_name = "transformers pipeline"
    requires = ("transformers", "torch")
    model_format = "hf"
    extra = "transformers"
    quantizations = {"int8": "torch dynamic int8 of the Linear layers (CPU only)"}

    def __init__(self) -> None:
        self._pipe = None
        self._placement = None
        self._params: dict[str, Any] = {}
        self._multilingual = False
        self._use_graphs = False
        self._graph_decoders: dict = {}

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        import torch
        from transformers import AutoProcessor, WhisperForConditionalGeneration

        from .torch_support import choose_placement

        placement = choose_placement(options.device, options.threads)
        attention = _attention_for(placement.device)
        if model.synthetic:
            from .synthetic import synthetic_whisper

            network, processor = synthetic_whisper(model.name, placement, attention)
        else:
            network = WhisperForConditionalGeneration.from_pretrained(
                model.path, dtype=placement.torch_dtype, attn_implementation=attention, low_cpu_mem_usage=True
            ).to(placement.device)
            processor = AutoProcessor.from_pretrained(model.path)
        network.eval()
        quantized = self._quantize(network, options.quantization, placement.device)
        self._synthetic_tokens = (options.synthetic_tokens or 40) if model.synthetic else None
        free = torch.cuda.mem_get_info()[0] if placement.device == "cuda" else None
        params_m = sum(p.numel() for p in network.parameters()) / 1e6
        batch = options.batch_size or batch_size_for(placement.device, params_m, free)
        if model.synthetic:  # no real tokenizer may exist: skip the pipeline, keep its three parts
            from types import SimpleNamespace

            self._pipe = SimpleNamespace(
                model=network, feature_extractor=processor.feature_extractor, tokenizer=processor.tokenizer
            )
        else:
            self._pipe = self._build_pipeline(network, processor, placement)
        self._multilingual = bool(getattr(network.generation_config, "is_multilingual", False))
        self._finish_load(network, placement, batch, quantized)
        self._use_graphs = options.cuda_graphs and placement.device == "cuda" and not quantized
        return LoadResult(requested=options.quantization or "default", actual=self._params["dtype"])

    @staticmethod
    def _build_pipeline(network, processor, placement):
        from transformers import pipeline

        return pipeline(
            "automatic-speech-recognition",
            model=network,
            tokenizer=processor.tokenizer,
            feature_extractor=processor.feature_extractor,
            device=network.device,
            dtype=placement.torch_dtype,
        )

    def _finish_load(self, network, placement, batch: int, quantized: bool) -> None:
        self._placement = placement
        self._batch_size = batch
        actual_dtype = "int8-dynamic" if quantized else str(network.dtype).removeprefix("torch.")
        self._params = {
            "device": placement.device,
            "dtype": actual_dtype,
            "attention": network.config._attn_implementation,
            "batch_size": batch,
            "chunk_s": CHUNK_SECONDS,
            "threads": placement.threads,
        }
        if self._synthetic_tokens:
            self._params["synthetic_tokens"] = self._synthetic_tokens

    @staticmethod
    def _quantize(network, quantization: str | None, device: str) -> bool:
        """Apply torch dynamic int8 quantization on CPU; other variants are reported unavailable."""
        if quantization in (None, "float16"):
            return False
        if quantization != "int8" or device != "cpu":
            raise QuantizationUnavailable(f"transformers backend has no {quantization} variant on {device}")
        import torch

        try:
            torch.ao.quantization.quantize_dynamic(network, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
        except Exception as exc:  # removed or unsupported in this torch build
            raise QuantizationUnavailable(f"torch dynamic int8 failed: {exc}") from None
        return True

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        long_audio = len(audio) > CHUNK_SECONDS * 16_000
        if not long_audio and self._graph_decoder(options) is not None:
            return self.transcribe_batch([audio], options)[0]
        if long_audio and self._batch_size > 1:
            text, segments = self._chunked(audio, options)
            mode = "chunked-batched"
            self._params["decoder"] = "pipeline (generate)"
        else:
            text, segments = self._sequential(audio, options, long_audio)
            mode = "sequential"
            self._params["decoder"] = "generate"
        self._params.update(beam_size=options.beam_size, longform=mode)
        return Transcript(text.strip(), segments, options.language)

    def _generate_kwargs(self, options: DecodeOptions) -> dict[str, Any]:
        return generate_kwargs(options, self._multilingual)

    batch_mode = "batched (log-mel on the device)"
    supports_synthetic = True

    def _features(self, audios: list[np.ndarray], long_audio: bool = False):
        """Log-mel features on the model's device: 30 s windows for short clips, padded to the longest otherwise."""
        pipe = self._pipe
        network = pipe.model
        if not long_audio:
            from .log_mel import log_mel_batch

            return {"input_features": log_mel_batch(audios, pipe.feature_extractor, network.device, network.dtype)}
        features = pipe.feature_extractor(
            audios if len(audios) > 1 else audios[0],
            sampling_rate=16_000,
            return_tensors="pt",
            truncation=False,
            padding="longest",
            return_attention_mask=True,
            device=str(network.device) if network.device.type == "cuda" else "cpu",
        )
        return {
            "input_features": features.input_features.to(network.device, network.dtype),
            "attention_mask": features.attention_mask.to(network.device),
        }

    def _generate(self, inputs: dict, kwargs: dict):
        import torch

        with torch.inference_mode():
            if self._synthetic_tokens:
                from .synthetic import generate_fixed_tokens

                return generate_fixed_tokens(self._pipe.model, inputs["input_features"], self._synthetic_tokens)
            return self._pipe.model.generate(**inputs, **kwargs)

    def transcribe_batch(self, audios: list[np.ndarray], options: DecodeOptions) -> list[Transcript]:
        if any(len(a) > CHUNK_SECONDS * 16_000 for a in audios):
            return [self.transcribe(a, options) for a in audios]
        decoder = self._graph_decoder(options)
        inputs = self._features(list(audios))
        if decoder is not None:
            tokens = decoder.decode(inputs["input_features"])
        else:
            tokens = self._generate(inputs, self._generate_kwargs(options))
        self._params["decoder"] = decoder.description if decoder is not None else "generate"
        texts = self._pipe.tokenizer.batch_decode(tokens, skip_special_tokens=True)
        self._params.update(beam_size=options.beam_size)
        return [Transcript(t.strip(), (), options.language) for t in texts]

    def _graph_decoder(self, options: DecodeOptions):
        """The CUDA-graph greedy decoder for these options, or None where generate() must run."""
        if not self._use_graphs or options.beam_size != 1 or options.temperature > 0:
            return None
        language = options.language if self._multilingual else None
        if self._multilingual and not language:
            return None  # language detection stays with generate()
        decoder = self._graph_decoders.get(language)
        if decoder is None:
            from .graph_decoder import GraphDecoder, rules_for

            rules = rules_for(self._pipe.model, language, self._synthetic_tokens)
            decoder = self._graph_decoders[language] = GraphDecoder(self._pipe.model, rules)
        return decoder

    def _sequential(self, audio: np.ndarray, options: DecodeOptions, long_audio: bool) -> tuple[str, tuple]:
        """Whisper's own long-form algorithm: 30 s windows that move on by the predicted timestamps."""
        inputs = self._features([audio], long_audio)
        kwargs = self._generate_kwargs(options)
        if long_audio:
            kwargs.update(return_timestamps=True, condition_on_prev_tokens=options.condition_on_previous_text)
        tokens = self._generate(inputs, kwargs)
        return self._pipe.tokenizer.batch_decode(tokens, skip_special_tokens=True)[0], ()

    def _chunked(self, audio: np.ndarray, options: DecodeOptions) -> tuple[str, tuple]:
        """insanely-fast-whisper style: overlapping 30 s chunks decoded in batches, then merged."""
        result = self._pipe(
            {"raw": audio.copy(), "sampling_rate": 16_000},
            chunk_length_s=CHUNK_SECONDS,
            batch_size=self._batch_size,
            return_timestamps=True,
            generate_kwargs=self._generate_kwargs(options),
        )
        chunks = tuple(
            {"start": c["timestamp"][0], "end": c["timestamp"][1], "text": c["text"]} for c in result.get("chunks", [])
        )
        return result["text"], chunks

    def params(self) -> dict[str, Any]:
        return dict(self._params)

    def close(self) -> None:
        self._pipe = None
        self._graph_decoders = {}
        self.release_device()
