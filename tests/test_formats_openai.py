"""tiny.en converted to an openai-whisper checkpoint, loaded and run by the real openai-whisper."""

from __future__ import annotations

import pytest

from tests.test_formats_support import JFK_TEXT, MAX_WER, jfk_audio, need, tiny_en_dir, wer
from whisper_speedtest.errors import ModelFormatError
from whisper_speedtest.models import catalog
from whisper_speedtest.models.formats.canonical import canonical_tensors, fingerprint
from whisper_speedtest.models.formats.convert import convert
from whisper_speedtest.models.formats.ct2 import read_ct2
from whisper_speedtest.models.formats.openai import read_openai

torch = need("torch", "openai-whisper")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return convert(tiny_en_dir(), "openai", tmp_path_factory.mktemp("openai") / "tiny.en.pt")


def test_checkpoint_loads_with_weights_only(checkpoint):
    data = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert data["dims"] == catalog.get("tiny.en").dims.__dict__
    assert data["model_state_dict"]["decoder.token_embedding.weight"].dtype == torch.float16


def test_fingerprint_survives_round_trip(checkpoint):
    original = canonical_tensors(read_ct2(tiny_en_dir()))
    weights = read_openai(checkpoint)
    assert weights.dims == catalog.get("tiny.en").dims
    assert fingerprint(weights.tensors) == fingerprint(original)


@pytest.mark.integration
def test_openai_whisper_transcribes_jfk(checkpoint):
    whisper = need("whisper", "openai-whisper")
    model = whisper.load_model(str(checkpoint), device="cpu")
    result = model.transcribe(jfk_audio(), language="en", temperature=0.0, fp16=False)
    assert wer(JFK_TEXT, result["text"]) <= MAX_WER, result["text"]


def test_corrupt_checkpoint_raises(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a zip archive")
    with pytest.raises(ModelFormatError):
        read_openai(bad)
