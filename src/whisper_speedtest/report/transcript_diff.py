"""Word-level differences between a transcript and its reference, after the Whisper normalizer."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from html import escape

EQUAL, SUBSTITUTED, INSERTED, DELETED = "equal", "substituted", "inserted", "deleted"


@dataclass(frozen=True)
class WordChange:
    """One stretch of the alignment: reference words and the hypothesis words that stand for them."""

    kind: str
    reference: tuple[str, ...]
    hypothesis: tuple[str, ...]


def normalized_words(text: str) -> list[str]:
    from ..bench.scoring import normalize

    return normalize(text).split()


def word_changes(reference: str, hypothesis: str) -> list[WordChange]:
    """Align normalized words with difflib (no junk heuristic, so repeated words align too)."""
    ref, hyp = normalized_words(reference), normalized_words(hypothesis)
    kinds = {"equal": EQUAL, "replace": SUBSTITUTED, "insert": INSERTED, "delete": DELETED}
    matcher = difflib.SequenceMatcher(None, ref, hyp, autojunk=False)
    return [WordChange(kinds[op], tuple(ref[i1:i2]), tuple(hyp[j1:j2])) for op, i1, i2, j1, j2 in matcher.get_opcodes()]


def error_count(changes: list[WordChange]) -> int:
    """Substitutions + insertions + deletions, counted in words (difflib's alignment, close to WER's)."""
    total = 0
    for change in changes:
        if change.kind == SUBSTITUTED:
            total += max(len(change.reference), len(change.hypothesis))
        elif change.kind == INSERTED:
            total += len(change.hypothesis)
        elif change.kind == DELETED:
            total += len(change.reference)
    return total


def changes_html(changes: list[WordChange]) -> str:
    """The hypothesis with substitutions marked, insertions underlined and missing words struck out."""
    parts = []
    for change in changes:
        ref, hyp = escape(" ".join(change.reference)), escape(" ".join(change.hypothesis))
        if change.kind == EQUAL:
            parts.append(hyp)
        elif change.kind == SUBSTITUTED:
            parts.append(f'<mark class="sub" title="reference: {ref}">{hyp}</mark>')
        elif change.kind == INSERTED:
            parts.append(f'<ins title="not in the reference">{hyp}</ins>')
        else:
            parts.append(f'<del title="missing from the transcript">{ref}</del>')
    return " ".join(parts)
