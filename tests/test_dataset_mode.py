"""Dataset mode and synthetic weights through the real CLI, on CPU, with the real libraries."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA, run_cli
from tests.test_integration_backends import _require

pytestmark = pytest.mark.integration  # every test here loads a real model

MANIFEST = DATA / "utterances" / "manifest.jsonl"


def test_dataset_pass_reports_throughput_split_and_whole_set_wer(tmp_path):
    for backend in ("transformers", "faster-whisper", "openai-whisper"):
        _require(backend)
    out = tmp_path / "dataset.json"
    result = run_cli("benchmark", "-m", "tiny.en", "-b", "transformers,faster-whisper,openai-whisper", "--dataset", str(MANIFEST),
                     "--batch-size", "5", "--no-history", "-q", "-o", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {r["backend"]: r for r in json.loads(out.read_text())["results"]}
    references = [json.loads(line)["text"] for line in MANIFEST.read_text().splitlines() if line.strip()]
    modes = (("transformers", "batched"), ("faster-whisper", "BatchedInferencePipeline on CUDA"), ("openai-whisper", "batched whisper.decode"))
    for name, mode in modes:
        row = rows[name]
        assert row["status"] == "ok", row["reason"]
        data = row["dataset"]
        assert data["clips"] == 12 and data["batch_size"] == 5 and data["mode"].startswith(mode)
        assert data["audio_s"] == pytest.approx(sum_durations(), rel=1e-3)
        assert data["rtfx"] == pytest.approx(data["audio_s"] / data["wall_s"])
        assert 0 < data["inference_s"] <= data["wall_s"] and data["decode_s"] > 0
        assert len(data["transcripts"]) == 12
        assert row["score"]["wer"] < 0.2
        # transcripts stay in manifest order: each one shares words with its own reference
        for text, reference in zip(data["transcripts"], references):
            assert set(text.lower().split()) & set(reference.lower().split())
    assert "dataset: 12 clips" in result.stdout
    assert result.stdout.count("12 clips in ") == 3 and "audio decode" in result.stdout  # the time split, per backend


def sum_durations() -> float:
    import soundfile

    lines = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()]
    return sum(soundfile.info(str(MANIFEST.parent / entry["audio"])).duration for entry in lines)


def test_synthetic_weights_are_speed_only_everywhere(tmp_path):
    _require("transformers")
    out = tmp_path / "synthetic.json"
    result = run_cli("benchmark", "-m", "tiny", "-b", "transformers", "--synthetic-weights", "--synthetic-tokens", "6",
                     "-n", "1", "--no-history", "-o", str(out), "-o", str(tmp_path / "synthetic.csv"))
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads(out.read_text())["results"]
    assert row["status"] == "ok", row["reason"]
    assert row["model"]["synthetic"] is True and row["score"] is None
    assert row["params"]["synthetic_tokens"] == 6
    assert "[synthetic:" in result.stdout  # in the table's model cell
    assert "Synthetic weights (random, real architecture) for transformers pipeline: speed only, no WER." in result.stdout
    assert "synthetic" in (tmp_path / "synthetic.csv").read_text()


def test_openai_whisper_batched_decode_matches_its_own_transcribe_on_short_clips():
    """The library's batched whisper.decode against its transcribe(), clip by clip, same weights."""
    _require("openai-whisper")
    from whisper_speedtest.audio import read_audio
    from whisper_speedtest.backends.base import DecodeOptions, LoadOptions
    from whisper_speedtest.backends.loader import load_with_fallback, plan_variant
    from whisper_speedtest.backends.openai_whisper import OpenAIWhisperBackend
    from whisper_speedtest.bench.scoring import score_many

    entries = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()][:4]
    audios = [read_audio(MANIFEST.parent / e["audio"])[0] for e in entries]
    backend = OpenAIWhisperBackend()
    load_with_fallback(backend, plan_variant(OpenAIWhisperBackend, "tiny.en", None), LoadOptions(device="cpu"))
    batched = [t.text for t in backend.transcribe_batch(audios, DecodeOptions())]
    assert backend.params()["decoder"] == "batched decode, no timestamps"
    one_by_one = [backend.transcribe(a, DecodeOptions()).text for a in audios]
    backend.close()
    references = [e["text"] for e in entries]
    assert score_many(references, batched).wer <= score_many(references, one_by_one).wer + 0.05
    assert score_many(one_by_one, batched).wer <= 0.15  # the same words, give or take timestamp-mode differences


def test_faster_whisper_batched_pipeline_matches_its_own_transcribe():
    """BatchedInferencePipeline over clips laid end to end against WhisperModel.transcribe, clip by clip;
    a clip over 30 s is transcribed whole (one clip timestamp per window of at most 28 s)."""
    _require("faster-whisper")
    import numpy as np

    from whisper_speedtest.audio import read_audio
    from whisper_speedtest.backends.base import DecodeOptions, LoadOptions
    from whisper_speedtest.backends.faster_whisper import FasterWhisperBackend
    from whisper_speedtest.backends.loader import load_with_fallback, plan_variant
    from whisper_speedtest.bench.scoring import score_many

    entries = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()][:5]
    audios = [read_audio(MANIFEST.parent / e["audio"])[0] for e in entries]
    audios.append(np.concatenate(audios[:4] * 3))  # over 30 s: two windows
    references = [e["text"] for e in entries] + [" ".join([e["text"] for e in entries[:4]] * 3)]
    backend = FasterWhisperBackend()
    backend.batch_on_cpu = True  # the batched path is what a CUDA machine runs; here it runs on the CPU
    load_with_fallback(backend, plan_variant(FasterWhisperBackend, "tiny.en", None), LoadOptions(device="cpu", batch_size=4))
    batched = [t.text for t in backend.transcribe_batch(audios, DecodeOptions())]
    params = backend.params()
    one_by_one = [backend.transcribe(a, DecodeOptions()).text for a in audios]
    backend.close()
    assert params["pipeline"] == "BatchedInferencePipeline" and params["pipeline_batch_size"] == 4
    assert score_many(references, batched).wer <= score_many(references, one_by_one).wer + 0.05
    assert score_many(one_by_one, batched).wer <= 0.15
    assert len(batched[-1].split()) > 1.5 * len(batched[0].split())  # the long clip's second window is there
