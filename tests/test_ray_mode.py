"""``--ray``: the dataset pass on a local Ray (CPU decoders, a model actor) through the real CLI.

It must give the in-process mode's transcripts, and a model actor killed mid-run must lose no clip.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA, REPO, run_cli, run_fake_cli
from tests.test_integration_backends import _require

MANIFEST = DATA / "utterances" / "manifest.jsonl"


def _require_ray():
    pytest.importorskip("ray", reason="Ray not installed: pip install 'whisper-speedtest[ray]'")


@pytest.mark.integration
def test_ray_gives_the_in_process_transcripts(tmp_path):
    """Both with one OpenMP thread: Ray sets OMP_NUM_THREADS to an actor's CPUs, and CTranslate2's int8
    kernels round differently with another thread count (one word of six clips, measured)."""
    _require_ray()
    _require("faster-whisper")
    rows = {}
    for mode, extra in (("in process", ()), ("ray", ("--ray",))):
        out = tmp_path / f"{mode}.json"
        result = run_cli("benchmark", "-m", "tiny.en", "-b", "faster-whisper", "--device", "cpu", "--threads", "1",
                         "--dataset", str(MANIFEST), "--max-clips", "6", "--batch-size", "4", *extra,
                         "--no-history", "-q", "-o", str(out), env={"OMP_NUM_THREADS": "1"})
        assert result.returncode == 0, result.stderr[-2000:]
        (rows[mode],) = json.loads(out.read_text())["results"]
        assert rows[mode]["status"] == "ok", rows[mode]["reason"]
    local, ray = rows["in process"]["dataset"], rows["ray"]["dataset"]
    assert ray["transcripts"] == local["transcripts"] and len(ray["transcripts"]) == 6
    assert rows["ray"]["score"] == rows["in process"]["score"]
    assert ray["driver"].startswith("ray (local): 1 model actor(s)") and len(ray["workers"]) == 1
    assert local["driver"] == "in process" and ray["failed"] == [] and ray["audio_s"] == pytest.approx(local["audio_s"])
    assert ray["startup_s"] > 0 and 0 < ray["inference_s"] and ray["rtfx"] == pytest.approx(ray["audio_s"] / ray["wall_s"])


def test_a_model_actor_killed_mid_run_loses_no_clip(tmp_path):
    _require_ray()
    out = tmp_path / "killed.json"
    marker = tmp_path / "died"
    result = run_fake_cli("benchmark", "-b", "fake-dies-once", "--dataset", str(MANIFEST), "--batch-size", "3", "--ray",
                          "--no-history", "-q", "-o", str(out), timeout=300,
                          env={"FAKE_DIES_ONCE_MARKER": str(marker), "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert marker.exists()  # it did die
    (row,) = json.loads(out.read_text())["results"]
    data = row["dataset"]
    assert row["status"] == "ok" and data["failed"] == [] and data["clips"] == 12
    assert all(text.startswith("clip of ") for text in data["transcripts"])
    import soundfile

    entries = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()]
    lengths = [soundfile.info(str(MANIFEST.parent / e["audio"])).frames for e in entries]
    assert data["transcripts"] == [f"clip of {n} samples" for n in lengths]  # every clip, in manifest order


def test_ray_options_are_checked_before_any_work(tmp_path):
    """Without Ray installed (hidden from this interpreter), --ray is one line and exit 2; so is --ray without --dataset."""
    import subprocess
    import sys

    hide_ray = "import sys; sys.modules['ray'] = None; from whisper_speedtest.cli import main; sys.exit(main(sys.argv[1:]))"
    missing = subprocess.run([sys.executable, "-c", hide_ray, "benchmark", "--dataset", str(MANIFEST), "--ray", "--no-history"],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stderr == "error: --ray needs Ray, which is not installed: pip install 'whisper-speedtest[ray]'\n"
    no_dataset = run_cli("benchmark", "--ray", "--no-history")
    assert no_dataset.returncode == 2 and no_dataset.stderr == "error: --ray runs a --dataset pass; give --dataset\n"


def test_a_hung_model_actor_ends_the_pass_at_the_timeout(tmp_path):
    _require_ray()
    out = tmp_path / "hung.json"
    result = run_fake_cli("benchmark", "-b", "fake-hang", "--dataset", str(MANIFEST), "--ray", "--timeout", "15",
                          "--no-history", "-q", "-o", str(out), timeout=180, env={"PYTHONPATH": str(REPO)})
    assert result.returncode == 1, result.stderr[-3000:]  # no backend succeeded
    (row,) = json.loads(out.read_text())["results"]
    assert row["status"] == "timeout" and "--timeout 15 s; Ray pass stopped" in row["reason"]
