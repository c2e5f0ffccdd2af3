"""--weights native against a local fake Hub holding mac-whisper-speedtest's mlx-community repo layout."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.hub_server import HubServer, make_cached_repo, repo_files
from whisper_speedtest.models import catalog

QUANTIZED, PLAIN = "mlx-community/whisper-tiny-mlx-q4", "mlx-community/whisper-tiny-mlx"
REPO_ROOT = Path(__file__).parent.parent


def test_catalog_names_the_originals_repos():
    def names(model):
        return [loc.describe() for loc in catalog.native_locations("mlx", model)]

    assert names("tiny") == [QUANTIZED, PLAIN]
    assert names("small") == ["mlx-community/whisper-small-mlx-4bit", "mlx-community/whisper-small-mlx"]
    assert names("medium") == ["mlx-community/whisper-medium-mlx-8bit", "mlx-community/whisper-medium-mlx"]
    assert names("large-v2") == ["mlx-community/whisper-large-v2-mlx-4bit", "mlx-community/whisper-large-v2-mlx"]
    assert names("large-v3") == ["mlx-community/whisper-large-v3-mlx-8bit", "mlx-community/whisper-large-v3-mlx"]
    assert names("base") == ["mlx-community/whisper-base-mlx"] and names("turbo") == ["mlx-community/whisper-large-v3-turbo"]
    # turbo's quantized repos have no "-mlx"
    assert catalog.upstream_location("mlx", "turbo", "int8").repo == "mlx-community/whisper-large-v3-turbo-8bit"
    assert catalog.native_locations("ct2", "small")[0].repo == "Systran/faster-whisper-small"
    assert catalog.native_locations("hf", "small")[0].repo == "openai/whisper-small"
    assert catalog.native_locations("ggml", "small")[0].filename == "ggml-small.bin"
    assert catalog.native_locations("openai", "large")[0].filename == "large-v3.pt"  # the original's large → large-v3.pt


@pytest.fixture
def mlx_repos(tmp_path):
    """The two repos' files: our converted tiny.en MLX weights stand in for both; the q4 one's config records 4 bits."""
    from whisper_speedtest.models import sources

    source = Path(sources.locate("tiny.en", "mlx").path)
    plain, quantized = tmp_path / "plain", tmp_path / "q4"
    shutil.copytree(source, plain)
    shutil.copytree(source, quantized)
    config = json.loads((quantized / "config.json").read_text())
    (quantized / "config.json").write_text(json.dumps({**config, "quantization": {"group_size": 64, "bits": 4}}))
    return plain, quantized


def _fake_cli(tmp_path, endpoint, *args, extra_env=None):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN")}
    env |= (extra_env or {}) | {"HF_ENDPOINT": endpoint, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_ETAG_TIMEOUT": "5", "COLUMNS": "200", "WHISPER_SPEEDTEST_HOME": str(tmp_path / "store")}
    return subprocess.run([sys.executable, "-m", "tests.fake_cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def _benchmark(tmp_path, endpoint, extra_env=None):
    args = ["-m", "tiny", "-b", "fake-mlx-files", "--weights", "native", "-n", "1", "--warmup", "0", "--language", "auto",
            "--no-history", "-o", str(tmp_path / "run.json")]
    done = _fake_cli(tmp_path, endpoint, "benchmark", *args, extra_env=extra_env)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((tmp_path / "run.json").read_text())["results"][0], done


def test_the_quantized_repo_is_fetched_run_and_labelled(tmp_path, mlx_repos):
    plain, quantized = mlx_repos
    with HubServer({QUANTIZED: repo_files(quantized), PLAIN: repo_files(plain)}) as hub:
        row, _ = _benchmark(tmp_path, hub.endpoint)
        fetched = {r.path.split("/resolve/")[0].removeprefix("/") for r in hub.log if "/resolve/" in r.path}
    assert row["status"] == "ok" and row["variant"] == "native" and not row["did_fallback"]
    assert row["actual_variant"] == "int4" and row["model"]["dtype"] == "int4"
    assert row["model"]["source"] == f"native: {QUANTIZED} (fetched)"
    assert fetched == {QUANTIZED}  # the plain repo is not fetched while the quantized one works


def test_a_broken_quantized_repo_falls_back_to_the_plain_one_and_says_so(tmp_path, mlx_repos):
    plain, quantized = mlx_repos
    (quantized / "weights.safetensors").unlink()  # the quantized repo lacks its weights
    with HubServer({QUANTIZED: repo_files(quantized), PLAIN: repo_files(plain)}) as hub:
        row, done = _benchmark(tmp_path, hub.endpoint)
    assert row["status"] == "ok" and row["did_fallback"] and row["actual_variant"] == "float16"
    assert row["model"]["source"] == f"native: {PLAIN} (fetched)"
    assert f"{QUANTIZED} was fetched but is incomplete (missing weights.safetensors or weights.npz)" in row["fallback_reason"]
    assert "fell back to float16" in done.stdout


def test_a_quantized_repo_that_fails_to_load_falls_back_to_a_cached_plain_one(tmp_path, mlx_repos):
    plain, quantized = mlx_repos
    # A whole copy by the checks (weights.npz is a valid archive) that fake-mlx-files cannot load (it opens
    # weights.safetensors): the failure comes at load time. A truncated file is caught before, by the checks.
    (quantized / "weights.safetensors").unlink()
    np.savez(quantized / "weights.npz", dummy=np.zeros(4, np.float16))
    with HubServer({QUANTIZED: repo_files(quantized), PLAIN: repo_files(plain)}) as hub:
        # The plain repo is in the cache already (fetched by an earlier run); the quantized one is fetched now.
        env_cache = tmp_path / "hub"
        for name in repo_files(plain):
            subprocess.run([sys.executable, "-c", "import sys; from huggingface_hub import hf_hub_download; "
                            "hf_hub_download(sys.argv[1], sys.argv[4], cache_dir=sys.argv[2], endpoint=sys.argv[3])",
                            PLAIN, str(env_cache), hub.endpoint, name],
                           check=True, env={**os.environ, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1"}, capture_output=True)
        row, _ = _benchmark(tmp_path, hub.endpoint)
    assert row["status"] == "ok" and row["did_fallback"] and row["model"]["source"] == f"native: {PLAIN}"
    assert row["fallback_reason"].startswith("native failed to load")


def test_check_models_and_download_follow_native_weights(tmp_path, mlx_repos):
    plain, quantized = mlx_repos
    with HubServer({QUANTIZED: repo_files(quantized), PLAIN: repo_files(plain)}) as hub:
        args = ("-m", "tiny", "-b", "fake-mlx-files", "--weights", "native")
        before = _fake_cli(tmp_path, hub.endpoint, "check-models", *args, "--json")
        fetched = _fake_cli(tmp_path, hub.endpoint, "download", *args, "--yes")
        after = _fake_cli(tmp_path, hub.endpoint, "check-models", *args, "--json")
        same = _fake_cli(tmp_path, hub.endpoint, "check-models", "-m", "tiny", "-b", "fake-mlx-files", "--json")
    (row,) = json.loads(before.stdout)["rows"]
    assert (row["upstream"], row["hub"]["status"], row["store"]["status"]) == (QUANTIZED, "missing", "not-applicable")
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert f"ok {QUANTIZED}" in fetched.stdout
    (row,) = json.loads(after.stdout)["rows"]
    assert (row["status"], row["hub"]["status"], row["weights"]) == ("complete", "complete", "native")
    (row,) = json.loads(same.stdout)["rows"]
    assert row["upstream"] == PLAIN and row["weights"] == "same"  # the default still looks for the plain repo


def test_the_originals_models_folder_is_read_offline(tmp_path, mlx_repos):
    """mac-whisper-speedtest kept its downloads in a project-local models/ folder (Hub cache layout)."""
    _, quantized = mlx_repos
    models = tmp_path / "mac-whisper-speedtest" / "models"
    make_cached_repo(models, QUANTIZED, repo_files(quantized))
    row, _ = _benchmark(tmp_path, "http://127.0.0.1:9", extra_env={"HF_HUB_OFFLINE": "1", "WHISPER_SPEEDTEST_HUB_CACHES": str(models)})
    assert row["status"] == "ok" and not row["did_fallback"] and row["actual_variant"] == "int4"
    assert row["model"]["source"] == f"native: {QUANTIZED}" and row["model"]["path"].startswith(str(models))


def test_native_quant_sweep_runs_each_pre_quantized_repo_and_falls_back_honestly(tmp_path, mlx_repos):
    """--weights native --quant float16,int8,int4: the plain repo, -mlx-8bit and -mlx-4bit; a missing -4bit repo
    falls back to the plain one and the row says so."""
    plain, quantized = mlx_repos
    eight = tmp_path / "8bit"
    shutil.copytree(plain, eight)
    config = json.loads((eight / "config.json").read_text())
    (eight / "config.json").write_text(json.dumps({**config, "quantization": {"group_size": 64, "bits": 8}}))
    repos = {PLAIN: repo_files(plain), "mlx-community/whisper-tiny-mlx-8bit": repo_files(eight)}
    with HubServer(repos) as hub:
        args = ["-m", "tiny", "-b", "fake-mlx-files", "--weights", "native", "--quant", "float16,int8,int4", "-n", "1", "--warmup", "0",
                "--language", "auto", "--no-history", "-o", str(tmp_path / "run.json")]
        done = _fake_cli(tmp_path, hub.endpoint, "benchmark", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {r["variant"]: r for r in json.loads((tmp_path / "run.json").read_text())["results"]}
    assert set(rows) == {"float16", "int8", "int4"} and all(r["status"] == "ok" for r in rows.values())
    assert rows["float16"]["model"]["source"] == f"native: {PLAIN} (fetched)" and not rows["float16"]["did_fallback"]
    assert rows["int8"]["actual_variant"] == "int8" and not rows["int8"]["did_fallback"]
    assert rows["int8"]["model"]["source"].startswith("native: mlx-community/whisper-tiny-mlx-8bit")
    int4 = rows["int4"]
    assert int4["did_fallback"] and int4["actual_variant"] == "float16" and int4["model"]["source"].startswith(f"native: {PLAIN}")
    assert "mlx-community/whisper-tiny-mlx-4bit" in int4["fallback_reason"]
