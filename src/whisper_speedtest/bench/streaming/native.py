"""A library's own streaming as steps of a pass, so its row gets the same figures as LocalAgreement's.

What the library confirmed is committed, a word at a time and only once it is whole (the next
confirmed piece starts a new word, or the audio ended); what it shows unconfirmed is the tentative
tail. A library that changes text it had confirmed fails its row: the figures assume committed words
stay.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...backends.base import TimedWord
from ...backends.library_stream import LibraryEvent, LibraryStream, LibraryUpdate, words_of
from .policy import StepOutput, word_key
from .records import Clock, StreamPass, StreamStep


class ConfirmedTextChanged(RuntimeError):
    """The library withdrew or changed words it had confirmed."""


def _words_with_completeness(update: LibraryUpdate, final: bool) -> tuple[list[TimedWord], int]:
    """Every word shown (confirmed pieces then unconfirmed ones), and how many leading words are whole and confirmed."""
    pieces = list(update.confirmed) + list(update.unconfirmed)
    if final:
        return words_of(pieces), len(words_of(pieces))
    starts = [i for i, piece in enumerate(pieces) if i == 0 or piece.text.startswith(" ")]
    whole = sum(1 for k in range(len(starts)) if k + 1 < len(starts) and starts[k + 1] <= len(update.confirmed))
    return words_of(pieces), whole


class Committer:
    """Turns a library's successive updates into step outputs (newly committed words, tentative tail)."""

    def __init__(self, library: str) -> None:
        self._library = library
        self.committed: list[TimedWord] = []

    def output(self, update: LibraryUpdate, final: bool = False) -> StepOutput:
        words, whole = _words_with_completeness(update, final)
        done = len(self.committed)
        if whole < done or [word_key(w.text) for w in words[:done]] != [word_key(w.text) for w in self.committed]:
            shown = " ".join(w.text.strip() for w in words[:done])
            raise ConfirmedTextChanged(f"{self._library} changed text it had confirmed (now {shown[-80:]!r})")
        fresh = words[done:whole]
        self.committed.extend(fresh)
        return StepOutput(tuple(fresh), tuple(words[whole:]))


class LibraryPolicy:
    """The driver's policy over a stream fed from Python (``driver.play`` / ``play_arriving``)."""

    def __init__(self, stream: LibraryStream, library: str) -> None:
        self._stream = stream
        self._committer = Committer(library)

    def step(self, samples: np.ndarray) -> StepOutput:
        return self._committer.output(self._stream.feed(samples))

    def finish(self) -> StepOutput:
        return self._committer.output(self._stream.end(), final=True)


def pass_from_events(events: Sequence[LibraryEvent], clock: Clock, library: str) -> StreamPass:
    """A pass from the updates a library reported as it streamed a file itself; the last one is the end of the audio."""
    committer = Committer(library)
    steps = []
    for index, event in enumerate(events):
        final = index == len(events) - 1
        out = committer.output(event.update, final=final)
        steps.append(StreamStep(index, round(event.audio_end_s, 4), event.clock_s, event.compute_s, out.committed, out.tentative, final))
    return StreamPass(clock, tuple(steps))
