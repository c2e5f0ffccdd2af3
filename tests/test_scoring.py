import pytest

from whisper_speedtest.bench.scoring import normalize, score, score_many


def test_normalizer_removes_case_punctuation_and_spells_out():
    assert normalize("Hello, Mr. Smith!") == "hello mister smith"


def test_perfect_and_imperfect_scores():
    ref = "And so my fellow Americans, ask not what your country can do for you."
    assert score(ref, "and so my fellow americans ask not what your country can do for you").wer == 0.0
    s = score("the cat sat on the mat", "the cat sat on a mat")
    assert s.wer == pytest.approx(1 / 6)
    assert 0 < s.cer < s.wer
    assert s.normalizer.endswith("EnglishTextNormalizer") and s.normalizer_version


def test_no_reference_means_no_score_and_empty_hypothesis_is_all_errors():
    assert score(None, "anything") is None
    assert score("", "anything") is None
    assert score("two words", "").wer == 1.0


def test_corpus_score_weights_by_words():
    s = score_many(["a b c d", "e f"], ["a b c d", "x y"])
    assert s.wer == pytest.approx(2 / 6)
