"""The Swift bridges' contract: recorded outputs through the parser, and the whole adapter path
through a fake bridge executable (a real subprocess, with exit codes, stderr and timeouts)."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from whisper_speedtest.backends.base import Backend, DecodeOptions, LoadOptions, ModelRef
from whisper_speedtest.backends.swift.fluidaudio import FluidAudioBackend, locate_fluidaudio
from whisper_speedtest.backends.swift.bridge import BridgeError, parse_bridge_output
from whisper_speedtest.backends.swift.whisperkit import WhisperKitBackend, locate_whisperkit, whisperkit_variant
from whisper_speedtest.errors import BadOption, ModelNotAvailable

FIXTURES = Path(__file__).parent / "fixtures" / "bridges"
AUDIO = np.random.default_rng(1).uniform(-0.5, 0.5, 16000 * 3).astype(np.float32)


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def assert_one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message and len(message) <= 400
    return message


# --- the parser, on recorded outputs ---------------------------------------------------------


def test_good_whisperkit_output_is_parsed():
    output = parse_bridge_output(fixture_text("whisperkit_ok.json"), "whisperkit-bridge")
    assert output.text.startswith("And so my fellow Americans")
    assert [(s.start, s.end) for s in output.segments] == [(0.0, 7.6), (7.6, 10.6)]
    assert output.timing.load_s == pytest.approx(1.873)
    assert output.timing.transcribe_s == (0.412,)
    assert output.timing.excludes == "process start-up and model load"
    assert output.model == "openai_whisper-tiny.en" and "NeuralEngine" in output.compute_units
    assert dict(output.settings)["temperature_fallback"] == "off"
    assert output.language == "en"


def test_good_fluidaudio_output_is_parsed():
    output = parse_bridge_output(fixture_text("fluidaudio_ok.json"), "fluidaudio-bridge")
    assert output.timing.transcribe_s == (0.094, 0.088)
    assert output.language is None and output.model == "parakeet-tdt-0.6b-v2"
    assert len(output.segments) == 1 and output.segments[0].text.endswith("your country.")


@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("error.json", "whisperkit-bridge failed: Model not found. Please check the model or repo name"),
        ("truncated.txt", "truncated JSON"),
        ("log_noise.txt", "more than one JSON object on stdout; extra: '[WhisperKit] Unloading models"),
        ("log_before.txt", "output is not JSON: '[WhisperKit] Loading models..."),
        ("missing_fields.json", "output lacks timing, compute_units"),
        ("wrong_schema.json", "printed schema 2, expected 1"),
        ("bad_timing.json", "timing.transcribe_s must be a non-empty list"),
    ],
)
def test_bad_outputs_raise_one_clear_line(fixture, expected):
    with pytest.raises(BridgeError) as info:
        parse_bridge_output(fixture_text(fixture), "whisperkit-bridge")
    assert expected in assert_one_line(info.value)


@pytest.mark.parametrize(
    "stdout, expected",
    [
        ("", "printed nothing on stdout"),
        ("[1, 2]", "JSON but not an object"),
        (json.dumps({"schema": 1, "error": None, "text": "x", "segments": [{"start": 0}], "timing": {}, "model": "m", "compute_units": "c"}), "segment without text"),
        (json.dumps({"schema": 1, "error": None, "text": "x", "segments": [{"start": -1, "end": 1, "text": "x"}], "timing": {}, "model": "m", "compute_units": "c"}), "segment start is -1"),
        (json.dumps({"schema": 1, "error": None, "text": 5, "segments": [], "timing": {}, "model": "m", "compute_units": "c"}), "'text' is int, expected str"),
        (json.dumps({"schema": 1, "error": None, "text": "", "segments": [], "model": "m", "compute_units": "c",
                     "timing": {"load_s": "fast", "transcribe_s": [1.0], "excludes": "process start-up and model load"}}),
         "timing.load_s is 'fast'"),
        (json.dumps({"schema": 1, "error": None, "text": "", "segments": [], "model": "m", "compute_units": "c",
                     "timing": {"load_s": 1.0, "transcribe_s": [1.0], "excludes": "nothing"}}),
         "timing.excludes is 'nothing', expected 'process start-up and model load'"),
    ],
)
def test_malformed_fields_are_named(stdout, expected):
    with pytest.raises(BridgeError) as info:
        parse_bridge_output(stdout, "b")
    assert expected in assert_one_line(info.value)


# --- the adapters, through a fake bridge executable ------------------------------------------


@pytest.fixture
def fake_bridge(tmp_path, monkeypatch):
    """The fake bridge script, made executable and run by this interpreter; returns its log dir."""
    script = tmp_path / "fake-bridge"
    source = (FIXTURES / "fake_bridge.py").read_text().split("\n", 1)[1]
    script.write_text(f"#!{sys.executable}\n{source}")
    script.chmod(0o755)
    log = tmp_path / "log"
    log.mkdir()
    for variable in ("WHISPER_SPEEDTEST_WHISPERKIT_BRIDGE", "WHISPER_SPEEDTEST_FLUIDAUDIO_BRIDGE"):
        monkeypatch.setenv(variable, str(script))
    monkeypatch.setenv("FAKE_BRIDGE_LOG", str(log))
    for variable in ("FAKE_BRIDGE_OUTPUT", "FAKE_BRIDGE_EXIT", "FAKE_BRIDGE_STDERR", "FAKE_BRIDGE_SLEEP"):
        monkeypatch.delenv(variable, raising=False)
    return log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in (log / "calls.jsonl").read_text().splitlines()]


def whisperkit_ref(path: str | None = "/models/openai_whisper-tiny.en") -> ModelRef:
    return ModelRef("tiny.en", "whisperkit-coreml", path, "float16", None, "test")


def loaded_whisperkit(monkeypatch, fixture: str = "whisperkit_ok.json") -> WhisperKitBackend:
    monkeypatch.setenv("FAKE_BRIDGE_OUTPUT", str(FIXTURES / fixture))
    backend = WhisperKitBackend()
    backend.load(whisperkit_ref(), LoadOptions())
    return backend


def test_whisperkit_adapter_runs_the_bridge_and_reports_its_timing(fake_bridge, monkeypatch):
    backend = loaded_whisperkit(monkeypatch)
    assert backend.params()["bridge_first_load_s"] == pytest.approx(1.873)
    transcript = backend.transcribe(AUDIO, DecodeOptions(language="en"))
    backend.transcribe(AUDIO, DecodeOptions(language="en"))

    assert transcript.text.endswith("ask what you can do for your country.")
    assert transcript.segments[1] == {"start": 7.6, "end": 10.6, "text": "ask what you can do for your country."}
    params = backend.params()
    assert params["bridge_transcribe_s"] == [0.412, 0.412]  # one per transcribe() call
    assert params["bridge_load_s"] == pytest.approx(1.873)
    assert "excludes" not in params and "process start-up and model load" in params["bridge_timing_excludes"]
    assert params["device"] == "coreml" and params["compute_units"].startswith("mel=")
    assert params["temperature_fallback"] == "off" and params["bridge_model"] == "openai_whisper-tiny.en"

    probe, first, _ = calls(fake_bridge)
    assert first[:2] == ["--model", "/models/openai_whisper-tiny.en"]
    assert first[first.index("--runs") + 1] == "1"
    assert first[first.index("--language") + 1] == "en" and first[first.index("--temperature") + 1] == "0"
    written, rate = sf.read(fake_bridge / "call-1.wav", dtype="float32")
    assert rate == 16000 and np.array_equal(written, AUDIO)  # the bridge gets exactly our samples
    assert len(sf.read(fake_bridge / "call-0.wav")[0]) == 32000  # the load probe: 2 s


def test_whisperkit_passes_a_variant_name_when_no_folder_is_local(fake_bridge, monkeypatch):
    monkeypatch.setenv("FAKE_BRIDGE_OUTPUT", str(FIXTURES / "whisperkit_ok.json"))
    backend = WhisperKitBackend()
    backend.load(whisperkit_ref(path=None), LoadOptions())
    backend.transcribe(AUDIO, DecodeOptions(language=None))
    last = calls(fake_bridge)[-1]
    assert last[1] == "openai_whisper-tiny.en" and last[last.index("--language") + 1] == "auto"


def test_error_object_with_nonzero_exit_is_one_line(fake_bridge, monkeypatch):
    monkeypatch.setenv("FAKE_BRIDGE_OUTPUT", str(FIXTURES / "error.json"))
    monkeypatch.setenv("FAKE_BRIDGE_EXIT", "1")
    monkeypatch.setenv("FAKE_BRIDGE_STDERR", "2026-01-01 [WhisperKit] verbose stack\nmore\n")
    with pytest.raises(BridgeError) as info:
        WhisperKitBackend().load(whisperkit_ref(), LoadOptions())
    assert assert_one_line(info.value) == (
        "whisperkit-bridge exited with code 1: Model not found. Please check the model or repo name and try again. Error: offline"
    )


def test_crash_without_json_reports_exit_code_and_last_stderr_line(fake_bridge, monkeypatch):
    monkeypatch.setenv("FAKE_BRIDGE_EXIT", "134")
    monkeypatch.setenv("FAKE_BRIDGE_STDERR", "loading\nFatal error: Unexpectedly found nil\n\n")
    with pytest.raises(BridgeError) as info:
        WhisperKitBackend().load(whisperkit_ref(), LoadOptions())
    assert assert_one_line(info.value) == "whisperkit-bridge exited with code 134: Fatal error: Unexpectedly found nil"


@pytest.mark.parametrize("fixture, expected", [("truncated.txt", "truncated JSON"), ("log_noise.txt", "more than one JSON object")])
def test_partial_output_after_a_good_load_fails_the_run(fake_bridge, monkeypatch, fixture, expected):
    backend = loaded_whisperkit(monkeypatch)
    monkeypatch.setenv("FAKE_BRIDGE_OUTPUT", str(FIXTURES / fixture))
    with pytest.raises(BridgeError) as info:
        backend.transcribe(AUDIO, DecodeOptions())
    assert expected in assert_one_line(info.value)


def test_a_hanging_bridge_is_stopped_at_the_timeout(fake_bridge, monkeypatch):
    backend = loaded_whisperkit(monkeypatch)
    monkeypatch.setenv("FAKE_BRIDGE_SLEEP", "60")
    monkeypatch.setenv("WHISPER_SPEEDTEST_BRIDGE_TIMEOUT_S", "1.5")
    start = time.monotonic()
    with pytest.raises(BridgeError) as info:
        backend.transcribe(AUDIO, DecodeOptions())
    assert time.monotonic() - start < 20
    assert assert_one_line(info.value) == "whisperkit-bridge did not finish within 1.5 s and was stopped"


def test_beam_search_is_refused_before_running_anything(fake_bridge, monkeypatch):
    backend = loaded_whisperkit(monkeypatch)
    with pytest.raises(NotImplementedError, match="greedily"):
        backend.transcribe(AUDIO, DecodeOptions(beam_size=5))
    assert len(calls(fake_bridge)) == 1  # only the load probe


def test_missing_binary_says_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setenv("WHISPER_SPEEDTEST_WHISPERKIT_BRIDGE", str(tmp_path / "absent"))
    with pytest.raises(BridgeError, match=r"swift build -c release --package-path tools/whisperkit-bridge"):
        WhisperKitBackend().load(whisperkit_ref(), LoadOptions())


def test_on_macos_with_a_built_bridge_only_planner_support_is_missing(fake_bridge, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr("platform.machine", lambda: "arm64")
    availability = WhisperKitBackend.available()
    if hasattr(Backend, "locate_model"):
        assert availability.ok
    else:
        assert not availability.ok and "locate_model" in availability.reason


def test_on_macos_a_bad_bridge_variable_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr("platform.machine", lambda: "arm64")
    monkeypatch.setenv("WHISPER_SPEEDTEST_FLUIDAUDIO_BRIDGE", str(tmp_path / "nope"))
    reason = FluidAudioBackend.available().reason
    assert "$WHISPER_SPEEDTEST_FLUIDAUDIO_BRIDGE" in reason and "not an executable file" in reason


# --- FluidAudio: Parakeet, not Whisper --------------------------------------------------------


def parakeet_ref(path: str | None = None) -> ModelRef:
    return ModelRef("parakeet-tdt-0.6b-v2", "parakeet-coreml", path, "coreml", None, "test")


def test_fluidaudio_adapter_passes_the_parakeet_version(fake_bridge, monkeypatch):
    monkeypatch.setenv("FAKE_BRIDGE_OUTPUT", str(FIXTURES / "fluidaudio_ok.json"))
    backend = FluidAudioBackend()
    backend.load(parakeet_ref(), LoadOptions())
    transcript = backend.transcribe(AUDIO, DecodeOptions(language="en"))
    assert transcript.text.startswith("And so, my fellow Americans")
    assert backend.params()["bridge_transcribe_s"] == [0.094, 0.088]
    assert backend.params()["model_version"] == "v2"
    last = calls(fake_bridge)[-1]
    assert last[:2] == ["--model", "parakeet-tdt-0.6b-v2"]
    assert last[last.index("--model-version") + 1] == "v2"
    assert "--language" not in last  # v2 is English-only: no hint needed


def test_fluidaudio_is_labelled_parakeet_and_refuses_whisper_models(fake_bridge):
    assert FluidAudioBackend.family == "parakeet" and WhisperKitBackend.family == "whisper"
    whisper = ModelRef("tiny.en", "ct2", "/x", "float16")
    with pytest.raises(ModelNotAvailable, match="FluidAudio runs Parakeet models"):
        FluidAudioBackend().load(whisper, LoadOptions())
    assert not (fake_bridge / "calls.jsonl").exists()


def test_fluidaudio_refuses_a_language_the_english_model_cannot_do(fake_bridge, monkeypatch):
    monkeypatch.setenv("FAKE_BRIDGE_OUTPUT", str(FIXTURES / "fluidaudio_ok.json"))
    backend = FluidAudioBackend()
    backend.load(parakeet_ref(), LoadOptions())
    with pytest.raises(BadOption, match="transcribes only en, not 'de'"):
        backend.transcribe(AUDIO, DecodeOptions(language="de"))


def test_fluidaudio_model_folder_is_found_in_its_download_location(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert locate_fluidaudio().path is None and "downloads it" in locate_fluidaudio().source
    folder = tmp_path / "Library" / "Application Support" / "FluidAudio" / "Models" / "parakeet-tdt-0.6b-v2-coreml"
    (folder / "Encoder.mlmodelc").mkdir(parents=True)
    located = locate_fluidaudio()
    assert located.path == str(folder) and located.format == "parakeet-coreml" and located.fingerprint is None


# --- WhisperKit's model names -----------------------------------------------------------------


def test_whisperkit_variants_follow_the_catalog():
    assert whisperkit_variant("tiny.en") == "openai_whisper-tiny.en"
    assert whisperkit_variant("large") == "openai_whisper-large-v3"  # the catalog's alias, resolved
    assert whisperkit_variant("turbo") == "openai_whisper-large-v3-v20240930"
    with pytest.raises(ModelNotAvailable, match="no Core ML conversion of medium"):
        whisperkit_variant("medium")


def test_whisperkit_local_folder_is_used_when_complete(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("WHISPER_SPEEDTEST_WHISPERKIT_MODELS", str(tmp_path / "wk"))
    folder = tmp_path / "wk" / "openai_whisper-base"
    (folder / "AudioEncoder.mlmodelc").mkdir(parents=True)
    assert locate_whisperkit("base").path is None  # the decoder is missing
    (folder / "TextDecoder.mlmodelc").mkdir()
    located = locate_whisperkit("base")
    assert located.path == str(folder) and located.name == "base" and located.format == "whisperkit-coreml"


def test_the_fake_bridge_in_the_repository_is_executable():
    assert (FIXTURES / "fake_bridge.py").stat().st_mode & 0o111
