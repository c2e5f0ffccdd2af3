"""The Python loading API: variants, fallback that says so, background loading, readiness."""

import threading
import time

import pytest

from tests.conftest import JFK
from whisper_speedtest import load
from whisper_speedtest.audio import load_clip
from whisper_speedtest.backends import register, unregister
from whisper_speedtest.backends.base import LoadResult
from whisper_speedtest.errors import LoadTimeout, ModelNotReady, QuantizationUnavailable
from tests.fake_backends import _Fake

pytest.importorskip("faster_whisper", reason="faster-whisper extra not installed")

release_slow_load = threading.Event()


class SlowBackend(_Fake):
    name = "fake-slow"
    display_name = "fake slow"

    def load(self, model, options):
        release_slow_load.wait(30)
        return LoadResult(requested="default", actual="float16")


class FailingBackend(_Fake):
    name = "fake-failing"
    display_name = "fake failing"

    def load(self, model, options):
        time.sleep(0.05)
        raise RuntimeError("disk on fire")


@pytest.fixture
def fakes():
    for cls in (SlowBackend, FailingBackend):
        register(cls)
    try:
        yield
    finally:
        release_slow_load.set()
        for cls in (SlowBackend, FailingBackend):
            unregister(cls.name)


def test_happy_path_int8_loads_and_transcribes():
    session = load("faster-whisper", "tiny.en", quantization="int8")
    assert session.ready
    result = session.load_result
    assert (result.requested, result.did_fallback) == ("int8", False)
    assert result.actual.startswith("int8") and result.seconds > 0 and len(result.fingerprint) == 64
    text = session.transcribe(load_clip(JFK).samples).text
    assert "country" in text.lower()
    session.close()


def test_unavailable_variant_falls_back_and_says_so():
    session = load("faster-whisper", "tiny.en", quantization="int4")
    result = session.load_result
    assert result.did_fallback is True
    assert result.requested == "int4" and "int4" in result.fallback_reason
    assert "country" in session.transcribe(load_clip(JFK).samples).text.lower()


def test_without_fallback_an_unavailable_variant_raises():
    with pytest.raises(QuantizationUnavailable, match="int4"):
        load("faster-whisper", "tiny.en", quantization="int4", fallback=False)


def test_background_load_becomes_ready():
    session = load("faster-whisper", "tiny.en", background=True)
    result = session.wait_until_ready(timeout=120)
    assert session.ready and result.seconds > 0


def test_failed_background_load_raises_its_error_quickly(fakes):
    session = load("fake-failing", "tiny.en", background=True)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="disk on fire"):
        session.wait_until_ready(timeout=60)
    assert time.monotonic() - start < 30  # re-raised as soon as it failed, not after the timeout
    assert session.failed and not session.ready


def test_slow_background_load_times_out_and_transcribe_is_refused(fakes):
    release_slow_load.clear()
    session = load("fake-slow", "tiny.en", background=True)
    with pytest.raises(ModelNotReady):
        session.transcribe(load_clip(JFK).samples)
    with pytest.raises(LoadTimeout):
        session.wait_until_ready(timeout=0.2)
    assert not session.ready
    release_slow_load.set()
    session.wait_until_ready(timeout=30)
    assert session.ready


@pytest.mark.integration
def test_corrupt_quantized_mlx_variant_is_quantized_again_before_it_loads():
    import hashlib
    import json
    from pathlib import Path

    from whisper_speedtest.backends import get_backend
    from whisper_speedtest.models import variants

    if not get_backend("mlx-whisper").available().ok:
        pytest.skip("mlx-whisper extra not installed")
    broken = variants.locate_variant("tiny.en", "mlx", "int4")
    weights = Path(broken.path) / "weights.safetensors"
    with open(weights, "r+b") as handle:  # a corrupt header: the file is no longer safetensors
        handle.write(b"\xff" * 64)
    session = load("mlx-whisper", "tiny.en", quantization="int4")
    manifest = json.loads((weights.parent.parent / "manifest.json").read_text())
    recorded = {f["path"]: f["sha256"] for f in manifest["files"]}
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == recorded["weights/weights.safetensors"]
    result = session.load_result  # the remade variant then meets the CPU device, and falls back saying so
    assert result.did_fallback and result.actual == "float16" and "int4" in result.fallback_reason
    assert any("is corrupt" in note and "quantizing it again" in note for note in result.notes), result.notes
    assert "country" in session.transcribe(load_clip(JFK).samples).text.lower()
    with pytest.raises(QuantizationUnavailable, match="int4"):
        load("mlx-whisper", "tiny.en", quantization="int4", fallback=False)


def test_fast_preset_loads_the_backends_fast_variant_in_the_background():
    pytest.importorskip("pywhispercpp", reason="whisper-cpp extra not installed")
    session = load("whisper.cpp", "tiny.en", preset="fast")
    result = session.wait_until_ready(timeout=300)
    assert session.in_background
    assert result.requested == "int4" and result.actual == "q4_0" and not result.did_fallback
    assert "country" in session.transcribe(load_clip(JFK).samples).text.lower()


def test_fast_preset_keeps_float16_where_that_loads_fastest_and_explicit_arguments_win():
    session = load("faster-whisper", "tiny.en", preset="fast", background=False)
    assert not session.in_background and session.ready
    assert session.load_result.requested == "default" and not session.load_result.did_fallback
    default = load("faster-whisper", "tiny.en")
    assert not default.in_background and default.load_result.requested == "default"


def test_unknown_preset_is_a_user_error():
    from whisper_speedtest.errors import BadOption

    with pytest.raises(BadOption, match="unknown load preset 'turbo'"):
        load("faster-whisper", "tiny.en", preset="turbo")
