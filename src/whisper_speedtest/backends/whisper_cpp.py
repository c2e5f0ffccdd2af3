"""whisper.cpp through pywhispercpp, running our converted ggml model."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..models.ref import ModelRef
from .base import Availability, Backend, DecodeOptions, LoadOptions, LoadResult, TimedWord, Transcript, WordTranscript, physical_cores


def system_info() -> str:
    from pywhispercpp.model import Model

    return str(Model.system_info())


def has_coreml(info: str) -> bool:
    return "COREML = 1" in info


class WhisperCppBackend(Backend):
    name = "whisper.cpp"
    display_name = "whisper.cpp"
    requires = ("pywhispercpp",)
    model_format = "ggml"
    extra = "whisper-cpp"
    quantizations = {"int8": "ggml q8_0 (written by our converter)", "int4": "ggml q4_0 (written by our converter)"}
    fast_load_quantization = "int4"  # q4_0 loaded 3.5x faster than float16, same WER (benchmarks/results, 2026-11-22)

    def __init__(self) -> None:
        super().__init__()
        self._model = None
        self._beam_size = 1

    def _build(self, path: str, threads: int, beam_size: int):
        from pywhispercpp.model import Model

        strategy = 1 if beam_size > 1 else 0
        extra: dict[str, Any] = {"beam_search": {"beam_size": beam_size, "patience": -1.0}} if beam_size > 1 else {"greedy": {"best_of": 1}}
        return Model(
            path,
            params_sampling_strategy=strategy,
            redirect_whispercpp_logs_to=None,
            n_threads=threads,
            print_progress=False,
            print_realtime=False,
            **extra,
        )

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        self._path = model.path
        self._threads = options.threads or physical_cores()
        self._model = self._build(model.path, self._threads, self._beam_size)
        info = system_info()
        self._params = {
            "device": "cpu",
            "threads": self._threads,
            "coreml": has_coreml(info),
            "ggml_type": model.dtype,
        }
        return LoadResult(requested=options.quantization or "default", actual=model.dtype)

    def _call(self, audio: np.ndarray, options: DecodeOptions, **extra):
        """One pywhispercpp ``transcribe`` with our decode settings (and ``extra`` parameters)."""
        if options.beam_size != self._beam_size:
            # The sampling strategy is fixed when the context is created.
            self._beam_size = options.beam_size
            self._model = self._build(self._path, self._threads, self._beam_size)
        return self._model.transcribe(
            audio.astype(np.float32, copy=False),
            language=options.language or "auto",
            temperature=options.temperature,
            temperature_inc=0.0,
            # whisper.cpp keeps the previous call's text in its state and, unless no_context is set,
            # prompts the next call with it: every clip (and every timed run) must start fresh, as in
            # the other libraries. Within one clip, each 30 s window is conditioned on the previous
            # one's text as long as n_max_text_ctx > 0 (its default, 16384).
            no_context=True,
            n_max_text_ctx=16384 if options.condition_on_previous_text else 0,
            **extra,
        )

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        segments = self._call(audio, options)
        self.record_params(beam_size=options.beam_size, decoder="beam" if options.beam_size > 1 else "greedy")
        parts = tuple({"start": s.t0 / 100, "end": s.t1 / 100, "text": s.text} for s in segments)
        return Transcript(" ".join(p["text"].strip() for p in parts).strip(), parts, options.language)

    word_timestamps = "whisper.cpp token timestamps, one segment per word (max_len=1, split_on_word)"

    def transcribe_words(self, audio: np.ndarray, options: DecodeOptions, prompt: str = "") -> WordTranscript:
        # pywhispercpp keeps parameters set on a call for later calls: every one is given here, and
        # transcribe() sets the ones it relies on itself.
        segments = self._call(audio, options, initial_prompt=prompt, token_timestamps=True, max_len=1, split_on_word=True)
        words = tuple(TimedWord(" " + s.text.strip(), s.t0 / 100, s.t1 / 100) for s in segments if s.text.strip())  # whole words
        self._model._set_params({"token_timestamps": False, "max_len": 0, "split_on_word": False, "initial_prompt": ""})
        self.record_params(beam_size=options.beam_size, segments="one per word (max_len=1)")
        return WordTranscript(words, tuple(w.end for w in words))

    def close(self) -> None:
        self._model = None


class WhisperCppCoreMLBackend(WhisperCppBackend):
    """whisper.cpp built with Core ML: only claimed when pywhispercpp's system info says COREML = 1."""

    name = "whisper.cpp-coreml"
    original_names = ("WhisperCppCoreMLImplementation",)
    display_name = "whisper.cpp (Core ML)"
    platforms = ("darwin",)
    word_timestamps = WhisperCppBackend.word_timestamps  # the same transcribe_words, Core ML encoder

    @classmethod
    def available(cls) -> Availability:
        base = super().available()
        if not base.ok:
            return base
        try:
            info = system_info()
        except Exception as exc:  # a broken native build must not stop the listing
            return Availability(False, f"pywhispercpp failed to report its build: {exc}")
        if not has_coreml(info):
            return Availability(
                False,
                "pywhispercpp is built without Core ML (COREML = 0); rebuild it with WHISPER_COREML=1: "
                "see https://github.com/absadiki/pywhispercpp#coreml-support",
            )
        return Availability(True)

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        if sys.platform != "darwin":
            raise RuntimeError("Core ML needs macOS")
        return super().load(model, options)
