"""whisper-mps, lightning-whisper-mlx, parakeet-mlx, WhisperKit and FluidAudio on this machine:
availability tells the truth, nothing heavy is imported at start-up, and the MLX adapters run
their real libraries (with our converted weights, or a tiny random Parakeet)."""

import json
import os
import platform
import subprocess
import sys

import pytest

from tests.conftest import JFK
from whisper_speedtest.audio import load_clip
from whisper_speedtest.backends import get_backend
from whisper_speedtest.backends.base import DecodeOptions, LoadOptions, ModelRef
from whisper_speedtest.errors import BadOption, ModelFormatError, ModelNotAvailable, QuantizationUnavailable

HEAVY = ("mlx", "torch", "mlx_whisper", "whisper_mps", "lightning_whisper_mlx", "parakeet_mlx", "ctranslate2", "transformers")
ON_LINUX_X86 = sys.platform.startswith("linux") and platform.machine() == "x86_64"


def run_python(code: str, env: dict | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_nothing_heavy_is_imported_at_start_up():
    code = (
        "import whisper_speedtest.cli, sys; from whisper_speedtest.backends import all_backends; "
        "[c.available() for c in all_backends().values()]; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    assert run_python(code) == "[]"


def test_new_backends_are_registered_with_their_family():
    families = {name: get_backend(name).family for name in ("whisper-mps", "lightning-whisper-mlx", "parakeet-mlx", "whisperkit", "fluidaudio")}
    assert families == {"whisper-mps": "whisper", "lightning-whisper-mlx": "whisper", "parakeet-mlx": "parakeet",
                        "whisperkit": "whisper", "fluidaudio": "parakeet"}


@pytest.mark.skipif(sys.platform == "darwin", reason="the Linux/Windows reasons")
@pytest.mark.parametrize("name, package_path", [("whisperkit", "tools/whisperkit-bridge"), ("fluidaudio", "tools/fluidaudio-bridge")])
def test_swift_backends_say_why_they_cannot_run_here(name, package_path):
    availability = get_backend(name).available()
    assert not availability.ok
    assert availability.reason == f"requires macOS on Apple Silicon with the bridge built (swift build -c release --package-path {package_path})"


@pytest.mark.parametrize("name", ["whisper-mps", "lightning-whisper-mlx"])
def test_mlx_whisper_ports_are_available_exactly_when_installed(name):
    cls = get_backend(name)
    availability = cls.available()
    if cls.missing_requirements():
        assert not availability.ok and "pip install 'whisper-speedtest[" in availability.reason
    elif ON_LINUX_X86 or (sys.platform == "darwin" and platform.machine() == "arm64"):
        assert availability.ok, availability.reason


# --- parakeet-mlx ------------------------------------------------------------------------------


def test_parakeet_without_cached_weights_says_where_they_should_be(tmp_path):
    code = "from whisper_speedtest.backends import get_backend; print(get_backend('parakeet-mlx').available().reason)"
    reason = run_python(code, {"HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"})
    if get_backend("parakeet-mlx").missing_requirements():
        assert "pip install 'whisper-speedtest[parakeet]'" in reason
    else:
        assert reason == (
            "Parakeet weights mlx-community/parakeet-tdt-0.6b-v2 are not in the Hugging Face cache (missing config.json, "
            "model.safetensors); fetch them with: hf download mlx-community/parakeet-tdt-0.6b-v2"
        )


def tiny_parakeet_config(features: int = 80) -> dict:
    """A real Parakeet TDT architecture, shrunk to a few thousand random weights."""
    vocabulary = ["▁" + w for w in "and so my fellow americans ask not what your country can do for you".split()]
    return {
        "target": "nemo.collections.asr.models.rnnt_bpe_models.EncDecRNNTBPEModel",
        "model_defaults": {"tdt_durations": [0, 1, 2, 3, 4]},
        "preprocessor": {"sample_rate": 16000, "normalize": "per_feature", "window_size": 0.025, "window_stride": 0.01,
                         "window": "hann", "features": features, "n_fft": 512, "dither": 0.0},
        "encoder": {"feat_in": features, "n_layers": 1, "d_model": 32, "n_heads": 2, "ff_expansion_factor": 2,
                    "subsampling_factor": 8, "self_attention_model": "rel_pos", "subsampling": "dw_striding",
                    "conv_kernel_size": 9, "subsampling_conv_channels": 16, "pos_emb_max_len": 5000},
        "decoder": {"blank_as_pad": True, "vocab_size": len(vocabulary), "prednet": {"pred_hidden": 32, "pred_rnn_layers": 1}},
        "joint": {"num_classes": len(vocabulary), "vocabulary": vocabulary, "num_extra_outputs": 5,
                  "jointnet": {"joint_hidden": 32, "activation": "relu", "encoder_hidden": 32, "pred_hidden": 32}},
        "decoding": {"model_type": "tdt", "durations": [0, 1, 2, 3, 4], "greedy": {"max_symbols": 10}},
    }


@pytest.fixture(scope="module")
def tiny_parakeet_dir(tmp_path_factory):
    pytest.importorskip("parakeet_mlx")
    from parakeet_mlx.utils import from_config

    directory = tmp_path_factory.mktemp("parakeet")
    config = tiny_parakeet_config()
    from_config(config).save_weights(str(directory / "model.safetensors"))
    (directory / "config.json").write_text(json.dumps(config))
    return directory


def test_parakeet_is_found_in_the_hugging_face_cache_layout(tiny_parakeet_dir, tmp_path):
    snapshot = tmp_path / "models--mlx-community--parakeet-tdt-0.6b-v2" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (snapshot / name).symlink_to(tiny_parakeet_dir / name)
    (tmp_path / "models--mlx-community--parakeet-tdt-0.6b-v2" / "refs").mkdir()
    (tmp_path / "models--mlx-community--parakeet-tdt-0.6b-v2" / "refs" / "main").write_text("abc123")
    code = (
        "from whisper_speedtest.backends.parakeet_mlx import locate_parakeet, ParakeetMlxBackend; import json; "
        "r = locate_parakeet(); print(json.dumps([r.name, r.format, r.path, r.dtype, r.source, "
        "ParakeetMlxBackend.locate_model('tiny.en').name]))"
    )
    name, fmt, path, dtype, source, chosen = json.loads(run_python(code, {"HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}))
    assert (name, fmt, path, dtype) == ("parakeet-tdt-0.6b-v2", "parakeet", str(snapshot), "float32")
    assert source == "hf:mlx-community/parakeet-tdt-0.6b-v2"
    assert chosen == "parakeet-tdt-0.6b-v2"  # whatever Whisper model was asked for


def test_parakeet_refuses_to_pretend_a_whisper_model_is_parakeet():
    backend = get_backend("parakeet-mlx")()
    with pytest.raises(ModelNotAvailable, match=r"runs Parakeet models .* not tiny.en \(ct2\)"):
        backend.load(ModelRef("tiny.en", "ct2", "/somewhere", "float16"), LoadOptions())


def test_parakeet_mlx_runs_a_tiny_random_parakeet(tiny_parakeet_dir):
    backend = get_backend("parakeet-mlx")()
    model = ModelRef("parakeet-tdt-0.6b-v2", "parakeet", str(tiny_parakeet_dir), "float32", synthetic=True)
    result = backend.load(model, LoadOptions())
    audio = load_clip(JFK).samples
    transcript = backend.transcribe(audio, DecodeOptions(language="en"))
    assert isinstance(transcript.text, str) and transcript.language == "en"
    assert all(s["end"] >= s["start"] for s in transcript.segments)
    params = backend.params()
    assert params["dtype"] == result.actual and params["device"].startswith("mlx-")
    assert params["decoder"] == "greedy" and params["language"] == "en"
    backend.transcribe(audio[:16000 * 2], DecodeOptions(language="en", beam_size=2))
    assert backend.params()["decoder"] == "beam" and backend.params()["beam_size"] == 2
    with pytest.raises(BadOption, match="transcribes only en"):
        backend.transcribe(audio, DecodeOptions(language="fr"))
    backend.close()


# --- whisper-mps -------------------------------------------------------------------------------


def test_whisper_mps_file_names_come_from_the_catalog():
    from whisper_speedtest.backends.whisper_mps import own_cache_file
    from whisper_speedtest.models import catalog
    from whisper_speedtest.models.backend_caches import backend_cache_file

    for name in [*catalog.canonical_names(), *catalog.ALIASES]:
        canonical = catalog.resolve(name)
        assert own_cache_file(name) == backend_cache_file("openai", canonical)  # check-models agrees
        assert own_cache_file(name).name == catalog.upstream_location("openai", name).filename


def test_whisper_mps_own_download_names_match_the_catalog():
    pytest.importorskip("whisper_mps")
    from whisper_mps.whisper.load_models import _MODELS

    from whisper_speedtest.models import catalog

    for name, url in _MODELS.items():
        assert url.rsplit("/", 1)[1] == catalog.upstream_location("openai", name).filename, name


@pytest.fixture(scope="module")
def jfk():
    return load_clip(JFK)


def require(name: str) -> None:
    availability = get_backend(name).available()
    if not availability.ok:
        pytest.skip(f"{name} cannot run here: {availability.reason}")


@pytest.mark.integration
def test_whisper_mps_runs_our_checkpoint_without_downloading(jfk, tmp_path, monkeypatch):
    require("whisper-mps")
    from whisper_speedtest.models import sources

    monkeypatch.setenv("HOME", str(tmp_path))  # whisper-mps would download into ~/.cache/whisper
    model = sources.locate("tiny.en", "openai")
    backend = get_backend("whisper-mps")()
    assert backend.load(model, LoadOptions()).actual == "float16"
    transcript = backend.transcribe(jfk.samples, DecodeOptions(language="en"))
    assert "country" in transcript.text.lower() and transcript.segments
    assert backend.params()["device"] in ("mlx/cpu", "mlx/gpu") and backend.params()["decoder"] == "greedy"
    assert not (tmp_path / ".cache" / "whisper").exists()
    with pytest.raises(NotImplementedError, match="beam"):
        backend.transcribe(jfk.samples, DecodeOptions(beam_size=5))
    backend.close()
    from whisper_mps.whisper.transcribe import ModelHolder

    assert ModelHolder.model is None


# --- lightning-whisper-mlx ---------------------------------------------------------------------


@pytest.mark.integration
def test_lightning_runs_our_converted_mlx_weights(jfk):
    require("lightning-whisper-mlx")
    from whisper_speedtest.models import sources

    model = sources.locate("tiny.en", "mlx")
    backend = get_backend("lightning-whisper-mlx")()
    backend.load(model, LoadOptions(batch_size=4))
    transcript = backend.transcribe(jfk.samples, DecodeOptions(language="en"))
    assert "country" in transcript.text.lower()
    (segment,) = transcript.segments
    assert segment["start"] == 0.0 and 10.0 < segment["end"] <= 11.1  # seconds, not mel frames
    assert backend.params()["batch_size"] == 4 and backend.params()["dtype"] == "float16"
    backend.close()


def test_lightning_names_what_is_missing_from_a_model_folder(tmp_path):
    pytest.importorskip("lightning_whisper_mlx")
    backend = get_backend("lightning-whisper-mlx")()
    with pytest.raises(ModelFormatError, match="no config.json"):
        backend.load(ModelRef("tiny.en", "mlx", str(tmp_path), "float16"), LoadOptions())
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelFormatError, match="neither weights.safetensors nor weights.npz"):
        backend.load(ModelRef("tiny.en", "mlx", str(tmp_path), "float16"), LoadOptions())


def test_lightning_refuses_quantized_weights_on_the_mlx_cpu_device(tmp_path):
    pytest.importorskip("lightning_whisper_mlx")
    import mlx.core as mx

    if mx.default_device().type == mx.gpu:
        pytest.skip("an MLX GPU runs quantized kernels")
    (tmp_path / "weights.safetensors").write_bytes(b"")
    (tmp_path / "config.json").write_text(json.dumps({"quantization": {"group_size": 64, "bits": 4}}))
    with pytest.raises(QuantizationUnavailable, match="CPU device"):
        get_backend("lightning-whisper-mlx")().load(ModelRef("tiny.en", "mlx", str(tmp_path), "int4"), LoadOptions())
