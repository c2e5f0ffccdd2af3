"""Hugging Face transformers, through its own ``pipeline()``: the insanely-fast-whisper recipe.

Every clip goes through the stock ``pipeline("automatic-speech-recognition")``: its feature
extractor, its ``generate()`` arguments and its detokenizer. On CUDA that is fp16, SDPA (or
FlashAttention 2 where installed) and batched, as insanely-fast-whisper runs it. On Apple's MPS it
is mac-whisper-speedtest's tuning (``mac_tuning``): a chunk batch of 10–16 from available memory,
20 s chunks, and every clip longer than a chunk through the chunked, batched ``pipeline()``. The
device in the row is the one the model's parameters are on, read back after loading. The only argument
we add is the decode settings every row shares (``--beam-size``, temperature, language): the
pipeline alone decodes with ``num_beams=5`` when the model's generation config sets none, and the
row says so in its params.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from ...errors import QuantizationUnavailable
from ...models.ref import ModelRef
from ..base import Backend, DecodeOptions, LoadOptions, LoadResult, TimedWord, Transcript, WordTranscript
from ..pytorch.devices import TorchDeviceMixin
from .options import DEFAULT_SYNTHETIC_TOKENS, SYNTHETIC_TOKENS

CHUNK_SECONDS = 30
SAMPLE_RATE = 16_000
PIPELINE_DEFAULT_BEAMS = 5  # transformers' ASR pipeline: num_beams when the generation config sets none


def attention_for(device: str) -> str:
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


def is_long(audio: np.ndarray, chunk_s: int = CHUNK_SECONDS) -> bool:
    return len(audio) > chunk_s * SAMPLE_RATE


class TransformersBackend(TorchDeviceMixin, Backend):
    name = "transformers"
    original_names = ("InsanelyFastWhisperImplementation",)
    display_name = "transformers pipeline"
    requires = ("transformers", "torch")
    model_format = "hf"
    extra = "transformers"
    quantizations = {"int8": "torch dynamic int8 of the Linear layers (CPU only)"}
    batch_mode = "batched pipeline()"
    supports_synthetic = True

    def __init__(self) -> None:
        super().__init__()
        self._pipe = None
        self._network = None
        self._processor = None
        self._placement = None
        self._multilingual = False
        self._synthetic_tokens: int | None = None
        self._batch_size = 1
        self._chunk_s = CHUNK_SECONDS

    # -- loading -------------------------------------------------------------------------------

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        import torch

        from ..pytorch.devices import choose_placement
        from . import mac_tuning

        placement = choose_placement(options.device, options.threads)
        attention = attention_for(placement.device)
        if model.synthetic:
            from .synthetic import synthetic_whisper

            network, processor = synthetic_whisper(model.name, placement, attention)
        else:
            from transformers import AutoProcessor, WhisperForConditionalGeneration

            network = WhisperForConditionalGeneration.from_pretrained(
                model.path, dtype=placement.torch_dtype, attn_implementation=attention, low_cpu_mem_usage=True
            ).to(placement.device)
            processor = AutoProcessor.from_pretrained(model.path)
        network.eval()
        quantized = self._quantize(network, options.quantization, placement.device)
        self._network, self._processor, self._placement = network, processor, placement
        self._synthetic_tokens = options.backend_option(SYNTHETIC_TOKENS, DEFAULT_SYNTHETIC_TOKENS) if model.synthetic else None
        free = torch.cuda.mem_get_info()[0] if placement.device == "cuda" else None
        params_m = sum(p.numel() for p in network.parameters()) / 1e6
        if placement.device == "mps":
            tuned = mac_tuning.mps_batch_size(mac_tuning.available_memory())
        else:
            tuned = batch_size_for(placement.device, params_m, free)
        self._batch_size = options.batch_size or tuned
        self._chunk_s = mac_tuning.chunk_seconds(placement.device)
        self._multilingual = bool(getattr(network.generation_config, "is_multilingual", False))
        if not model.synthetic:  # synthetic weights may have no real tokenizer: no pipeline for them
            self._pipe = self._build_pipeline(network, processor, placement)
        actual_dtype = "int8-dynamic" if quantized else str(network.dtype).removeprefix("torch.")
        actual_device = mac_tuning.device_of(network)
        self._params = {
            "device": actual_device,
            "dtype": actual_dtype,
            "attention": network.config._attn_implementation,
            "batch_size": self._batch_size,
            "chunk_s": self._chunk_s,
            "threads": placement.threads,
        }
        if actual_device != placement.device:
            self._params["device_requested"] = placement.device
        if self._synthetic_tokens:
            self._params["synthetic_tokens"] = self._synthetic_tokens
        self._after_load(options, quantized)
        return LoadResult(requested=options.quantization or "default", actual=actual_dtype)

    def _after_load(self, options: LoadOptions, quantized: bool) -> None:
        """Hook for the backends built on this one."""

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

    # -- transcription -------------------------------------------------------------------------

    def generate_kwargs(self, options: DecodeOptions) -> dict[str, Any]:
        return generate_kwargs(options, self._multilingual)

    def _note_decode(self, options: DecodeOptions, decoder: str) -> None:
        self.record_params(beam_size=options.beam_size, decoder=decoder)
        if options.beam_size != PIPELINE_DEFAULT_BEAMS and not self._synthetic_tokens:
            self._params["library_default_beam_size"] = PIPELINE_DEFAULT_BEAMS

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        if not is_long(audio, self._chunk_s):
            return self.transcribe_batch([audio], options)[0]
        if self._synthetic_tokens:
            raise NotImplementedError(f"--synthetic-weights decodes clips of up to {self._chunk_s} s only")
        chunked = self._batch_size > 1
        call: dict[str, Any] = {"return_timestamps": True, "generate_kwargs": self.generate_kwargs(options)}
        if chunked:  # insanely-fast-whisper: overlapping chunks (30 s; 20 s on MPS) decoded in batches, then merged
            call.update(chunk_length_s=self._chunk_s, batch_size=self._batch_size)
        else:  # Whisper's own long-form algorithm: 30 s windows that move on by the predicted timestamps
            call["generate_kwargs"]["condition_on_prev_tokens"] = options.condition_on_previous_text
        result = self._pipe(audio, **call)
        self._note_decode(options, "pipeline() → generate()")
        self._params["longform"] = "chunked-batched" if chunked else "sequential"
        chunks = tuple(
            {"start": c["timestamp"][0], "end": c["timestamp"][1], "text": c["text"]} for c in result.get("chunks", [])
        )
        return Transcript(result["text"].strip(), chunks, options.language)

    def transcribe_batch(self, audios: list[np.ndarray], options: DecodeOptions) -> list[Transcript]:
        if any(is_long(a, self._chunk_s) for a in audios):
            return [self.transcribe(a, options) for a in audios]
        if self._synthetic_tokens:
            return self._synthetic_batch(audios, options)
        results = self._pipe(list(audios), batch_size=len(audios), generate_kwargs=self.generate_kwargs(options))
        self._note_decode(options, "pipeline() → generate()")
        return [Transcript(r["text"].strip(), (), options.language) for r in results]

    word_timestamps = 'pipeline(return_timestamps="word"): cross-attention DTW over the alignment heads'

    def transcribe_words(self, audio: np.ndarray, options: DecodeOptions, prompt: str = "") -> WordTranscript:
        kwargs = self.generate_kwargs(options)
        if prompt:
            kwargs["prompt_ids"] = self._processor.get_prompt_ids(prompt, return_tensors="pt").to(self._network.device)
        result = self._pipe(audio, return_timestamps="word", generate_kwargs=kwargs)
        self._note_decode(options, "pipeline() → generate()")
        self._params["segments"] = "one per word (word timestamps only)"
        words = tuple(
            TimedWord(c["text"], float(c["timestamp"][0]), float(c["timestamp"][1] if c["timestamp"][1] is not None else c["timestamp"][0]))
            for c in result.get("chunks", ())
        )
        return WordTranscript(words, tuple(w.end for w in words))

    def _synthetic_batch(self, audios: list[np.ndarray], options: DecodeOptions) -> list[Transcript]:
        """Random weights: exactly ``synthetic_tokens`` greedy steps per clip through ``generate()``."""
        import torch

        from .log_mel import log_mel_batch
        from .synthetic import generate_fixed_tokens

        network = self._network
        features = log_mel_batch(list(audios), self._processor.feature_extractor, network.device, network.dtype)
        with torch.inference_mode():
            tokens = generate_fixed_tokens(network, features, self._synthetic_tokens)
        self._note_decode(options, "generate() (fixed token count)")
        texts = self._processor.tokenizer.batch_decode(tokens, skip_special_tokens=True)
        return [Transcript(t.strip(), (), options.language) for t in texts]


    def close(self) -> None:
        self._pipe = self._network = self._processor = None
        self.release_device()
