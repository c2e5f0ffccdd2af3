"""Scripted backends for the streaming tests: their words and times are fixed, so latencies have a known answer.

The audio they get is a ramp (sample i holds the value i), so a buffer's first sample tells where in
the stream it starts, whatever the policy trimmed.
"""

import time

import numpy as np

from whisper_speedtest.audio import SAMPLE_RATE
from whisper_speedtest.backends.base import Backend, LoadResult, TimedWord, Transcript, WordTranscript

# (word, start, end) in seconds of a 5 s stream
WORDS = ((" one", 0.2, 0.6), (" two", 0.9, 1.4), (" three", 1.6, 2.3), (" four", 2.5, 3.1), (" five", 3.4, 3.9), (" six", 4.2, 4.8))
AUDIO_S = 5.0


def ramp(seconds: float = AUDIO_S) -> np.ndarray:
    return np.arange(int(seconds * SAMPLE_RATE), dtype=np.float32)


def alignment_words() -> tuple[TimedWord, ...]:
    return tuple(TimedWord(text, start, end) for text, start, end in WORDS)


class ScriptedStreamBackend(Backend):
    """Hears every word of ``WORDS`` that has ended within the buffer, perfectly."""

    name = "fake-stream"
    display_name = "fake stream"
    model_format = "ct2"
    word_timestamps = "scripted: the words of WORDS that ended within the buffer"

    def load(self, model, options):
        return LoadResult(requested="default", actual="scripted")

    def transcribe(self, audio, options):
        return Transcript("".join(text for text, _, end in WORDS if end <= len(audio) / SAMPLE_RATE).strip())

    def heard(self, text: str, start: float, end: float, buffer_end: float) -> str:
        return text

    def transcribe_words(self, audio, options, prompt=""):
        start = float(audio[0]) / SAMPLE_RATE
        end = start + len(audio) / SAMPLE_RATE
        words = tuple(
            TimedWord(self.heard(text, a, b, end), a - start, b - start) for text, a, b in WORDS if a >= start - 1e-6 and b <= end + 1e-6
        )
        return WordTranscript(words, tuple(w.end for w in words))


class MishearsFirstBackend(ScriptedStreamBackend):
    """Hears "one" as "won" while the buffer ends before 1.5 s, then corrects itself."""

    name = "fake-stream-mishears"
    word_timestamps = "scripted, with one word misheard at first"

    def heard(self, text, start, end, buffer_end):
        return " won" if text == " one" and buffer_end < 1.5 else text


class HallucinatingBackend(ScriptedStreamBackend):
    """Says "thank you" whatever it hears (a silent stream has no reference words at all)."""

    name = "fake-stream-hallucinates"
    word_timestamps = "scripted hallucination"

    def transcribe_words(self, audio, options, prompt=""):
        return WordTranscript((TimedWord(" thank", 0.0, 0.3), TimedWord(" you", 0.3, 0.5)), (0.5,))


class HangsMidStreamBackend(ScriptedStreamBackend):
    """Streams two steps, then never returns."""

    name = "fake-stream-hangs"
    word_timestamps = "scripted, then hangs"
    calls = 0

    def transcribe_words(self, audio, options, prompt=""):
        HangsMidStreamBackend.calls += 1
        if HangsMidStreamBackend.calls > 2:
            time.sleep(3600)
        return super().transcribe_words(audio, options, prompt)


class NoWordTimesBackend(ScriptedStreamBackend):
    """Claims no word timestamps (the class attribute is not its own)."""

    name = "fake-stream-no-times"
    display_name = "fake without word times"
    word_timestamps = ""





class PrintsWhileLoadingBackend(ScriptedStreamBackend):
    """Prints as libraries do while loading: a Python line on stdout and bytes written straight to file descriptor 2."""

    name = "fake-stream-prints"
    display_name = "fake that prints"
    word_timestamps = "scripted, printing at load"

    def load(self, model, options):
        import os

        print("Loading weights: 100%|##########| 167/167", flush=True)
        os.write(2, b"native: kernel cache warmed\n")
        return super().load(model, options)


class InterruptedMidStreamBackend(ScriptedStreamBackend):
    """Ctrl-C arrives during its third step (in process: the interrupt reaches the session)."""

    name = "fake-stream-interrupted"
    word_timestamps = "scripted, then Ctrl-C"

    def __init__(self):
        super().__init__()
        self.calls = 0

    def transcribe_words(self, audio, options, prompt=""):
        self.calls += 1
        if self.calls > 2:
            raise KeyboardInterrupt
        return super().transcribe_words(audio, options, prompt)


class ScriptedLibraryStream:
    """A library stream that confirms the words of WORDS ended a second before the audio fed, and shows those since."""

    def __init__(self):
        self.fed = 0.0

    def _update(self, confirm_before: float):
        from whisper_speedtest.backends.library_stream import LibraryUpdate

        heard = [TimedWord(text, a, b) for text, a, b in WORDS if b <= self.fed]
        return LibraryUpdate(tuple(w for w in heard if w.end <= confirm_before), tuple(w for w in heard if w.end > confirm_before))

    def feed(self, samples):
        self.fed = (float(samples[-1]) + 1) / SAMPLE_RATE  # the ramp says where the audio ends
        return self._update(self.fed - 1.0)

    def end(self):
        return self._update(self.fed)

    def close(self):
        pass


class ScriptedLibraryBackend(ScriptedStreamBackend):
    """A backend with a streaming API of its own, fed from Python (as parakeet-mlx's is)."""

    name = "fake-library-stream"
    display_name = "fake library stream"
    word_timestamps = ""
    library_streaming = "scripted: words confirmed one second after they end"

    def open_library_stream(self, options):
        return ScriptedLibraryStream()


class HangsMidLiveStreamBackend(ScriptedStreamBackend):
    """Streams (warm-up included) for a second and a half after it loaded, then never returns."""

    name = "fake-stream-hangs-live"
    word_timestamps = "scripted, then hangs mid-stream"

    def load(self, model, options):
        self.loaded_at = time.monotonic()
        return super().load(model, options)

    def transcribe_words(self, audio, options, prompt=""):
        if time.monotonic() - self.loaded_at > 1.5:
            time.sleep(3600)
        return super().transcribe_words(audio, options, prompt)


class RunsAwayAtTheEndBackend(ScriptedStreamBackend):
    """Hears the words, and at the audio's very end adds a run of full stops (openai-whisper's tiny.en
    gave 220 " ." on the long-form passage's last quarter second)."""

    name = "fake-stream-runs-away"
    word_timestamps = "scripted, with a run of punctuation at the end"

    def transcribe_words(self, audio, options, prompt=""):
        heard = super().transcribe_words(audio, options, prompt)
        end = len(audio) / SAMPLE_RATE
        if float(audio[-1]) / SAMPLE_RATE + 1 / SAMPLE_RATE < 5.0 - 1e-6:
            return heard
        dots = tuple(TimedWord(" .", end - 0.01, end - 0.01) for _ in range(50))
        return WordTranscript(heard.words + dots, heard.segment_ends)
