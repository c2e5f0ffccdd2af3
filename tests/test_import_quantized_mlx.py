"""`models import` takes a quantized MLX folder (mlx-community's -4bit/-8bit/-q4 layout) and records its quantization."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from whisper_speedtest.errors import ModelFormatError
from whisper_speedtest.models import importing, sources, store


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch):
    """Imported quantized copies stay out of the session's store, where --quant int4/int8 would find them."""
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "store"))


def _quantized_folder(tmp_path: Path, bits: int) -> Path:
    """tiny.en's MLX folder rewritten as MLX stores a quantized model: packed uint32 weights with scales and biases."""
    from safetensors.numpy import load_file, save_file

    plain = Path(sources.locate("tiny.en", "mlx").path)
    folder = tmp_path / f"whisper-tiny.en-mlx-{bits}bit"
    folder.mkdir()
    arrays = {}
    for name, value in load_file(str(plain / "weights.safetensors")).items():
        if name.endswith(".weight") and value.ndim == 2 and value.shape[1] % 64 == 0 and "embedding" not in name:
            rows, cols = value.shape
            arrays[name] = np.zeros((rows, cols * bits // 32), dtype=np.uint32)
            arrays[name.removesuffix(".weight") + ".scales"] = np.ones((rows, cols // 64), dtype=np.float16)
            arrays[name.removesuffix(".weight") + ".biases"] = np.zeros((rows, cols // 64), dtype=np.float16)
        else:
            arrays[name] = value
    save_file(arrays, str(folder / "weights.safetensors"))
    config = json.loads((plain / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "quantization": {"group_size": 64, "bits": bits}}))
    return folder


def test_a_quantized_mlx_folder_is_imported_as_its_bit_width(tmp_path):
    folder = _quantized_folder(tmp_path, 4)
    result = importing.import_path(folder)
    entry = result.entry
    assert (result.detected_format, entry.name, entry.format, entry.dtype) == ("mlx", "tiny.en", "mlx", "int4")
    assert entry.source.endswith("(MLX 4-bit, group 64)")
    assert store.find("tiny.en", "mlx", "int4") == entry  # --quant int4 finds it
    assert json.loads((entry.payload / "config.json").read_text())["quantization"]["bits"] == 4
    plain = sources.locate("tiny.en", "mlx")
    assert entry.fingerprint != plain.fingerprint  # other tensors, another fingerprint


def test_the_cli_says_what_it_imported(tmp_path):
    folder = _quantized_folder(tmp_path, 8)
    done = run_cli("models", "import", str(folder))
    assert done.returncode == 0, done.stderr
    assert "imported tiny.en (mlx/int8" in done.stdout


def test_a_config_that_claims_quantization_without_scales_is_refused(tmp_path):
    plain = Path(sources.locate("tiny.en", "mlx").path)
    folder = tmp_path / "liar"
    shutil.copytree(plain, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "quantization": {"group_size": 64, "bits": 4}}))
    with pytest.raises(ModelFormatError, match="the weights hold no scales"):
        importing.import_path(folder)
