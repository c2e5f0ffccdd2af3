import json

import pytest

from whisper_speedtest.errors import UserError
from whisper_speedtest.results import (
    BackendResult,
    BenchmarkRun,
    ClipInfo,
    ClipResult,
    DecodeSettings,
    ModelIdentity,
    Provenance,
    Score,
    SchemaError,
    Stats,
    load_run,
    run_from_dict,
    run_to_json,
    write_atomic,
)


def make_run() -> BenchmarkRun:
    stats = Stats(3, 0.5, 0.51, 0.49, 0.55, 0.03)
    score = Score(0.1, 0.05, "norm", "1.0")
    ok = BackendResult(
        backend="faster-whisper",
        display_name="faster-whisper",
        status="ok",
        model=ModelIdentity("tiny.en", "ct2", "float16", "abc123"),
        load_s=1.2,
        transcribe=stats,
        rtfx=22.0,
        score=score,
        clips=(ClipResult("jfk.wav", 11.0, stats, 22.0, "and so", score),),
        peak_rss_mb=250.0,
        params={"device": "cpu", "threads": 2},
    )
    failed = BackendResult(backend="x", display_name="X", status="failed", reason="boom")
    return BenchmarkRun(
        run_id="r1",
        created="2026-01-01T00:00:00",
        provenance=Provenance("0.1", None, "Linux", "x86_64", "cpu", 2, 2, 8.0, (), "3.11", {"numpy": "2"}),
        settings=DecodeSettings(language="en", beam_size=1, temperature=0.0, runs=3, warmup=1, timeout_s=60.0),
        clips=(ClipInfo("jfk.wav", "/x/jfk.wav", 11.0, "ref", 16000, 1),),
        results=(ok, failed),
    )


def test_json_round_trip_is_lossless():
    run = make_run()
    text = run_to_json(run)
    assert json.loads(text)["schema_version"] == 1
    assert run_from_dict(json.loads(text)) == run


def test_wrong_or_missing_schema_version_is_named():
    data = json.loads(run_to_json(make_run()))
    data["schema_version"] = 99
    with pytest.raises(SchemaError, match="schema_version 99"):
        run_from_dict(data)
    with pytest.raises(SchemaError, match="schema_version None"):
        run_from_dict({"results": []})


def test_corrupt_file_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "results": [', encoding="utf-8")
    with pytest.raises(UserError, match="not valid JSON"):
        load_run(bad)


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    write_atomic(target, "old")

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", explode)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_raw_samples_intervals_and_audio_set_round_trip():
    from dataclasses import replace

    from whisper_speedtest.results import AudioSet, Interval, LoadSnapshot, RowIntervals, WordErrors

    run = make_run()
    ok, failed = run.results
    clip = replace(ok.clips[0], samples=(0.49, 0.5, 0.55), reference="ref", word_errors=WordErrors(1, 10))
    ok = replace(
        ok, clips=(clip,), samples=(0.49, 0.5, 0.55),
        intervals=RowIntervals(Interval(0.49, 0.55, "bootstrap over 3 timed runs"), Interval(20.0, 22.4, "bootstrap over 3 timed runs")),
        machine_load=(LoadSnapshot("start", 2.5, 2, 2400.0, 40.0), LoadSnapshot("end", 2.1, 2, None, None)),
        warnings=("busy machine: load average 2.5 above the 2 cores at the start; timings are slower and noisier than on a quiet machine",),
    )
    run = replace(run, results=(ok, failed), audio_set=AudioSet("ab" * 32, 1, 11.0))
    data = json.loads(run_to_json(run))
    assert data["schema_minor"] == 4 and data["results"][0]["samples"] == [0.49, 0.5, 0.55]
    assert data["results"][0]["clips"][0]["word_errors"] == {"errors": 1, "words": 10}
    assert run_from_dict(data) == run


@pytest.mark.parametrize("minor", [None, 1, 2, 3])
def test_files_of_schema_1_0_to_1_3_still_load(minor):
    """A file from before 1.4 has none of the samples, intervals, load snapshots, warnings or audio set."""
    data = json.loads(run_to_json(make_run()))
    del data["audio_set"]
    for row in data["results"]:
        for key in ("samples", "intervals", "machine_load", "warnings"):
            del row[key]
        for clip in row["clips"]:
            del clip["samples"], clip["reference"], clip["word_errors"]
    if minor is None:
        del data["schema_minor"], data["price_per_hour"]
    else:
        data["schema_minor"] = minor
    run = run_from_dict(data)
    assert run.schema == f"1.{minor or 0}"
    assert run.audio_set is None and run.results[0].samples == () and run.results[0].clips[0].word_errors is None
