"""Every backend runs the same real tiny.en weights (converted from the bundled CTranslate2 model)
in its real upstream library, and its WER stays within 0.05 of faster-whisper's."""

import pytest

from tests.conftest import DATA
from whisper_speedtest.audio import collect_clips
from whisper_speedtest.backends import get_backend
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench.session import BenchmarkRequest, run_benchmark, select_backends
from whisper_speedtest.results import DecodeSettings

pytestmark = pytest.mark.integration  # every test here loads a real model

BACKENDS = ["transformers", "openai-whisper", "whisper.cpp", "mlx-whisper"]


def _run(backend: str, clips, runs: int = 1):
    settings = DecodeSettings("en", 1, 0.0, runs=runs, warmup=0, timeout_s=600)
    run = run_benchmark(BenchmarkRequest("tiny.en", select_backends((backend,)), settings, LoadOptions(), clips=tuple(clips)))
    (row,) = run.results
    return row


def _require(backend: str) -> None:
    availability = get_backend(backend).available()
    if not availability.ok:
        pytest.skip(f"{backend} cannot run here: {availability.reason}")


@pytest.fixture(scope="module")
def jfk_clips():
    return collect_clips(None)


@pytest.fixture(scope="module")
def reference_row(jfk_clips):
    _require("faster-whisper")
    row = _run("faster-whisper", jfk_clips)
    assert row.status == "ok", row.reason
    return row


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_runs_the_same_weights_with_close_wer(backend, jfk_clips, reference_row):
    _require(backend)
    row = _run(backend, jfk_clips, runs=2)
    assert row.status == "ok", row.reason
    assert row.model.fingerprint == reference_row.model.fingerprint
    assert row.model.format == get_backend(backend).model_format
    assert row.score.wer <= reference_row.score.wer + 0.05
    assert row.transcribe.n == 2 and row.load_s > 0 and row.peak_rss_mb > 50
    assert row.params["device"] and row.params["beam_size"] == 1
    assert "country" in row.text.lower()
    if backend == "transformers":  # the stock pipeline, never our own decoder
        assert row.params["decoder"] == "pipeline() → generate()"


LONGFORM_BACKENDS = ["faster-whisper", "transformers", "openai-whisper", "whisper.cpp", "mlx-whisper"]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    """About 45 s: the JFK sample followed by six utterances, so speech crosses the 30 s window edge."""
    import numpy as np
    import soundfile as sf

    from whisper_speedtest.audio import load_clip

    jfk = load_clip(DATA.parent.parent / "src" / "whisper_speedtest" / "data" / "jfk.wav")
    utterances = collect_clips([str(DATA / "utterances" / "manifest.jsonl")])[:6]
    gap = np.zeros(8000, dtype=np.float32)
    pieces, texts = [jfk.samples, gap], [jfk.reference]
    for clip in utterances:
        pieces += [clip.samples, gap]
        texts.append(clip.reference)
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, np.concatenate(pieces), 16000)
    clip = load_clip(path, " ".join(texts))
    assert clip.duration_s > 40
    return clip


@pytest.mark.parametrize("backend", LONGFORM_BACKENDS)
def test_longform_transcript_is_complete(backend, long_clip):
    """Over 30 s of speech: nothing may go missing at window or chunk boundaries."""
    _require(backend)
    row = _run(backend, [long_clip])
    assert row.status == "ok", row.reason
    assert len(row.text.split()) >= 0.9 * len(long_clip.reference.split())
    assert row.score.wer <= 0.15
    last_word = long_clip.reference.lower().split()[-1].strip(".")
    assert last_word in row.text.lower()
