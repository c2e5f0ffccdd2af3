"""Canonical (openai-whisper named, float16) tensors built from the real tiny.en CTranslate2 model."""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_formats_support import tiny_en_dir
from whisper_speedtest.errors import ModelFormatError
from whisper_speedtest.models import catalog
from whisper_speedtest.models.formats.canonical import (
    canonical_tensors,
    ct2_dims,
    decode_hints,
    expected_shapes,
    fingerprint,
    infer_dims,
    is_english_only,
    sinusoids,
    validate,
)
from whisper_speedtest.models.formats.ct2 import read_ct2


@pytest.fixture(scope="module")
def ct2():
    return read_ct2(tiny_en_dir())


@pytest.fixture(scope="module")
def tensors(ct2):
    return canonical_tensors(ct2)


def test_names_shapes_and_dtype_match_openai_whisper(ct2, tensors):
    dims = catalog.get("tiny.en").dims
    assert ct2_dims(ct2, tensors) == dims == infer_dims(tensors)
    assert {name: t.shape for name, t in tensors.items()} == expected_shapes(dims)
    assert all(t.dtype == np.float16 and t.flags.c_contiguous for t in tensors.values())
    assert "encoder.blocks.0.attn.key.bias" not in tensors
    assert "decoder.blocks.3.cross_attn.key.bias" not in tensors
    assert is_english_only(dims)


def test_fused_projections_are_split_in_order(ct2, tensors):
    n = 384
    qkv = ct2.get("encoder/layer_2/self_attention/linear_0/weight")
    np.testing.assert_array_equal(tensors["encoder.blocks.2.attn.query.weight"], qkv[:n])
    np.testing.assert_array_equal(tensors["encoder.blocks.2.attn.key.weight"], qkv[n : 2 * n])
    np.testing.assert_array_equal(tensors["encoder.blocks.2.attn.value.weight"], qkv[2 * n :])
    qkv_bias = ct2.get("decoder/layer_1/self_attention/linear_0/bias")
    np.testing.assert_array_equal(tensors["decoder.blocks.1.attn.value.bias"], qkv_bias[2 * n :])
    kv = ct2.get("decoder/layer_1/attention/linear_1/weight")
    np.testing.assert_array_equal(tensors["decoder.blocks.1.cross_attn.key.weight"], kv[:n])
    np.testing.assert_array_equal(tensors["decoder.blocks.1.cross_attn.value.weight"], kv[n:])
    # The dropped key biases are zero in the real model (dropping them is exact either way).
    assert not qkv_bias[n : 2 * n].any()


def test_encoder_position_embedding_is_whisper_sinusoids(tensors):
    np.testing.assert_allclose(tensors["encoder.positional_embedding"], sinusoids(1500, 384), atol=1e-3)


def test_fingerprint_is_deterministic_and_content_sensitive(tensors):
    reference = fingerprint(tensors)
    assert len(reference) == 64
    assert fingerprint(dict(reversed(list(tensors.items())))) == reference
    changed = dict(tensors)
    changed["decoder.ln.bias"] = tensors["decoder.ln.bias"].copy()
    changed["decoder.ln.bias"][0] += np.float16(1)
    assert fingerprint(changed) != reference
    as_float32 = {**tensors, "decoder.ln.bias": tensors["decoder.ln.bias"].astype(np.float32)}
    assert fingerprint(as_float32) != reference


def test_validate_rejects_missing_and_misshapen(tensors):
    dims = infer_dims(tensors)
    incomplete = {k: v for k, v in tensors.items() if k != "decoder.ln.weight"}
    with pytest.raises(ModelFormatError, match="missing"):
        validate(incomplete, dims)
    with pytest.raises(ModelFormatError, match="shape"):
        validate({**tensors, "decoder.ln.weight": tensors["decoder.ln.weight"][:-1]}, dims)


def test_decode_hints_come_from_config(ct2):
    hints = decode_hints(ct2)
    assert hints.begin_suppress_tokens == (220, 50256)
    assert 50257 in hints.suppress_tokens and (1, 0) in hints.alignment_heads


def test_not_whisper_spec_raises(ct2):
    from dataclasses import replace

    with pytest.raises(ModelFormatError, match="not Whisper"):
        canonical_tensors(replace(ct2, spec_name="TransformerSpec"))
