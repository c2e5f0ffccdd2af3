"""``--dataset`` through the ``datasets`` library: the same clips as save_to_disk, parquet, an
audiofolder and a JSONL manifest give the same transcripts and WER; sampling, errors, failed clips.

The sets are built here with ``datasets`` itself from the shared varied clips (no network).
"""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest

from tests.conftest import REPO, run_cli, run_fake_cli
from whisper_speedtest.dataset.entries import SampleLimits
from whisper_speedtest.dataset.reading import select
from whisper_speedtest.dataset.spec import parse_spec
from whisper_speedtest.errors import AudioError

datasets = pytest.importorskip("datasets", reason="datasets not installed: pip install 'whisper-speedtest[datasets]'")

VARIED = REPO.parent / "shared" / "audio" / "varied"
if not VARIED.is_dir():
    VARIED = REPO.parent.parent / "shared" / "audio" / "varied"
CLIPS = 4


def _varied_lines(count: int = CLIPS) -> list[dict]:
    if not (VARIED / "manifest.jsonl").is_file():
        pytest.skip(f"shared varied clips not found at {VARIED}")
    lines = [json.loads(line) for line in (VARIED / "manifest.jsonl").read_text().splitlines() if line.strip()]
    return lines[:count]


@pytest.fixture(scope="module")
def forms(tmp_path_factory):
    """The same clips as a manifest, a save_to_disk folder, a parquet file and an audiofolder."""
    root = tmp_path_factory.mktemp("forms")
    lines = _varied_lines()
    paths = [str(VARIED / line["audio"]) for line in lines]
    manifest = root / "clips.jsonl"
    manifest.write_text("".join(json.dumps({"audio": p, "text": line["text"]}) + "\n" for p, line in zip(paths, lines)))
    audio = [{"bytes": open(p, "rb").read(), "path": p.rsplit("/", 1)[-1]} for p in paths]  # embedded, as on the Hub
    table = datasets.Dataset.from_dict({"audio": audio, "sentence": [line["text"] for line in lines]})
    table = table.cast_column("audio", datasets.Audio())
    table.save_to_disk(str(root / "disk"))
    table.to_parquet(str(root / "set.parquet"))
    forms = {"manifest": manifest, "disk": root / "disk", "parquet": root / "set.parquet"}
    if importlib.util.find_spec("torchcodec") is None:
        return forms  # datasets 4 and later encode audiofolder rows through torchcodec (FFmpeg)
    folder = forms["audiofolder"] = root / "audiofolder"
    folder.mkdir()
    for path in paths:
        shutil.copy(path, folder)
    with (folder / "metadata.jsonl").open("w") as out:
        for path, line in zip(paths, lines):
            out.write(json.dumps({"file_name": path.rsplit("/", 1)[-1], "transcription": line["text"]}) + "\n")
    return forms


def test_every_form_selects_the_same_clips_and_references(forms):
    selections = {name: select(parse_spec(str(path))) for name, path in forms.items()}
    expected = [(e.name, round(e.duration_s, 4), e.reference) for e in selections["manifest"].entries]
    for name, selection in selections.items():
        assert [(e.name, round(e.duration_s, 4), e.reference) for e in selection.entries] == expected, name
    assert selections["disk"].spec.text_column == "sentence"
    if "audiofolder" in selections:
        assert selections["audiofolder"].spec.text_column == "transcription"
    assert selections["parquet"].sample == f"all {CLIPS} clips"


def test_samples_are_reproducible_and_within_the_limits(forms):
    first = select(parse_spec(str(forms["disk"])), SampleLimits(max_clips=3))
    again = select(parse_spec(str(forms["parquet"])), SampleLimits(max_clips=3))
    assert [e.name for e in first.entries] == [e.name for e in again.entries] and len(first.entries) == 3
    assert first.sample == f"3 of {CLIPS} clips, seeded sample (seed 0)"
    rows = [e.row for e in first.entries]
    assert rows == sorted(rows)  # back in dataset order
    hours = select(parse_spec(str(forms["manifest"])), SampleLimits(max_hours=20 / 3600))
    assert sum(e.duration_s for e in hours.entries) <= 20
    streamed = select(parse_spec(str(forms["parquet"]), streaming=True), SampleLimits(max_clips=2))
    assert [e.name for e in streamed.entries] == [line["audio"].rsplit("/", 1)[-1] for line in _varied_lines(2)]
    assert streamed.sample == "first 2 clips in stream order" and streamed.entries[0].data


