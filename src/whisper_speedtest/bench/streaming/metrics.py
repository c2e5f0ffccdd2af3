"""Figures of a streaming pass, computed from its recorded steps alone (so anyone can recompute them).

- Latency of a committed word = the clock when it was committed − the end of the same word in the
  reference alignment. Committed and reference words are matched in order (difflib's longest
  matching blocks over ``word_key``); a committed word with no match (a hallucination, a misheard
  word) gets no latency and is counted as unmatched.
- Revisions: a word shown (committed or tentative) after one step and not shown at the same place
  after the next was changed or withdrawn.
"""

from __future__ import annotations

import difflib
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...backends.base import TimedWord
from .policy import word_key
from .records import LatencySummary, StreamPass

KEPT_UP_CHUNKS = 2.0  # real clock: kept up when the lag grew by at most two chunks from the stream's start to its end
LAG_WINDOW = 5  # steps whose median lag is the start's (the first ones) and the end's (the last ones)


@dataclass(frozen=True)
class CommitLatency:
    word: str
    step: int
    clock_s: float
    reference_end_s: float

    @property
    def latency_s(self) -> float:
        return self.clock_s - self.reference_end_s


def committed_words(stream: StreamPass) -> list[tuple[TimedWord, int, float]]:
    """Every committed word in order, with the step that committed it and the clock at that step."""
    return [(word, step.index, step.clock_s) for step in stream.steps for word in step.committed]


def committed_text(stream: StreamPass) -> str:
    return "".join(w.text for w, _, _ in committed_words(stream)).strip()


def match_in_order(hypothesis: Sequence[str], reference: Sequence[str]) -> list[tuple[int, int]]:
    """(hypothesis index, reference index) of words matched in order, by their ``word_key``."""
    a = [word_key(w) for w in hypothesis]
    b = [word_key(w) for w in reference]
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [(block.a + k, block.b + k) for block in matcher.get_matching_blocks() for k in range(block.size) if a[block.a + k]]


def commit_latencies(stream: StreamPass, alignment: Sequence[TimedWord]) -> tuple[list[CommitLatency], int]:
    """Latency of every committed word that matches a word of the alignment, and how many did not."""
    words = committed_words(stream)
    pairs = match_in_order([w.text for w, _, _ in words], [w.text for w in alignment])
    matched = [CommitLatency(words[i][0].text.strip(), words[i][1], words[i][2], alignment[j].end) for i, j in pairs]
    countable = sum(1 for w, _, _ in words if word_key(w.text))
    return matched, countable - len(matched)


def latency_summary(stream: StreamPass, alignment: Sequence[TimedWord]) -> LatencySummary | None:
    """Median, p90 and first-word latency; None when no committed word matched (silence, say)."""
    matched, unmatched = commit_latencies(stream, alignment)
    if not matched:
        return None
    values = np.array([m.latency_s for m in matched])
    return LatencySummary(
        n=len(matched),
        median_s=float(np.median(values)),
        p90_s=float(np.percentile(values, 90)),
        first_s=float(values[0]),
        unmatched=unmatched,
    )


def revisions(stream: StreamPass) -> int:
    """Shown words later changed or withdrawn: after each step, the words of the previous display
    beyond the prefix the two displays share."""
    count = 0
    shown: list[str] = []
    committed: list[str] = []
    for step in stream.steps:
        committed += [word_key(w.text) for w in step.committed]
        now = committed + [word_key(w.text) for w in step.tentative]
        common = 0
        while common < min(len(shown), len(now)) and shown[common] == now[common]:
            common += 1
        count += len(shown) - common
        shown = now
    return count


def compute_s(stream: StreamPass) -> float:
    return sum(step.compute_s for step in stream.steps)


def lags(stream: StreamPass) -> list[float]:
    """Real clock: for each transcribing step, its finish minus the audio it had (how far behind speech it was)."""
    return [s.clock_s - s.audio_end_s for s in stream.steps if not s.final]


def lag_ends(stream_lags: list[float]) -> tuple[float, float] | None:
    """The lag at the stream's start and at its end: the median of the first and of the last few steps
    (up to ``LAG_WINDOW``, a quarter of them on a short stream), so one slow step, such as a decode that
    runs away on the audio's last fraction of a second, does not read as falling behind."""
    if not stream_lags:
        return None
    window = max(1, min(LAG_WINDOW, len(stream_lags) // 4))
    return statistics.median(stream_lags[:window]), statistics.median(stream_lags[-window:])


def kept_up(stream_lags: list[float], chunk_s: float) -> bool:
    """Whether the lag stayed put: a backend slower than speech lags more with every step."""
    ends = lag_ends(stream_lags)
    return ends is None or ends[1] - ends[0] <= KEPT_UP_CHUNKS * chunk_s
