"""Hugging Face transformers layout: ``WhisperForConditionalGeneration`` + ``WhisperProcessor`` files."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ...errors import ModelFormatError
from .dims import Dims
from .folder import read_config_and_safetensors
from .canonical import DecodeHints, Weights, infer_dims, to_canonical_dtype, validate
from .tokenizer import (
    WhisperTokens,
    load_tokenizer_json,
    merges_lines,
    timestamp_token_entries,
    whisper_tokens,
)

WEIGHTS_FILE = "model.safetensors"

_TOP_LEVEL = {
    "encoder.positional_embedding": "model.encoder.embed_positions.weight",
    "decoder.positional_embedding": "model.decoder.embed_positions.weight",
    "decoder.token_embedding.weight": "model.decoder.embed_tokens.weight",
    "encoder.ln_post.weight": "model.encoder.layer_norm.weight",
    "encoder.ln_post.bias": "model.encoder.layer_norm.bias",
    "decoder.ln.weight": "model.decoder.layer_norm.weight",
    "decoder.ln.bias": "model.decoder.layer_norm.bias",
    **{f"encoder.{conv}.{p}": f"model.encoder.{conv}.{p}" for conv in ("conv1", "conv2") for p in ("weight", "bias")},
}
_BLOCK_MODULES = {
    "attn.query": "self_attn.q_proj",
    "attn.key": "self_attn.k_proj",
    "attn.value": "self_attn.v_proj",
    "attn.out": "self_attn.out_proj",
    "attn_ln": "self_attn_layer_norm",
    "cross_attn.query": "encoder_attn.q_proj",
    "cross_attn.key": "encoder_attn.k_proj",
    "cross_attn.value": "encoder_attn.v_proj",
    "cross_attn.out": "encoder_attn.out_proj",
    "cross_attn_ln": "encoder_attn_layer_norm",
    "mlp.0": "fc1",
    "mlp.2": "fc2",
    "mlp_ln": "final_layer_norm",
}
_CANONICAL_BLOCK = re.compile(r"^(encoder|decoder)\.blocks\.(\d+)\.(.+)\.(weight|bias)$")
_HF_LAYER = re.compile(r"^model\.(encoder|decoder)\.layers\.(\d+)\.(.+)\.(weight|bias)$")


def hf_name(name: str) -> str:
    """transformers' parameter name for a canonical name."""
    if name in _TOP_LEVEL:
        return _TOP_LEVEL[name]
    m = _CANONICAL_BLOCK.match(name)
    if not m or m.group(3) not in _BLOCK_MODULES:
        raise ModelFormatError(f"no transformers name for tensor {name!r}")
    stack, index, module, param = m.groups()
    return f"model.{stack}.layers.{index}.{_BLOCK_MODULES[module]}.{param}"


_FROM_HF_TOP = {hf: canonical for canonical, hf in _TOP_LEVEL.items()}
_FROM_HF_BLOCK = {hf: canonical for canonical, hf in _BLOCK_MODULES.items()}


def canonical_name(name: str) -> str | None:
    """Canonical name for a transformers parameter name; None for the tied ``proj_out.weight``."""
    if name == "proj_out.weight":
        return None
    if name in _FROM_HF_TOP:
        return _FROM_HF_TOP[name]
    m = _HF_LAYER.match(name)
    if not m or m.group(3) not in _FROM_HF_BLOCK:
        raise ModelFormatError(f"unknown transformers Whisper parameter {name!r}")
    stack, index, module, param = m.groups()
    return f"{stack}.blocks.{index}.{_FROM_HF_BLOCK[module]}.{param}"


def _model_config(dims: Dims, tokens: WhisperTokens) -> dict:
    return {
        "architectures": ["WhisperForConditionalGeneration"],
        "model_type": "whisper",
        "vocab_size": dims.n_vocab,
        "num_mel_bins": dims.n_mels,
        "d_model": dims.n_audio_state,
        "encoder_layers": dims.n_audio_layer,
        "encoder_attention_heads": dims.n_audio_head,
        "encoder_ffn_dim": 4 * dims.n_audio_state,
        "decoder_layers": dims.n_text_layer,
        "decoder_attention_heads": dims.n_text_head,
        "decoder_ffn_dim": 4 * dims.n_text_state,
        "max_source_positions": dims.n_audio_ctx,
        "max_target_positions": dims.n_text_ctx,
        "activation_function": "gelu",
        "scale_embedding": False,
        "tie_word_embeddings": True,
        "is_encoder_decoder": True,
        "use_cache": True,
        "bos_token_id": tokens.eot,
        "eos_token_id": tokens.eot,
        "pad_token_id": tokens.eot,
        "decoder_start_token_id": tokens.sot,
        "dtype": "float16",
        "torch_dtype": "float16",
    }


