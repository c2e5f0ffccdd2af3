"""faster-whisper with the real bundled tiny.en weights, through the real CLI."""

import json

import pytest

from tests.conftest import DATA, run_cli
from whisper_speedtest.results import load_run

pytestmark = pytest.mark.integration  # every test here loads a real model

pytest.importorskip("faster_whisper", reason="faster-whisper extra not installed: pip install 'whisper-speedtest[faster-whisper]'")


def test_default_benchmark_on_jfk_writes_valid_json(tmp_path):
    out = tmp_path / "results.json"
    result = run_cli("benchmark", "-b", "faster-whisper", "-n", "2", "-o", str(out), "-o", str(tmp_path / "r.csv"), "-o", str(tmp_path / "r.md"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    run = load_run(out)
    (row,) = run.results
    assert row.status == "ok"
    assert row.score.wer <= 0.05
    assert row.transcribe.n == 2 and row.transcribe.median > 0
    assert row.rtfx == pytest.approx(11.0 / row.transcribe.median, rel=0.01)
    assert row.load_s > 0 and row.peak_rss_mb > 50
    assert row.model.name == "tiny.en" and row.model.format == "ct2" and len(row.model.fingerprint) == 64
    assert row.params["device"] == "cpu" and row.params["beam_size"] == 1 and row.params["compute_type"]
    assert "And so my fellow Americans" in row.clips[0].text or "and so my fellow americans" in row.clips[0].text.lower()
    prov = run.provenance
    assert prov.cpu and prov.cores_logical and prov.ram_gb > 0 and prov.python
    assert prov.packages["faster-whisper"] and prov.packages["ctranslate2"]
    assert run.settings.beam_size == 1 and run.settings.language == "en"
    raw = json.loads(out.read_text())
    assert raw["schema_version"] == 1
    assert "faster-whisper" in (tmp_path / "r.csv").read_text()
    assert "| faster-whisper | ok |" in (tmp_path / "r.md").read_text()
    assert "faster-whisper" in result.stdout and "WER" in result.stdout


def test_manifest_of_twelve_clips_is_scored_per_clip_and_overall(tmp_path):
    out = tmp_path / "utt.json"
    result = run_cli(
        "benchmark", "-b", "faster-whisper", "-a", str(DATA / "utterances" / "manifest.jsonl"),
        "-n", "1", "--warmup", "0", "-o", str(out), "-q",
    )
    assert result.returncode == 0, result.stderr
    (row,) = load_run(out).results
    assert len(row.clips) == 12 and all(c.score is not None for c in row.clips)
    assert row.score.wer < 0.25
    assert row.transcribe.median == pytest.approx(sum(c.transcribe.median for c in row.clips), rel=1e-6)
