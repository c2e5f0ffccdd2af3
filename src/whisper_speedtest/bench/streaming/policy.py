"""LocalAgreement-n over a growing buffer: the streaming policy of whisper_streaming (Macháček, Dabre
and Bojar, 2023, "Turning Whisper into Real-Time Transcription System"), written for any backend
that times words.

Pure: no clock and no library. Each ``step`` hands the policy more audio; it transcribes the whole
buffer with the committed text as prompt, commits the longest prefix on which this hypothesis and the
``n - 1`` before it agree (n = 2, the paper's LocalAgreement-2, by default), and trims the buffer at
the end of a completed segment once it is longer than ``trim_s``. ``finish`` commits what is left of
the last hypothesis when the audio ends.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...audio import SAMPLE_RATE
from ...backends.base import TimedWord, WordTranscript

DEFAULT_AGREEMENT = 2  # LocalAgreement-2, whisper_streaming's policy


def policy_name(agreement: int = DEFAULT_AGREEMENT) -> str:
    return f"LocalAgreement-{agreement}"


TRIM_S = 15.0  # whisper_streaming's default --buffer_trimming_sec (trimming at segment ends)
WINDOW_S = 30.0  # Whisper's window: a buffer never grows past it
PROMPT_CHARS = 200  # committed text handed back as prompt, as whisper_streaming does

Transcriber = Callable[[np.ndarray, str], WordTranscript]  # (buffer samples, prompt) -> words in buffer time


def word_key(text: str) -> str:
    """A word as the figures match it to the reference: lower case, letters, digits and apostrophes only."""
    return re.sub(r"[^\w']+", "", text.lower())


def same_word(a: TimedWord, b: TimedWord) -> bool:
    """Agreement as whisper_streaming judges it: the same text, case and punctuation included."""
    return a.text.strip() == b.text.strip()


@dataclass(frozen=True)
class StepOutput:
    committed: tuple[TimedWord, ...]  # newly committed at this step, in audio time
    tentative: tuple[TimedWord, ...]  # the unconfirmed tail a live display would show after the committed text


class HypothesisBuffer:
    """The uncommitted words of the last hypotheses, and the agreement of ``agreement`` hypotheses in a row."""

    def __init__(self, agreement: int = DEFAULT_AGREEMENT) -> None:
        if agreement < 2:
            raise ValueError("agreement needs at least two hypotheses")
        self.committed_in_buffer: list[TimedWord] = []
        self.earlier: list[list[TimedWord]] = []  # the uncommitted words of up to agreement - 1 earlier hypotheses, oldest first
        self.new: list[TimedWord] = []
        self.last_committed_end = 0.0
        self._agreement = agreement

    @property
    def previous(self) -> list[TimedWord]:
        """The latest hypothesis's uncommitted words: what a live display shows after the committed text."""
        return self.earlier[-1] if self.earlier else []

    def clear(self) -> None:
        self.earlier = []

    def insert(self, words: list[TimedWord]) -> None:
        """Take a new hypothesis (audio time), without the words that end before the committed text,
        and without a repeat of the last committed words (up to five) at its start."""
        fresh = [w for w in words if w.start > self.last_committed_end - 0.1]
        if fresh and abs(fresh[0].start - self.last_committed_end) < 1 and self.committed_in_buffer:
            for n in range(1, min(len(self.committed_in_buffer), len(fresh), 5) + 1):  # the shortest repeat, as whisper_streaming
                if all(same_word(a, b) for a, b in zip(self.committed_in_buffer[-n:], fresh[:n])):
                    fresh = fresh[n:]
                    break
        self.new = fresh

    def flush(self) -> list[TimedWord]:
        """Commit the longest prefix common to the new hypothesis and the ``agreement - 1`` before it."""
        commit: list[TimedWord] = []
        if len(self.earlier) == self._agreement - 1:
            while self.new and all(h and same_word(self.new[0], h[0]) for h in self.earlier):
                word = self.new.pop(0)
                for hypothesis in self.earlier:
                    hypothesis.pop(0)
                commit.append(word)
                self.last_committed_end = word.end
        self.earlier = (self.earlier + [self.new])[-(self._agreement - 1):]
        self.new = []
        self.committed_in_buffer.extend(commit)
        return commit

    def pop_committed(self, before_s: float) -> None:
        while self.committed_in_buffer and self.committed_in_buffer[0].end <= before_s:
            self.committed_in_buffer.pop(0)


class LocalAgreement:
    """The streaming state for one stream: audio buffer, hypothesis buffer and committed words."""

    def __init__(self, transcribe: Transcriber, trim_s: float = TRIM_S, agreement: int = DEFAULT_AGREEMENT) -> None:
        self._transcribe = transcribe
        self._trim_s = trim_s
        self.buffer = np.zeros(0, dtype=np.float32)
        self.offset_s = 0.0  # audio time of the buffer's first sample
        self.hypothesis = HypothesisBuffer(agreement)
        self.committed: list[TimedWord] = []

    def prompt(self) -> str:
        """Committed text that has left the buffer, at most ``PROMPT_CHARS`` of it, ending with the latest."""
        before = [w.text for w in self.committed if w.end <= self.offset_s]
        text = ""
        for word in reversed(before):
            if len(text) + len(word) > PROMPT_CHARS:
                break
            text = word + text
        return text.strip()

    def step(self, samples: np.ndarray) -> StepOutput:
        """Add ``samples`` (16 kHz float32), transcribe the buffer, commit what two hypotheses agree on."""
        self.buffer = np.concatenate([self.buffer, samples.astype(np.float32, copy=False)])
        result = self._transcribe(self.buffer, self.prompt())
        # a "word" of punctuation alone (openai-whisper's tiny.en ran away into 220 " ." on the long-form
        # passage's last quarter second) is no word: it is neither shown, committed nor counted
        words = [TimedWord(w.text, w.start + self.offset_s, w.end + self.offset_s) for w in result.words if word_key(w.text)]
        self.hypothesis.insert(words)
        commit = self.hypothesis.flush()
        self.committed.extend(commit)
        self._trim([e + self.offset_s for e in result.segment_ends])
        return StepOutput(tuple(commit), tuple(self.hypothesis.previous))

    def finish(self) -> StepOutput:
        """The audio ended: the unconfirmed tail is committed as it stands."""
        rest = tuple(self.hypothesis.previous)
        self.hypothesis.clear()
        self.committed.extend(rest)
        return StepOutput(rest, ())

    @property
    def buffer_s(self) -> float:
        return len(self.buffer) / SAMPLE_RATE

    def _trim(self, segment_ends: list[float]) -> None:
        """Past ``trim_s``: cut at the last completed segment end (the one before the last) that the
        committed text has reached. Past Whisper's window: cut at the committed text's end."""
        if not self.committed:
            if self.buffer_s > WINDOW_S:  # nothing agreed in 30 s: keep the last window (whisper_streaming would overflow)
                self._cut_at(self.offset_s + self.buffer_s - WINDOW_S + self._trim_s)
            return
        committed_end = self.committed[-1].end
        if self.buffer_s > self._trim_s:
            ends = [e for e in segment_ends[:-1] if e <= committed_end]
            if ends:
                self._cut_at(ends[-1])
        if self.buffer_s > WINDOW_S - 2:
            self._cut_at(committed_end)

    def _cut_at(self, time_s: float) -> None:
        drop = int(round((time_s - self.offset_s) * SAMPLE_RATE))
        if drop <= 0:
            return
        self.hypothesis.pop_committed(time_s)
        self.buffer = self.buffer[drop:]
        self.offset_s = time_s
