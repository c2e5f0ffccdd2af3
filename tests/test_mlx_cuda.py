"""The MLX backends' device reading and quantized variants: what runs on the MLX CPU device here, and
what needs an MLX GPU (Metal, or CUDA through the mlx-cuda extra), which skips here and says why."""

from __future__ import annotations

import json

import numpy as np
import pytest

from whisper_speedtest.backends import get_backend
from whisper_speedtest.audio import bundled_sample, load_clip
from whisper_speedtest.backends.base import LoadOptions, ModelRef
from whisper_speedtest.errors import QuantizationUnavailable

mx = pytest.importorskip("mlx.core")
nn = pytest.importorskip("mlx.nn")
ON_GPU = mx.default_device().type == mx.gpu
NEEDS_GPU = pytest.mark.skipif(not ON_GPU, reason="needs an MLX GPU: Metal, or CUDA through the mlx-cuda extra")
JFK = bundled_sample()


def test_mlx_device_is_read_from_mlx():
    from whisper_speedtest.backends.base import mlx_device

    reading = mlx_device()
    assert reading["device"] == ("mlx/gpu" if ON_GPU else "mlx/cpu")
    if ON_GPU:
        assert reading["mlx_gpu"] in ("metal", "cuda")
    else:
        assert "mlx_gpu" not in reading


@pytest.mark.skipif(ON_GPU, reason="an MLX GPU runs the quantized kernels")
def test_whisper_mps_refuses_quantized_variants_on_the_cpu_device(tmp_path):
    pytest.importorskip("whisper_mps")
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(b"not read: the device is checked first")
    backend = get_backend("whisper-mps")()
    with pytest.raises(QuantizationUnavailable, match="CPU device"):
        backend.load(ModelRef("tiny.en", "openai", str(checkpoint), "float16"), LoadOptions(quantization="int4"))
    assert set(backend.quantizations) == {"int8", "int4"}


def _small_whisper_mps_model():
    from whisper_mps.whisper.whisper import ModelDimensions, Whisper

    dims = ModelDimensions(n_mels=80, n_audio_ctx=16, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                           n_vocab=128, n_text_ctx=8, n_text_state=64, n_text_head=2, n_text_layer=1)
    return Whisper(dims, mx.float32)


@pytest.mark.parametrize("bits", [8, 4])
def test_whisper_mps_quantizes_its_linear_layers_and_keeps_a_float_embedding(bits):
    """Which layers are quantized, and that the library's own decoder still runs over them, on the MLX
    CPU stream whatever the default device (this small float32 model is not the backend's float16 path:
    on the H200, on MLX's CUDA device, its 8-bit case failed and its 4-bit case did not finish in 5 minutes,
    cause not established; the real model's
    int8/int4 ran there, benchmarks/results/mlx-cuda-h200-2026-12-04.md)."""
    pytest.importorskip("whisper_mps")
    with mx.stream(mx.cpu):
        _check_quantized_linear_layers(bits)


def _check_quantized_linear_layers(bits: int) -> None:
    from whisper_speedtest.backends.base import mlx_quantized_layers
    from whisper_speedtest.backends.whisper_mps import quantize_linear_layers

    model = _small_whisper_mps_model()
    linears = sum(isinstance(m, nn.Linear) for _, m in model.named_modules())
    mel = mx.array(np.random.default_rng(0).standard_normal((1, 32, 80)).astype(np.float32))
    tokens = mx.array([[1, 2, 3]])
    reference, _ = model.decoder(tokens, model.encoder(mel))
    quantize_linear_layers(model, bits)
    assert isinstance(model.decoder.token_embedding, nn.Embedding)
    assert mlx_quantized_layers(model) == {"quantized_layers": linears, "quantized_bits": [bits]}
    logits, _ = model.decoder(tokens, model.encoder(mel))  # the library's `x @ token_embedding.weight.T` still works
    assert logits.shape == reference.shape == (1, 3, 128)
    relative = float(mx.linalg.norm(logits - reference) / mx.linalg.norm(reference))
    assert relative < (0.05 if bits == 8 else 0.5)


def test_lightning_gets_a_float_token_embedding_from_quantized_store_weights():
    from whisper_speedtest.backends.lightning_whisper_mlx import _float_token_embedding

    weight = mx.array(np.random.default_rng(1).standard_normal((128, 64)).astype(np.float16))
    packed, scales, biases = mx.quantize(weight, group_size=64, bits=8)
    arrays = {"decoder.token_embedding.weight": packed, "decoder.token_embedding.scales": scales,
              "decoder.token_embedding.biases": biases, "decoder.ln.weight": mx.ones((64,))}
    out = _float_token_embedding(arrays, {"group_size": 64, "bits": 8})
    assert set(out) == {"decoder.token_embedding.weight", "decoder.ln.weight"}
    assert out["decoder.token_embedding.weight"].shape == (128, 64)
    assert out["decoder.token_embedding.weight"].dtype == mx.float16
    assert float(mx.abs(out["decoder.token_embedding.weight"].astype(mx.float32) - weight.astype(mx.float32)).max()) < 0.05
    assert "decoder.token_embedding.scales" in arrays  # the caller's dict is left as it was


@NEEDS_GPU
@pytest.mark.integration
@pytest.mark.parametrize("backend_name", ["mlx-whisper", "whisper-mps"])
def test_int4_runs_int4_on_an_mlx_gpu(backend_name):
    if not get_backend(backend_name).available().ok:
        pytest.skip(f"{backend_name} not installed")
    from whisper_speedtest import load

    session = load(backend_name, "tiny.en", quantization="int4", fallback=False)
    try:
        assert session.load_result.actual == "int4" and not session.load_result.did_fallback
        params = session.params()
        assert params["device"] == "mlx/gpu" and params["quantized_bits"] == [4] and params["quantized_layers"] > 0
        text = session.transcribe(load_clip(JFK).samples).text.lower()
        assert "country" in text
    finally:
        session.close()


def test_quantized_mlx_config_is_what_the_store_writes(tmp_path):
    """The bits mlx-whisper reads back are the ones our store's quantize hook records."""
    from whisper_speedtest.backends.mlx_whisper import _quantized_bits

    (tmp_path / "config.json").write_text(json.dumps({"quantization": {"group_size": 64, "bits": 4}}))
    assert _quantized_bits(str(tmp_path)) == 4
    (tmp_path / "config.json").write_text(json.dumps({}))
    assert _quantized_bits(str(tmp_path)) is None


def test_mlx_peak_memory_is_none_on_the_cpu_device():
    from whisper_speedtest.backends.base import mlx_peak_memory

    if ON_GPU:
        pytest.skip("an MLX GPU reports its peak")
    assert mlx_peak_memory() is None
