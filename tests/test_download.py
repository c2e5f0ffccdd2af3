"""download against a local imitation of the Hub: real tiny.en CTranslate2 files, cut transfers, resumes."""

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.hub_server import HubServer, make_cached_repo, repo_files
from whisper_speedtest.models import sources
from whisper_speedtest.models.download import DownloadFailed, SilentProgress, fetch_url_resumable
from whisper_speedtest.models.download_plan import DownloadPlan, Fetch, FileToFetch, disk_space_problems
from whisper_speedtest.models.hub_remote import wanted_files
from whisper_speedtest.models.verify import CacheStatus

REPO = "Systran/faster-whisper-tiny.en"
# Runs the real CLI (whisper_speedtest.cli.main).
# --no-pip-models hides the pip model packages, so the Hub is the only source of tiny.en.
SCRIPT = """
import sys
from whisper_speedtest import cli
from whisper_speedtest.models import packages
if "--no-pip-models" in sys.argv:
    sys.argv.remove("--no-pip-models")
    packages.PACKAGES.clear()
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def ct2_files():
    return repo_files(sources.ct2_source("tiny.en").path)


@pytest.fixture
def cli_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN")}
    env |= {
        "HF_HUB_CACHE": str(tmp_path / "hub"), "WHISPER_SPEEDTEST_HOME": str(tmp_path / "store"),
        "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"), "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_ETAG_TIMEOUT": "5",
        "HF_HUB_DISABLE_XET": "1", "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent.parent), os.environ.get("PYTHONPATH")])),
    }
    return env


def cli(env: dict, *args: str, timeout: float = 120, stdin: str = "") -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-c", SCRIPT, *args], env=env, input=stdin, capture_output=True,
                            text=True, timeout=timeout)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def hub_row(env: dict) -> dict:
    result = cli(env, "check-models", "-b", "faster-whisper", "--json", "--no-pip-models")
    report = json.loads(result.stdout)
    assert result.returncode == (0 if all(r["ready"] for r in report["rows"]) else 1), result.stderr  # 1: not ready
    return report


def test_cut_transfer_is_resumed_and_the_download_verifies(cli_env, ct2_files):
    with HubServer({REPO: ct2_files}, cut_after={"model.bin": 20_000_000}) as hub:
        cli_env["HF_ENDPOINT"] = hub.endpoint
        before = hub_row(cli_env)
        assert before["rows"][0]["status"] == "missing"
        assert before["summary"]["bytes_to_download"] == sum(f.size for f in ct2_files.values())
        result = cli(cli_env, "download", "-b", "faster-whisper", "--yes", "--no-pip-models")
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"ok {REPO}" in result.stdout
        first, resumed = hub.ranges_for("model.bin")  # cut once, then resumed from what had arrived
        assert first is None and 0 < int(resumed.removeprefix("bytes=").rstrip("-")) <= 20_000_000
        after = cli(cli_env, "check-models", "-b", "faster-whisper", "--json", "--deep", "--no-pip-models")
    row = json.loads(after.stdout)["rows"][0]
    assert (row["status"], row["hub"]["status"]) == ("complete", "complete")
    assert row["load"]["status"] == "loaded", row["load"]  # faster-whisper really loads what was downloaded
    assert json.loads(after.stdout)["summary"]["bytes_to_download"] == 0


def test_partial_blob_of_a_killed_run_is_resumed(cli_env, ct2_files):
    model_bin = ct2_files["model.bin"]
    head = model_bin.path.read_bytes()[:30_000_000]
    make_cached_repo(Path(cli_env["HF_HUB_CACHE"]), REPO, {}, partials={model_bin.etag: head})
    with HubServer({REPO: ct2_files}) as hub:
        cli_env["HF_ENDPOINT"] = hub.endpoint
        row = hub_row(cli_env)["rows"][0]
        assert (row["hub"]["status"], row["hub"]["partial_bytes"]) == ("incomplete", 30_000_000)
        result = cli(cli_env, "download", "-b", "faster-whisper", "--yes", "--no-pip-models")
        assert result.returncode == 0, result.stdout + result.stderr
        assert hub.ranges_for("model.bin") == ["bytes=30000000-"]
        row = hub_row(cli_env)["rows"][0]
    assert row["hub"]["status"] == "complete" and row["hub"]["partial_bytes"] == 0


def test_corrupt_blob_is_fetched_again(cli_env, ct2_files, tmp_path):
    broken = tmp_path / "model.bin"
    broken.write_bytes(ct2_files["model.bin"].path.read_bytes()[:-1000])
    files = dict(ct2_files)
    blob = make_cached_repo(Path(cli_env["HF_HUB_CACHE"]), REPO, files, link_blobs=False) / "blobs" / files["model.bin"].etag
    blob.write_bytes(broken.read_bytes())  # the blob keeps its name (sha256 of the good file) but lost its end
    with HubServer({REPO: ct2_files}) as hub:
        cli_env["HF_ENDPOINT"] = hub.endpoint
        assert hub_row(cli_env)["rows"][0]["hub"]["status"] == "corrupt"
        result = cli(cli_env, "download", "-b", "faster-whisper", "--yes", "--no-pip-models")
        assert result.returncode == 0, result.stdout + result.stderr
        assert [r.path.rsplit("/", 1)[-1] for r in hub.log if r.method == "GET" and "/resolve/" in r.path] == ["model.bin"]
        assert hub_row(cli_env)["rows"][0]["hub"]["status"] == "complete"


def test_download_asks_first_and_checks_nothing_twice(cli_env, ct2_files):
    with HubServer({REPO: ct2_files}) as hub:
        cli_env["HF_ENDPOINT"] = hub.endpoint
        declined = cli(cli_env, "download", "-b", "faster-whisper", "--no-pip-models", stdin="n\n")
        assert declined.returncode == 1 and "Nothing downloaded" in declined.stderr
        assert "78.1 MB" in declined.stdout + declined.stderr  # the size came from the Hub API
        assert not any(r.method == "GET" and "/resolve/" in r.path for r in hub.log)
        # With the pip package present, the same weights are never fetched again.
        kept = cli(cli_env, "download", "-b", "faster-whisper", "--yes")
    assert kept.returncode == 0 and "Nothing to download." in kept.stdout
    assert "already present in the pip package" in kept.stdout


def test_offline_reports_plainly_and_fast(cli_env):
    cli_env["HF_HUB_OFFLINE"] = "1"
    check = cli(cli_env, "check-models", "-b", "faster-whisper", "--no-pip-models", timeout=60)
    assert check.returncode == 1 and "Still to download: unknown (offline)" in check.stdout  # missing: not ready
    assert "Offline: downloading is not possible (HF_HUB_OFFLINE is set)." in check.stdout
    fetch = cli(cli_env, "download", "-b", "faster-whisper", "--yes", "--no-pip-models", timeout=60)
    assert fetch.returncode == 1 and "Offline: downloading is not possible" in fetch.stderr


def test_unreachable_or_silent_endpoint_counts_as_offline(cli_env):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused_port = closed.getsockname()[1]
    cli_env["HF_ENDPOINT"] = f"http://127.0.0.1:{refused_port}"
    refused = cli(cli_env, "download", "-b", "faster-whisper", "--yes", "--no-pip-models", timeout=60)
    assert refused.returncode == 1 and "Offline: downloading is not possible (cannot reach" in refused.stderr
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        cli_env |= {"HF_ENDPOINT": f"http://127.0.0.1:{silent.getsockname()[1]}", "HF_HUB_ETAG_TIMEOUT": "1"}
        check = cli(cli_env, "check-models", "-b", "faster-whisper", "--no-pip-models", timeout=60)
    assert check.returncode == 1 and "Offline: downloading is not possible (cannot reach" in check.stdout  # missing: not ready


def _fake_checkpoint() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tiny/data.pkl", os.urandom(300_000))
    return buffer.getvalue()


def test_openai_checkpoint_download_resumes_after_a_cut(tmp_path):
    data = _fake_checkpoint()
    sha = hashlib.sha256(data).hexdigest()
    target = tmp_path / "whisper" / "tiny.en.pt"
    with HubServer({}, plain_files={f"/{sha}/tiny.en.pt": data}, cut_after={f"/{sha}/tiny.en.pt": 100_000}) as hub:
        url = f"{hub.endpoint}/{sha}/tiny.en.pt"
        with pytest.raises(DownloadFailed, match="run download again to resume"):
            fetch_url_resumable(url, target, sha256=sha, progress=SilentProgress(), attempts=1)
        assert (tmp_path / "whisper" / "tiny.en.pt.incomplete").stat().st_size == 100_000 and not target.exists()
        fetch_url_resumable(url, target, sha256=sha, progress=SilentProgress(), attempts=1)
        assert [r.range for r in hub.log] == [None, "bytes=100000-"]
        assert target.read_bytes() == data and not (tmp_path / "whisper" / "tiny.en.pt.incomplete").exists()
        with pytest.raises(DownloadFailed, match="sha256 differs"):
            fetch_url_resumable(url, tmp_path / "other.pt", sha256="0" * 64, progress=SilentProgress())
    assert not (tmp_path / "other.pt.incomplete").exists()


def test_disk_space_check_and_file_selection(tmp_path):
    huge = Fetch("tiny.en", "ct2", ("faster-whisper",), CacheStatus.MISSING, str(tmp_path), repo=REPO,
                 files=(FileToFetch("model.bin", 10**18),))
    assert "not enough disk space" in disk_space_problems(DownloadPlan((huge,), (), None))[0]
    names = ["model.safetensors", "pytorch_model.bin", "tf_model.h5", "config.json", "merges.txt", "README.md"]
    assert wanted_files("hf", names) == ["config.json", "merges.txt", "model.safetensors"]
    assert wanted_files("ggml", ["ggml-tiny.bin", "ggml-base.bin"], "ggml-tiny.bin") == ["ggml-tiny.bin"]
