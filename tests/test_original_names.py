"""mac-whisper-speedtest's implementation class names and --implementations are accepted, with one note naming ours."""

import pytest

from tests.conftest import run_cli
from whisper_speedtest.backends import alias_note, all_backends, get_backend
from whisper_speedtest.cli.benchmark import BenchmarkOptions, prepare
from whisper_speedtest.cli.options import backend_choice
from whisper_speedtest.errors import UnknownBackend

ORIGINAL = {
    "MLXWhisperImplementation": "mlx-whisper",
    "InsanelyFastWhisperImplementation": "transformers",
    "FasterWhisperImplementation": "faster-whisper",
    "WhisperMPSImplementation": "whisper-mps",
    "LightningWhisperMLXImplementation": "lightning-whisper-mlx",
    "ParakeetMLXImplementation": "parakeet-mlx",
    "WhisperCppCoreMLImplementation": "whisper.cpp-coreml",
    "WhisperKitImplementation": "whisperkit",
    "FluidAudioCoreMLImplementation": "fluidaudio",
}


def test_every_original_class_name_resolves_to_ours():
    for original, ours in ORIGINAL.items():
        assert get_backend(original).name == ours
        assert get_backend(original.lower()).name == ours  # any case
        assert alias_note(original) == f"note: {original} is mac-whisper-speedtest's name; ours is {ours}"
    assert alias_note("mlx-whisper") is None


def test_subclasses_do_not_inherit_an_original_name():
    owners = [cls.name for cls in all_backends().values() if "InsanelyFastWhisperImplementation" in cls.__dict__.get("original_names", ())]
    assert owners == ["transformers"]  # not graph-decoder, which subclasses it
    with pytest.raises(UnknownBackend):
        get_backend("WhisperCppImplementation")  # not a name the original used


def test_implementations_option_is_merged_with_one_note():
    classes, notes = backend_choice(["faster-whisper"], ["MLXWhisperImplementation,FasterWhisperImplementation"])
    assert tuple(cls.name for cls in classes) == ("faster-whisper", "mlx-whisper")
    assert notes == (
        "note: --implementations MLXWhisperImplementation,FasterWhisperImplementation is mac-whisper-speedtest's "
        "spelling; ours is -b mlx-whisper,faster-whisper",
    )
    prepared = prepare(BenchmarkOptions(backends=("MLXWhisperImplementation",)))
    assert tuple(cls.name for cls in prepared.request.backends) == ("mlx-whisper",) and len(prepared.notes) == 1


def test_cli_accepts_an_original_name_and_prints_one_note():
    done = run_cli("check-models", "-b", "MLXWhisperImplementation", "--json")
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
    assert notes == ["note: MLXWhisperImplementation is mac-whisper-speedtest's name; ours is mlx-whisper"]
    assert '"mlx-whisper"' in done.stdout


def test_cli_unknown_original_name_is_one_line_exit_2():
    done = run_cli("benchmark", "-b", "NoSuchImplementation")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: unknown backend 'NoSuchImplementation'") and len(done.stderr.strip().splitlines()) == 1