def test_missing_sets_and_columns_are_one_line_errors(forms, tmp_path):
    cases = [
        (["--dataset", str(tmp_path / "nothing")], "error: dataset not found"),
        (["--dataset", str(forms["disk"]), "--text-column", "words"], "has no column 'words' (columns: audio, sentence)"),
        (["--dataset", "hf:nobody/no-such-set:test"], "error: cannot load dataset hf:nobody/no-such-set:test"),
        (["--max-clips", "3"], "error: --max-clips applies to --dataset only"),
    ]
    for args, message in cases:
        result = run_cli("benchmark", "-b", "faster-whisper", "--no-history", *args, env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unreadable_clip_up_front_is_an_error(forms, tmp_path):
    junk = tmp_path / "junk.flac"
    junk.write_bytes(b"not audio at all" * 10)
    table = datasets.Dataset.from_dict({"audio": [str(junk)], "text": ["x"]}).cast_column("audio", datasets.Audio())
    table.save_to_disk(str(tmp_path / "junk"))
    with pytest.raises(AudioError) as caught:
        select(parse_spec(str(tmp_path / "junk")))
    assert "cannot decode audio junk.flac" in str(caught.value)


@pytest.mark.integration
def test_a_bad_clip_in_the_middle_fails_alone_and_the_pass_goes_on(forms, tmp_path):
    """A WAV whose header promises more data than it holds reads up front and fails when decoded."""
    import numpy as np
    import soundfile

    good = tmp_path / "good.wav"
    soundfile.write(good, np.zeros(16000, dtype=np.float32), 16000)
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:20000])
    manifest = tmp_path / "mixed.jsonl"
    rows = [{"audio": str(good), "text": "one"}, {"audio": str(truncated), "text": "two"}, {"audio": str(good), "text": "three"}]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "mixed.json"
    result = run_fake_cli("benchmark", "-b", "fake-echo", "--dataset", str(manifest), "--batch-size", "2", "--no-history", "-q", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())["results"][0]["dataset"]
    assert data["clips"] == 3 and [f["index"] for f in data["failed"]] == [1]
    assert data["failed"][0]["name"] == "truncated.wav" and "truncated" in data["failed"][0]["reason"]
    assert data["transcripts"][1] == "" and data["audio_s"] == pytest.approx(2.0)
    assert "1 failed clip(s)" in result.stdout


def _require_faster_whisper():
    from tests.test_integration_backends import _require

    _require("faster-whisper")


def _hub_env(hub, tmp_path) -> dict[str, str]:
    """A CLI environment that reads the Hub at ``hub`` (or, with ``hub`` None, only the caches in ``tmp_path``)."""
    online = {"HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"} if hub else {
        "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return {**online, "HF_DATASETS_CACHE": str(tmp_path / "datasets-cache"), "HF_HUB_CACHE": str(tmp_path / "hub-cache"),
            "HF_HUB_DISABLE_TELEMETRY": "1"}


def _served(forms) -> dict[str, dict[str, bytes]]:
    return {"me/varied": {"data/test-00000-of-00001.parquet": forms["parquet"].read_bytes()}}


@pytest.mark.integration
def test_a_hub_set_is_read_streamed_and_then_read_again_from_the_cache_offline(forms, tmp_path):
    """``hf:`` through datasets against a local stand-in for the Hub, then with the Hub gone."""
    from tests.hub_server import HubServer

    def clips(env, *args) -> list[str]:
        out = tmp_path / "run.json"
        result = run_fake_cli("benchmark", "-b", "fake-echo", "--no-history", "-q", "-o", str(out), *args, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        run = json.loads(out.read_text())
        assert run["results"][0]["dataset"]["source"] == "hf:me/varied:test"
        return [c["name"] for c in run["clips"]]

    names = [line["audio"].rsplit("/", 1)[-1] for line in _varied_lines()]
    with HubServer({}, datasets=_served(forms)) as hub:
        assert clips(_hub_env(hub, tmp_path), "--dataset", "hf:me/varied", "--streaming", "--max-clips", "2") == names[:2]
        assert clips(_hub_env(hub, tmp_path), "--dataset", "hf:me/varied:test") == names
    assert clips(_hub_env(None, tmp_path), "--dataset", "hf:me/varied:test") == names  # from HF_DATASETS_CACHE alone


@pytest.mark.integration
def test_save_to_disk_parquet_hub_audiofolder_and_manifest_give_the_same_wer(forms, tmp_path):
    from tests.hub_server import HubServer

    _require_faster_whisper()
    results = {}
    with HubServer({}, datasets=_served(forms)) as hub:
        sets = {**{name: (str(path), {}) for name, path in forms.items()}, "hub": ("hf:me/varied:test", _hub_env(hub, tmp_path))}
        for name, (spec, env) in sets.items():
            out = tmp_path / f"{name}.json"
            result = run_cli("benchmark", "-m", "tiny.en", "-b", "faster-whisper", "--device", "cpu", "--dataset", spec,
                             "--batch-size", "2", "--no-history", "-q", "-o", str(out), env=env)
            assert result.returncode == 0, result.stderr[-2000:]
            (row,) = json.loads(out.read_text())["results"]
            assert row["status"] == "ok", row["reason"]
            results[name] = (row["score"]["wer"], row["dataset"]["transcripts"])
    assert len(set(map(str, results.values()))) == 1, results
    assert results["manifest"][0] < 0.5  # tiny.en on synthetic voices at several rates