def generation_config(dims: Dims, tokens: WhisperTokens, english_only: bool, hints: DecodeHints) -> dict:
    """Whisper generation settings; language/task tables only for multilingual models."""
    suppress = list(hints.suppress_tokens) or [
        tokens.sot, tokens.translate, tokens.transcribe, tokens.sot_lm, tokens.sot_prev, tokens.no_speech]
    heads = [list(h) for h in hints.alignment_heads] or [
        [layer, head] for layer in range(dims.n_text_layer // 2, dims.n_text_layer) for head in range(dims.n_text_head)]
    config = {
        "alignment_heads": heads,
        "begin_suppress_tokens": list(hints.begin_suppress_tokens) or [220, tokens.eot],
        "bos_token_id": tokens.eot,
        "decoder_start_token_id": tokens.sot,
        "eos_token_id": tokens.eot,
        "pad_token_id": tokens.eot,
        "max_length": dims.n_text_ctx,
        "max_initial_timestamp_index": 50,
        "no_timestamps_token_id": tokens.no_timestamps,
        "prev_sot_token_id": tokens.sot_prev,
        "return_timestamps": False,
        "suppress_tokens": suppress,
        "is_multilingual": not english_only,
    }
    if not english_only:
        config["lang_to_id"] = dict(tokens.languages)
        config["task_to_id"] = {"transcribe": tokens.transcribe, "translate": tokens.translate}
        # Without a default task (or the deprecated forced_decoder_ids), transformers detects the
        # language but then prompts with no task token, and the output degenerates.
        config["task"] = "transcribe"
    return config


def _preprocessor_config(dims: Dims) -> dict:
    return {
        "feature_extractor_type": "WhisperFeatureExtractor",
        "processor_class": "WhisperProcessor",
        "feature_size": dims.n_mels,
        "sampling_rate": 16000,
        "hop_length": 160,
        "n_fft": 400,
        "chunk_length": 30,
        "n_samples": 480000,
        "nb_max_frames": 3000,
        "padding_side": "right",
        "padding_value": 0.0,
        "return_attention_mask": False,
    }


def _tokenizer_files(tokenizer: dict, tokens: WhisperTokens, n_vocab: int) -> dict[str, object]:
    """tokenizer.json (with timestamp tokens added if missing) and the files older transformers read."""
    tokenizer = dict(tokenizer)
    tokenizer["added_tokens"] = [*tokenizer.get("added_tokens", []), *timestamp_token_entries(tokenizer, n_vocab)]
    specials = list(tokens.named)
    eot = "<|endoftext|>"
    named = {"bos_token": eot, "eos_token": eot, "unk_token": eot, "pad_token": eot}
    vocab = tokenizer["model"]["vocab"]
    return {
        "tokenizer.json": tokenizer,
        "tokenizer_config.json": {
            "tokenizer_class": "WhisperTokenizer",
            "processor_class": "WhisperProcessor",
            **named,
            "additional_special_tokens": specials,
            "add_prefix_space": False,
            "errors": "replace",
            "clean_up_tokenization_spaces": False,
            "model_max_length": 1024,
            "return_attention_mask": False,
        },
        "special_tokens_map.json": {**named, "additional_special_tokens": specials},
        "added_tokens.json": {t["content"]: t["id"] for t in tokenizer["added_tokens"] if t["content"] not in vocab},
        "vocab.json": vocab,
        "merges.txt": "#version: 0.2\n" + "\n".join(merges_lines(tokenizer)) + "\n",
    }


def write_hf(
    tensors: Mapping[str, np.ndarray],
    dims: Dims,
    *,
    english_only: bool,
    tokenizer_json: str | os.PathLike,
    out_dir: str | os.PathLike,
    hints: DecodeHints | None = None,
) -> Path:
    """Write a directory that ``WhisperForConditionalGeneration``/``WhisperProcessor.from_pretrained`` load."""
    from safetensors.numpy import save_file

    validate(tensors, dims)
    tokenizer = load_tokenizer_json(tokenizer_json)
    tokens = whisper_tokens(tokenizer)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {hf_name(name): np.ascontiguousarray(value, dtype=np.float16) for name, value in tensors.items()}
    save_file(state, str(out_dir / WEIGHTS_FILE), metadata={"format": "pt"})
    files: dict[str, object] = {
        "config.json": _model_config(dims, tokens),
        "generation_config.json": generation_config(dims, tokens, english_only, hints or DecodeHints()),
        "preprocessor_config.json": _preprocessor_config(dims),
        **_tokenizer_files(tokenizer, tokens, dims.n_vocab),
    }
    for filename, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content, indent=2, ensure_ascii=False) + "\n"
        (out_dir / filename).write_text(text, encoding="utf-8")
    return out_dir


def read_hf(model_dir: str | os.PathLike) -> Weights:
    """Canonical tensors and dims from a transformers Whisper directory (single model.safetensors)."""
    model_dir = Path(model_dir)
    config, state = read_config_and_safetensors(model_dir, WEIGHTS_FILE, "transformers Whisper")
    tensors = {}
    for name, value in state.items():
        canonical = canonical_name(name)
        if canonical is not None:
            tensors[canonical] = value
    tensors = to_canonical_dtype(tensors)
    try:
        dims = infer_dims(tensors, n_audio_head=int(config["encoder_attention_heads"]),
                          n_text_head=int(config["decoder_attention_heads"]))
    except (KeyError, TypeError, ValueError):
        raise ModelFormatError(f"{model_dir}/config.json lacks the attention head counts") from None
    validate(tensors, dims)
    return Weights(tensors, dims)


def write_converted(source, out_dir: Path) -> None:
    """Writer from a :class:`.source.ConversionSource`."""
    write_hf(source.tensors, source.dims, english_only=source.vocabulary_is_english_only,
             tokenizer_json=source.tokenizer_json, out_dir=out_dir, hints=source.hints)
