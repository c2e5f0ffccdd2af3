"""tiny.en converted to the mlx-whisper layout, loaded and run by the real mlx-whisper."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.test_formats_support import JFK_TEXT, MAX_WER, jfk_audio, tiny_en_dir, wer
from whisper_speedtest.models import catalog
from whisper_speedtest.models.formats.canonical import canonical_tensors, fingerprint
from whisper_speedtest.models.formats.convert import convert
from whisper_speedtest.models.formats.ct2 import read_ct2
from whisper_speedtest.models.formats.mlx import read_mlx

REASON = "mlx-whisper not installed: pip install 'whisper-speedtest[mlx]'"


@pytest.fixture(scope="module")
def mlx_dir(tmp_path_factory):
    return convert(tiny_en_dir(), "mlx", tmp_path_factory.mktemp("mlx") / "whisper-tiny.en-mlx")


def test_layout(mlx_dir):
    from safetensors.numpy import load_file

    config = json.loads((mlx_dir / "config.json").read_text())
    assert config == {**catalog.get("tiny.en").dims.__dict__, "model_type": "whisper"}
    weights = load_file(str(mlx_dir / "weights.safetensors"))
    assert weights["encoder.conv1.weight"].shape == (384, 3, 80)  # channels-last
    assert "encoder.blocks.0.mlp1.weight" in weights and "encoder.positional_embedding" not in weights
    np.testing.assert_array_equal(weights["alignment_heads"][0], [1, 0])


def test_fingerprint_survives_round_trip(mlx_dir):
    assert fingerprint(read_mlx(mlx_dir).tensors) == fingerprint(canonical_tensors(read_ct2(tiny_en_dir())))


@pytest.mark.integration
def test_mlx_whisper_transcribes_jfk(mlx_dir):
    pytest.importorskip("mlx.core", reason=REASON)
    mlx_whisper = pytest.importorskip("mlx_whisper", reason=REASON)
    model = mlx_whisper.load_models.load_model(str(mlx_dir))
    assert model.dims.n_text_layer == 4 and model.alignment_heads.shape == (8, 2)
    result = mlx_whisper.transcribe(jfk_audio(), path_or_hf_repo=str(mlx_dir), language="en", temperature=0.0)
    assert wer(JFK_TEXT, result["text"]) <= MAX_WER, result["text"]
