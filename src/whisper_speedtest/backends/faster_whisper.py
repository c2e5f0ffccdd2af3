"""faster-whisper (CTranslate2)."""

from __future__ import annotations


import numpy as np

from ..errors import QuantizationUnavailable
from ..models.ref import ModelRef
from .base import Backend, DecodeOptions, LoadOptions, LoadResult, TimedWord, Transcript, WordTranscript, physical_cores


LIBRARY_DEFAULT_BEAMS = 5  # WhisperModel.transcribe's beam_size when none is given
# BatchedInferencePipeline transcribes at most 30 s per clip timestamp; a full 30 s window of dense speech came
# back as "the" (tiny.en, without timestamps), so a longer clip is cut into equal windows of at most 28 s.
WINDOW_SAMPLES = 28 * 16_000
DEFAULT_PIPELINE_BATCH = 16  # BatchedInferencePipeline.transcribe's own default batch_size


def compute_type_for(quantization: str | None, device: str) -> str:
    """CTranslate2 compute type for a variant name: int8 on CPU by default, float16 on CUDA."""
    if quantization is None:
        return "float16" if device == "cuda" else "int8"
    if quantization == "int8":
        return "int8_float16" if device == "cuda" else "int8"
    if quantization == "float16":
        return "float16" if device == "cuda" else "float32"  # CTranslate2's CPU kernels have no fp16 path
    raise QuantizationUnavailable(f"CTranslate2 has no {quantization} compute type")


def _windows(index: int, samples: int) -> list[tuple[int, int, int]]:
    """(clip index, start, end) of the equal windows of at most ``WINDOW_SAMPLES`` that cover a clip."""
    count = max(1, -(-samples // WINDOW_SAMPLES))
    bounds = [round(samples * k / count) for k in range(count + 1)]
    return [(index, bounds[k], bounds[k + 1]) for k in range(count)]


class FasterWhisperBackend(Backend):
    name = "faster-whisper"
    original_names = ("FasterWhisperImplementation",)
    display_name = "faster-whisper"
    requires = ("faster-whisper", "ctranslate2")
    model_format = "ct2"
    extra = "faster-whisper"
    quantizations = {"int8": "CTranslate2 compute type int8 (int8_float16 on CUDA)"}
    batch_mode = "BatchedInferencePipeline on CUDA (one clip timestamp per window of at most 28 s); clip by clip on CPU"
    # On CPU the batched pipeline measured no faster than transcribe() clip by clip (15.3 s vs 15.9 s on
    # 11 clips) while its transcripts differ (no timestamp tokens, no conditioning): WER 0.2246 vs 0.2395
    # on 13 varied clips, outside the 0.01 parity with WhisperModel.transcribe. So CPU stays clip by clip.
    batch_on_cpu = False

    def __init__(self) -> None:
        super().__init__()
        self._model = None
        self._pipeline = None
        self._batch_size = DEFAULT_PIPELINE_BATCH

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
        self._pipeline = None
        self._batch_size = options.batch_size or DEFAULT_PIPELINE_BATCH
        self._params = {
            "device": device,
            "compute_type": self._model.model.compute_type,
            "threads": threads if device == "cpu" else None,
        }
        return LoadResult(requested=options.quantization or "default", actual=self._model.model.compute_type)

    def _call(self, audio: np.ndarray, options: DecodeOptions, **extra):
        """One ``WhisperModel.transcribe`` with our decode settings (and ``extra`` arguments): (segments, info)."""
        return self._model.transcribe(
            audio,
            language=options.language,
            beam_size=options.beam_size,
            temperature=options.temperature,
            condition_on_previous_text=options.condition_on_previous_text,
            vad_filter=False,
            **extra,
        )

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        segments, info = self._call(audio, options)
        parts = [{"start": s.start, "end": s.end, "text": s.text} for s in segments]
        self._params["beam_size"] = options.beam_size
        if options.beam_size != LIBRARY_DEFAULT_BEAMS:
            self._params["library_default_beam_size"] = LIBRARY_DEFAULT_BEAMS
        return Transcript("".join(p["text"] for p in parts).strip(), tuple(parts), info.language)

    word_timestamps = "WhisperModel.transcribe(word_timestamps=True): cross-attention DTW"

    def transcribe_words(self, audio: np.ndarray, options: DecodeOptions, prompt: str = "") -> WordTranscript:
        segments, _ = self._call(audio, options, initial_prompt=prompt or None, word_timestamps=True)
        segments = list(segments)
        words = tuple(TimedWord(w.word, float(w.start), float(w.end)) for s in segments for w in (s.words or ()))
        self.record_params(beam_size=options.beam_size)
        return WordTranscript(words, tuple(float(s.end) for s in segments))

    def transcribe_batch(self, audios: list[np.ndarray], options: DecodeOptions) -> list[Transcript]:
        """Several clips through faster-whisper's own ``BatchedInferencePipeline``.

        The clips are laid end to end and handed over as ``clip_timestamps`` (one per 30 s window of
        each clip, so nothing is cut off and no VAD merges two clips); the pipeline batches the windows
        ``batch_size`` at a time, and each segment's ``seek`` says which window it came from.
        """
        from faster_whisper import BatchedInferencePipeline

        if self._params.get("device") != "cuda" and not self.batch_on_cpu:
            self._params["pipeline"] = "WhisperModel.transcribe, clip by clip (BatchedInferencePipeline runs on CUDA only)"
            return [self.transcribe(audio, options) for audio in audios]
        if self._pipeline is None:
            self._pipeline = BatchedInferencePipeline(self._model)
        windows = [window for index, audio in enumerate(audios) for window in _windows(index, len(audio))]
        offsets = np.cumsum([0] + [len(a) for a in audios])
        timestamps = [{"start": (offsets[i] + a) / 16_000, "end": (offsets[i] + b) / 16_000} for i, a, b in windows]
        clip_of_seek = {int(t["start"] * self._model.frames_per_second): i for t, (i, _, _) in zip(timestamps, windows)}
        segments, _ = self._pipeline.transcribe(
            np.concatenate(audios),
            language=options.language,
            multilingual=options.language is None and self._model.model.is_multilingual,  # language per window
            beam_size=options.beam_size,
            temperature=options.temperature,
            batch_size=self._batch_size,
            clip_timestamps=timestamps,
            vad_filter=False,
            without_timestamps=True,
        )
        texts: list[list[str]] = [[] for _ in audios]
        for segment in segments:
            texts[clip_of_seek[segment.seek]].append(segment.text)
        self.record_params(beam_size=options.beam_size, pipeline="BatchedInferencePipeline", pipeline_batch_size=self._batch_size,
                            timestamps="none (without_timestamps)")
        return [Transcript("".join(parts).strip(), (), options.language) for parts in texts]


    def close(self) -> None:
        self._model = None
        self._pipeline = None
