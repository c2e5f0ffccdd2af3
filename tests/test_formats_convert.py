"""convert(): dispatch, english_only checks and atomic output (nothing half-written is ever left)."""

from __future__ import annotations

import shutil

import pytest

from tests.test_formats_support import tiny_en_dir
from whisper_speedtest.errors import BadOption, ModelFormatError
from whisper_speedtest.models.formats.canonical import canonical_tensors, fingerprint
from whisper_speedtest.models.formats.convert import FORMATS, convert
from whisper_speedtest.models.formats.ct2 import read_ct2


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_formats():
    assert FORMATS == ("ct2", "hf", "openai", "mlx", "ggml")


def test_ct2_to_ct2_copies_model_and_sidecars(tmp_path):
    out = convert(tiny_en_dir() / "model.bin", "ct2", tmp_path / "copy")
    assert {p.name for p in out.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    original = fingerprint(canonical_tensors(read_ct2(tiny_en_dir())))
    assert fingerprint(canonical_tensors(read_ct2(out))) == original
    assert _leftovers(tmp_path) == []


def test_unknown_format_raises_bad_option(tmp_path):
    with pytest.raises(BadOption, match="onnx"):
        convert(tiny_en_dir(), "onnx", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_unsupported_ggml_type_is_not_implemented(tmp_path):
    with pytest.raises(NotImplementedError, match="q5_1"):
        convert(tiny_en_dir(), "ggml", tmp_path / "ggml-tiny.en-q5_1.bin", ggml_dtype="q5_1")
    assert list(tmp_path.iterdir()) == []


def test_english_only_mismatch_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(ModelFormatError, match="English-only"):
        convert(tiny_en_dir(), "hf", tmp_path / "out", english_only=False)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_replaced_whole(tmp_path):
    out = tmp_path / "hf"
    out.mkdir()
    (out / "stale.txt").write_text("from an older conversion")
    convert(tiny_en_dir(), "hf", out)
    assert not (out / "stale.txt").exists() and (out / "model.safetensors").is_file()
    assert all(p.stat().st_mode & 0o044 == 0o044 for p in out.iterdir())  # readable by all, like a cache
    assert _leftovers(tmp_path) == []


def test_failed_conversion_keeps_previous_output(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(tiny_en_dir() / "tokenizer.json", broken)
    with open(tiny_en_dir() / "model.bin", "rb") as src:
        (broken / "model.bin").write_bytes(src.read(1_000_000))
    previous = tmp_path / "tiny.bin"
    previous.write_bytes(b"previous model")
    with pytest.raises(ModelFormatError, match="truncated"):
        convert(broken, "ggml", previous)
    assert previous.read_bytes() == b"previous model"
    assert _leftovers(tmp_path) == []
