"""openai-whisper, the reference implementation, running our converted checkpoint."""

from __future__ import annotations


import numpy as np

from ..models.ref import ModelRef
from .base import Backend, DecodeOptions, LoadOptions, LoadResult, TimedWord, Transcript, WordTranscript
from .pytorch.devices import TorchDeviceMixin


class OpenAIWhisperBackend(TorchDeviceMixin, Backend):
    name = "openai-whisper"
    display_name = "openai-whisper"
    requires = ("openai-whisper", "torch")
    model_format = "openai"
    extra = "openai-whisper"

    def __init__(self) -> None:
        super().__init__()
        self._model = None
        self._placement = None

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        import whisper

        from .pytorch.devices import choose_placement

        self._placement = choose_placement(options.device, options.threads)
        # Weights stay float32: the library's LayerNorm needs them so, and its fp16 decoding casts
        # activations and weights to half on the fly.
        self._model = whisper.load_model(model.path, device=self._placement.device)
        actual = self._placement.dtype_name if self._placement.device == "cuda" else "float32"
        self._params = {"device": self._placement.device, "dtype": actual, "threads": self._placement.threads}
        return LoadResult(requested=options.quantization or "default", actual=actual)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        fp16 = self._placement.dtype_name == "float16"
        result = self._model.transcribe(
            audio,
            language=options.language,
            temperature=options.temperature,
            beam_size=options.beam_size if options.beam_size > 1 else None,  # None = greedy decoding
            condition_on_previous_text=options.condition_on_previous_text,
            fp16=fp16,
            verbose=None,
        )
        self.record_params(beam_size=options.beam_size, decoder="beam" if options.beam_size > 1 else "greedy")
        return Transcript.from_whisper_result(result)

    word_timestamps = "whisper.transcribe(word_timestamps=True): cross-attention DTW"

    def transcribe_words(self, audio: np.ndarray, options: DecodeOptions, prompt: str = "") -> WordTranscript:
        result = self._model.transcribe(
            audio,
            language=options.language,
            temperature=options.temperature,
            beam_size=options.beam_size if options.beam_size > 1 else None,
            condition_on_previous_text=options.condition_on_previous_text,
            fp16=self._placement.dtype_name == "float16",
            verbose=None,
            word_timestamps=True,
            initial_prompt=prompt or None,
        )
        self.record_params(beam_size=options.beam_size, decoder="beam" if options.beam_size > 1 else "greedy")
        segments = result["segments"]
        words = tuple(TimedWord(w["word"], float(w["start"]), float(w["end"])) for s in segments for w in s.get("words", ()))
        return WordTranscript(words, tuple(float(s["end"]) for s in segments))

    batch_mode = "batched whisper.decode (30 s windows, no timestamps)"

    def transcribe_batch(self, audios: list[np.ndarray], options: DecodeOptions) -> list[Transcript]:
        """Clips of up to 30 s go through the library's own batched ``whisper.decode`` in one call."""
        import torch
        import whisper

        if len(audios) == 1 or any(len(a) > whisper.audio.N_SAMPLES for a in audios):
            return [self.transcribe(audio, options) for audio in audios]
        model = self._model
        mels = torch.stack([
            whisper.log_mel_spectrogram(audio, model.dims.n_mels, padding=whisper.audio.N_SAMPLES, device=model.device)[
                :, : whisper.audio.N_FRAMES
            ]
            for audio in audios
        ])
        decoding = whisper.DecodingOptions(
            task="transcribe",
            language=options.language,
            temperature=options.temperature,
            beam_size=options.beam_size if options.beam_size > 1 else None,
            fp16=self._placement.dtype_name == "float16",
            without_timestamps=True,
        )
        results = whisper.decode(model, mels, decoding)
        self.record_params(beam_size=options.beam_size, decoder="batched decode, no timestamps")
        return [Transcript(r.text.strip(), (), r.language) for r in results]


    def close(self) -> None:
        self._model = None
        self.release_device()
