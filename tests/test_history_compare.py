"""History round trip, comparing runs (ratios, regression rule) and bad input through the real CLI."""

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from tests.conftest import run_cli
from tests.run_fixtures import make_run, slower
from whisper_speedtest import history
from whisper_speedtest.report.labels import history_line
from whisper_speedtest.report.compare import FASTER, NOT_COMPARABLE, ONLY_IN_B, SAME, SLOWER, compare_runs
from whisper_speedtest.results import Stats, run_to_json, write_atomic


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A store of its own, so each test sees only the runs it recorded."""
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "store"))
    return tmp_path / "store"


def results_cli(*args: str, home=None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {"COLUMNS": "200"} | ({"WHISPER_SPEEDTEST_HOME": str(home)} if home is not None else {})
    return run_cli(*args, timeout=timeout, env=env)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_history_round_trip(home):
    first, second = make_run("a1b2c3d4e5f6"), make_run("a1ffffffffff", cpu="Intel Xeon", created="2026-01-02T10:00:00+0000")
    history.record(first)
    history.record(second)
    assert history.database_path() == home / "history.sqlite"
    entries = history.list_runs(10)
    assert [e.run_id for e in entries] == ["a1ffffffffff", "a1b2c3d4e5f6"]  # newest first
    newest = entries[0]
    assert newest.provenance == second.provenance and newest.models == ("tiny.en",)  # data; the report labels it
    shown = history_line(newest)
    assert shown["machine"] == "Intel Xeon · 2 cores · 24 GiB · no GPU" and shown["model"] == "tiny.en"
    assert shown["backends"] == ["faster-whisper", "faster-whisper@int8", "openai-whisper", "transformers", "whisper.cpp"]
    assert (shown["best_backend"], shown["best_median_s"]) == ("faster-whisper@int8", 0.35)
    assert history.list_runs(1) == entries[:1]
    assert history.get_run("a1b2") == first  # a prefix, and the JSON round trip is lossless
    assert history.get_run("a1ffffffffff") == second
    with pytest.raises(history.UnknownRun, match="ambiguous"):
        history.get_run("a1")
    with pytest.raises(history.UnknownRun, match="no run 'zz'"):
        history.get_run("zz")


def test_recording_a_run_twice_keeps_one_copy(home):
    run = make_run()
    history.record(run)
    history.record(run)
    assert len(history.list_runs(None)) == 1


def test_empty_history_lists_nothing_and_creates_nothing(home):
    assert history.list_runs() == []
    assert not history.database_path().exists()
    with pytest.raises(history.UnknownRun, match="nothing has been recorded"):
        history.get_run("abc")


def test_corrupt_database_is_a_user_error(home):
    home.mkdir(parents=True)
    (home / "history.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(history.HistoryError, match="history database .* cannot be used"):
        history.list_runs()


def test_regression_needs_a_slower_median_and_no_overlap():
    base = make_run()
    rows = {r.backend: r for r in compare_runs(base, slower(base, "openai-whisper", 1.5, "b")).rows}
    # default rows are named by the precision that ran (report/comparable.py): float16 here
    assert rows["openai-whisper@float16"].verdict == SLOWER and rows["openai-whisper@float16"].ratio == pytest.approx(1.5)
    assert rows["faster-whisper@float16"].verdict == SAME and rows["faster-whisper@float16"].ratio == pytest.approx(1.0)
    assert rows["whisper.cpp@float16"].verdict == NOT_COMPARABLE
    assert rows["openai-whisper@float16"].wer_delta == 0.0
    # 1.8 s ± 0.1: 6 % slower still overlaps A's range (1.7–1.9), so it is within the spread
    assert compare_runs(base, slower(base, "openai-whisper", 1.06, "b")).regressions == ()
    assert {r.backend: r.verdict for r in compare_runs(slower(base, "openai-whisper", 1.5, "a"), base).rows}["openai-whisper@float16"] == FASTER


def test_single_runs_need_more_than_five_percent():
    def single(median: float):
        row = replace(make_run().results[0], transcribe=Stats(1, median, median, median, median, 0.0))
        return replace(make_run(), results=(row,))

    assert compare_runs(single(1.0), single(1.03)).rows[0].verdict == SAME
    assert compare_runs(single(1.0), single(1.10)).rows[0].verdict == SLOWER


def test_rows_present_in_one_run_only_are_listed():
    base = make_run()
    extra = replace(base.results[0], backend="whisper-jax", display_name="whisper-jax")
    rows = {r.backend: r.verdict for r in compare_runs(base, replace(base, results=base.results + (extra,))).rows}
    assert rows["whisper-jax@float16"] == ONLY_IN_B


@pytest.fixture
def two_machines(tmp_path):
    a = make_run("a1b2c3d4e5f6", cpu="AMD EPYC 7B13")
    b = slower(make_run("b9b8b7b6b5b4", cpu="Apple M2 Pro", gpus=("Apple M2 Pro GPU",), created="2026-02-01T09:00:00+0000"), "openai-whisper", 1.5, "b9b8b7b6b5b4")
    b = replace(b, results=tuple(replace(r, score=replace(r.score, wer=r.score.wer + 0.045)) if r.backend == "transformers" else r for r in b.results))
    paths = tmp_path / "a.json", tmp_path / "b.json"
    write_atomic(paths[0], run_to_json(a))
    write_atomic(paths[1], run_to_json(b))
    return paths


def test_compare_cli_prints_ratios_and_flags_the_regression(two_machines, tmp_path):
    a, b = two_machines
    result = results_cli("compare", str(a), str(b), home=tmp_path / "store")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "AMD EPYC 7B13" in text and "Apple M2 Pro" in text
    assert "1.50×" in text and "REGRESSION (slower)" in text and "1 regression(s)" in text
    assert "+0.045" in text  # transformers' WER got worse
    assert results_cli("compare", str(a), str(b), "--fail-on-regression", home=tmp_path / "store").returncode == 1
    data = json.loads(results_cli("compare", str(a), str(b), "--json", home=tmp_path / "store").stdout)
    flagged = [row["backend"] for row in data["rows"] if row["regression"]]
    assert flagged == ["openai-whisper@float16"]


def test_compare_cli_reads_runs_from_the_history(two_machines, tmp_path):
    store = tmp_path / "store"
    a, b = two_machines
    record = f"from whisper_speedtest import history, results; history.record(results.load_run({str(a)!r}))"
    subprocess.run([sys.executable, "-c", record], check=True, env={**os.environ, "WHISPER_SPEEDTEST_HOME": str(store)})
    result = results_cli("compare", "a1b2", str(b), home=store)
    assert result.returncode == 0 and "REGRESSION" in result.stdout
    listing = results_cli("history", home=store)
    assert "a1b2c3d4e5f6" in listing.stdout and "faster-whisper@int8 (0.350 s)" in listing.stdout
    assert json.loads(results_cli("history", "--json", home=store).stdout)[0]["run_id"] == "a1b2c3d4e5f6"
    assert "no run 'zzzz' in the history" in one_error_line(results_cli("compare", "zzzz", str(b), home=store))


@pytest.mark.parametrize("version", [0, 99])
def test_unknown_schema_version_is_one_line_naming_it(two_machines, tmp_path, version):
    a, b = two_machines
    data = json.loads(a.read_text())
    data["schema_version"] = version
    old = tmp_path / f"v{version}.json"
    old.write_text(json.dumps(data))
    line = one_error_line(results_cli("compare", str(old), str(b), home=tmp_path / "store"))
    assert f"schema_version {version}" in line and str(old) in line


def test_corrupt_json_is_one_line(two_machines, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "results": [')
    line = one_error_line(results_cli("report", str(bad), "-o", str(tmp_path / "out.html"), home=tmp_path / "store"))
    assert "not valid JSON" in line and "schema_version 1" in line
    assert not (tmp_path / "out.html").exists()


def test_report_merges_machines_into_one_page(two_machines, tmp_path):
    pytest.importorskip("matplotlib")
    a, b = two_machines
    out = tmp_path / "merged.html"
    result = results_cli("report", str(a), str(b), "-o", str(out), "-o", str(tmp_path / "merged.png"), home=tmp_path / "store")
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert "<th>Machine</th>" in page and "AMD EPYC 7B13" in page and "Apple M2 Pro + Apple M2 Pro GPU" in page
    assert (tmp_path / "merged.png").read_bytes().startswith(b"\x89PNG")
    message = one_error_line(results_cli("report", str(a), "-o", str(tmp_path / "x.csv"), home=tmp_path / "store"))
    assert message.endswith("report cannot write '" + str(tmp_path / "x.csv") + "'; it writes .html, .png"), message  # exactly what it writes
