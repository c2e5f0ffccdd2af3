"""whisper.cpp through pywhispercpp, running our converted ggml model."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..audio import SAMPLE_RATE
from ..models.ref import ModelRef
from .base import Availability, Backend, DecodeOptions, LoadOptions, LoadResult, TimedWord, Transcript, WordTranscript, physical_cores


def system_info() -> str:
    from pywhispercpp.model import Model

    return str(Model.system_info())


def has_coreml(info: str) -> bool:
    return "COREML = 1" in info


def alignment_heads_preset(model_name: str):
    """whisper.cpp's cross-attention heads for DTW word timing of a catalog model (its presets are
    openai-whisper's alignment heads); for any other model, the heads of the top text layers."""
    import _pywhispercpp as pw

    name = "WHISPER_AHEADS_" + model_name.upper().replace(".", "_").replace("-", "_")
    return getattr(pw, name, pw.WHISPER_AHEADS_N_TOP_MOST)


def timed_words(ctx, audio_s: float) -> WordTranscript:
    """Words from the last ``whisper_full`` call's tokens and their DTW times (``t_dtw``, centiseconds).

    A token's DTW time is where it ends (against faster-whisper's word ends on the long-form passage:
    within a few hundredths of a second). A word is the tokens from one that begins with a space up to
    the next such token; it ends at the time of its last token that is not punctuation (a full stop's
    time takes in the pause after it) and starts where the word before it ended (0 for the first).
    Times are kept within the audio given (whisper.cpp decodes a padded 30 s window). The call decodes
    without timestamp tokens, so there are no segments: the "segment ends" are sentence ends (a word
    ending in . ? or !), whisper_streaming's other way of trimming.
    """
    import _pywhispercpp as pw

    eot = pw.whisper_token_eot(ctx)
    pieces: list[list[tuple[bytes, float]]] = []  # per word: (token bytes, token end)
    for i in range(pw.whisper_full_n_segments(ctx)):
        for j in range(pw.whisper_full_n_tokens(ctx, i)):
            data = pw.whisper_full_get_token_data(ctx, i, j)
            if data.id >= eot:  # special and timestamp tokens
                continue
            piece = pw.whisper_token_to_bytes(ctx, data.id)
            if not pieces or piece.startswith(b" "):
                pieces.append([])
            pieces[-1].append((piece, min(max(data.t_dtw / 100, 0.0), audio_s)))
    words: list[TimedWord] = []
    start = 0.0
    for tokens in pieces:
        text = b"".join(piece for piece, _ in tokens).decode("utf-8", errors="replace").strip()
        spoken = [end for piece, end in tokens if any(ch.isalnum() for ch in piece.decode("utf-8", errors="ignore"))]
        end = max(start, spoken[-1] if spoken else tokens[-1][1])
        if text:
            words.append(TimedWord(" " + text, start, end))
        start = end
    return WordTranscript(tuple(words), tuple(w.end for w in words if w.text.endswith((".", "?", "!"))))


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
        self._word_timing = False

    def _build(self, path: str, threads: int, beam_size: int, word_timing: bool = False):
        from pywhispercpp.model import Model

        strategy = 1 if beam_size > 1 else 0
        extra: dict[str, Any] = {"beam_search": {"beam_size": beam_size, "patience": -1.0}} if beam_size > 1 else {"greedy": {"best_of": 1}}
        if word_timing:
            # DTW over the alignment heads' cross-attention, fixed when the context is created (and not
            # available with flash attention): only the context that times words pays for it.
            extra["context_params"] = {"dtw_token_timestamps": True, "dtw_aheads_preset": alignment_heads_preset(self._model_name),
                                       "dtw_n_top": 2, "flash_attn": False}
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
        self._model_name = model.name
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

    def _call(self, audio: np.ndarray, options: DecodeOptions, word_timing: bool = False, **extra):
        """One pywhispercpp ``transcribe`` with our decode settings (and ``extra`` parameters)."""
        if options.beam_size != self._beam_size or word_timing != self._word_timing:
            # The sampling strategy and DTW word timing are fixed when the context is created.
            self._beam_size, self._word_timing = options.beam_size, word_timing
            self._model = self._build(self._path, self._threads, self._beam_size, word_timing)
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

    word_timestamps = "whisper.cpp DTW token timestamps (dtw_token_timestamps, the model's alignment heads)"

    def transcribe_words(self, audio: np.ndarray, options: DecodeOptions, prompt: str = "") -> WordTranscript:
        # Not whisper.cpp's default token timestamps (token_timestamps, max_len=1): they are spread
        # within the segment's timestamp tokens, and with a prompt Whisper emits few of those, so the
        # words of a buffer's end piled up at its end and the last one ended at the 30 s window's end
        # (a 1.8 s buffer gave "day." from 0.00 to 30.00 s), which stalled the streaming policy.
        # Nor timestamp tokens: with a prompt, whisper.cpp sometimes gave one word and a timestamp past
        # the buffer's end, and stopped there ("The", 0 to 16.24 s, for a 7.6 s buffer of 19 words);
        # DTW times every token without them. pywhispercpp keeps parameters set on a call for later calls.
        self._call(audio, options, word_timing=True, initial_prompt=prompt, no_timestamps=True)
        self._model._set_params({"initial_prompt": "", "no_timestamps": False})
        self.record_params(beam_size=options.beam_size, word_timing="DTW (dtw_token_timestamps)")
        return timed_words(self._model._ctx, len(audio) / SAMPLE_RATE)

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
