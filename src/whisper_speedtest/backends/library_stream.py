"""A library's own streaming API, as the streaming benchmark reads it (``bench.streaming.native``).

A backend with one sets ``library_streaming`` (a line saying which API and how it is called) and
either ``open_library_stream`` (audio fed step by step from Python: parakeet-mlx) or
``stream_with_library`` (the library streams a whole file itself and reports its updates with their
clock times: the Swift bridges). Either way an update is what the library shows at that moment:
every piece it has *confirmed* so far and the *unconfirmed* pieces after them. A piece is a word
or a sub-word token; a leading space starts a new word, as the tokenizers spell them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .base import TimedWord


@dataclass(frozen=True)
class LibraryUpdate:
    confirmed: tuple[TimedWord, ...]  # every confirmed piece since the stream began, in audio time
    unconfirmed: tuple[TimedWord, ...]  # what the library shows after them, still open to change


@dataclass(frozen=True)
class LibraryEvent:
    """One update a library reported while streaming a file itself, with the clock it reported it at."""

    audio_end_s: float  # audio fed when the update came
    clock_s: float  # simulated clock: the audio time; real clock: seconds since the stream began
    compute_s: float  # seconds the library worked for this update
    update: LibraryUpdate


class LibraryStream(Protocol):
    """A stream fed from Python, chunk by chunk."""

    def feed(self, samples: np.ndarray) -> LibraryUpdate: ...

    def end(self) -> LibraryUpdate:
        """The audio ended: everything the library holds, as confirmed."""
        ...

    def close(self) -> None: ...


def words_of(pieces: tuple[TimedWord, ...] | list[TimedWord]) -> list[TimedWord]:
    """Pieces (tokens) joined into words: a piece with a leading space (or the first) starts a word."""
    words: list[TimedWord] = []
    for piece in pieces:
        if words and not piece.text.startswith(" "):
            last = words[-1]
            words[-1] = TimedWord(last.text + piece.text, last.start, max(last.end, piece.end))
        else:
            words.append(TimedWord(piece.text if piece.text.startswith(" ") else " " + piece.text, piece.start, piece.end))
    return words
