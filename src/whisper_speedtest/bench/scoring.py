"""WER/CER after the Whisper English normalizer (jiwer + whisper-normalizer)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import metadata

from ..results import Score, WordErrors

NORMALIZER_NAME = "whisper_normalizer.english.EnglishTextNormalizer"


@lru_cache(maxsize=1)
def _normalizer():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalizer_version() -> str:
    try:
        return metadata.version("whisper-normalizer")
    except metadata.PackageNotFoundError:
        return "unknown"


def normalize(text: str) -> str:
    return " ".join(_normalizer()(text).split())


def score_many(references: Sequence[str], hypotheses: Sequence[str]) -> Score | None:
    """Corpus-level WER and CER over pairs; pairs whose reference normalizes to nothing are skipped."""
    import jiwer

    pairs = [(normalize(r), normalize(h)) for r, h in zip(references, hypotheses, strict=True)]
    pairs = [(r, h) for r, h in pairs if r]
    if not pairs:
        return None
    refs = [r for r, _ in pairs]
    hyps = [h for _, h in pairs]
    return Score(
        wer=float(jiwer.wer(refs, hyps)),
        cer=float(jiwer.cer(refs, hyps)),
        normalizer=NORMALIZER_NAME,
        normalizer_version=normalizer_version(),
    )


def score(reference: str | None, hypothesis: str) -> Score | None:
    """WER/CER for one clip, or ``None`` without a usable reference."""
    if not reference:
        return None
    return score_many([reference], [hypothesis])


def word_errors(reference: str | None, hypothesis: str | None) -> WordErrors | None:
    """One clip's word errors and reference words after normalization (what a corpus WER sums), or None
    without a usable reference or transcript."""
    import jiwer

    if not reference or hypothesis is None:
        return None
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return None
    if not hyp:
        return WordErrors(len(ref.split()), len(ref.split()))
    out = jiwer.process_words(ref, hyp)
    return WordErrors(out.substitutions + out.deletions + out.insertions, out.substitutions + out.deletions + out.hits)
