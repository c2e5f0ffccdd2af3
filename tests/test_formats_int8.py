"""An int8 CTranslate2 model (quantized by ctranslate2's own converter) converts and still transcribes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_formats_support import JFK_TEXT, MAX_WER, jfk_audio, need, tiny_en_dir, wer
from whisper_speedtest.models.formats.canonical import canonical_tensors
from whisper_speedtest.models.formats.convert import convert
from whisper_speedtest.models.formats.ct2 import read_ct2

pytestmark = pytest.mark.integration  # every test here loads a real model


@pytest.fixture(scope="module")
def int8_dir(tmp_path_factory):
    """tiny.en -> our transformers layout -> ctranslate2's converter with int8 quantization."""
    converters = pytest.importorskip("ctranslate2.converters", reason="ctranslate2 not installed")
    pytest.importorskip("transformers", reason="ctranslate2's converter reads the transformers layout")
    root = tmp_path_factory.mktemp("int8")
    hf_dir = convert(tiny_en_dir(), "hf", root / "hf")
    converters.TransformersConverter(str(hf_dir), copy_files=["tokenizer.json"]).convert(
        str(root / "ct2-int8"), quantization="int8")
    return root / "ct2-int8"


def test_int8_weights_are_dequantized(int8_dir):
    model = read_ct2(int8_dir)
    assert model.get("encoder/layer_0/ffn/linear_0/weight").dtype == np.int8
    quantized = canonical_tensors(model)
    original = canonical_tensors(read_ct2(tiny_en_dir()))
    assert quantized.keys() == original.keys()
    for name, value in original.items():
        error = np.abs(quantized[name].astype(np.float32) - value.astype(np.float32)).max()
        assert error <= np.abs(value.astype(np.float32)).max() / 127 + 1e-3, name


def test_int8_model_converts_and_transcribes(int8_dir, tmp_path):
    whisper = need("whisper", "openai-whisper")
    checkpoint = convert(int8_dir, "openai", tmp_path / "tiny.en-int8.pt")
    result = whisper.load_model(str(checkpoint), device="cpu").transcribe(
        jfk_audio(), language="en", temperature=0.0, fp16=False)
    assert wer(JFK_TEXT, result["text"]) <= MAX_WER, result["text"]
