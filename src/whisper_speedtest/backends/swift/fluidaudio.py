"""FluidAudio: NVIDIA Parakeet TDT (not Whisper) as Core ML models, through a Swift bridge.

FluidAudio's speech recognition is Parakeet, so this backend is ``family = "parakeet"`` and runs
its own model from the Parakeet table in :mod:`.parakeet_mlx`, whatever Whisper model was asked
for. The bridge is built from ``tools/fluidaudio-bridge``.
"""

from __future__ import annotations

from pathlib import Path

from ...errors import ModelNotAvailable
from ...models.locations import OwnPlace, own_copy
from ..base import DecodeOptions, LoadOptions, LoadResult, ModelRef
from ..parakeet_mlx import PARAKEET_MODELS, ParakeetModel, check_language, parakeet_model
from .bridge import BridgeSpec
from .stream_events import StreamingBridgeBackend

MODEL_FORMAT = "parakeet-coreml"
# FluidAudio's AsrModelVersion for each Parakeet model.
FLUIDAUDIO_VERSIONS = {"parakeet-tdt-0.6b-v2": "v2", "parakeet-tdt-0.6b-v3": "v3"}


def fluidaudio_model_folder(model: ParakeetModel) -> Path:
    """Where FluidAudio downloads a model: ``~/Library/Application Support/FluidAudio/Models/<repo>``."""
    return Path.home() / "Library" / "Application Support" / "FluidAudio" / "Models" / model.coreml_repo.split("/")[-1]


def fluidaudio_places(name: str | None = None) -> tuple[OwnPlace, ...]:
    model = parakeet_model(name)
    return (OwnPlace(model.name, MODEL_FORMAT, fluidaudio_model_folder(model), ("*.mlmodelc",), model.coreml_repo, "coreml"),)


def locate_fluidaudio(name: str | None = None) -> ModelRef:
    """FluidAudio's Core ML copy of the Parakeet model; without one, FluidAudio downloads it."""
    model = parakeet_model(name)
    found = own_copy(fluidaudio_places(name))
    source = f"hf:{model.coreml_repo}" + ("" if found else " (FluidAudio downloads it on first load)")
    return ModelRef(model.name, MODEL_FORMAT, str(found.path) if found else None, "coreml", None, source)


class FluidAudioBackend(StreamingBridgeBackend):
    name = "fluidaudio"
    original_names = ("FluidAudioCoreMLImplementation",)
    display_name = "FluidAudio (Parakeet, Core ML)"
    model_format = MODEL_FORMAT
    family = "parakeet"
    bridge = BridgeSpec("fluidaudio-bridge", "WHISPER_SPEEDTEST_FLUIDAUDIO_BRIDGE")
    library_streaming = ("FluidAudio SlidingWindowAsrManager through fluidaudio-bridge --stream: "
                         "confirmed text committed, volatile text shown")

    def __init__(self) -> None:
        super().__init__()
        self._spec: ParakeetModel | None = None

    @classmethod
    def locate_model(cls, name: str) -> ModelRef:
        return locate_fluidaudio()

    @classmethod
    def model_places(cls, name: str) -> tuple[OwnPlace, ...]:
        """FluidAudio runs its own Parakeet model, whatever Whisper model was asked for."""
        return fluidaudio_places()

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        if model.format != MODEL_FORMAT or model.name not in FLUIDAUDIO_VERSIONS:
            raise ModelNotAvailable(
                f"FluidAudio runs Parakeet models ({', '.join(FLUIDAUDIO_VERSIONS)}), not {model.name} ({model.format})"
            )
        self._spec = PARAKEET_MODELS[model.name]
        return super().load(model, options)

    def model_argument(self, model: ModelRef) -> str:
        return model.path or model.name

    def decode_arguments(self, options: DecodeOptions) -> list[str]:
        if options.beam_size > 1:
            raise NotImplementedError("FluidAudio decodes Parakeet greedily; run it with --beam-size 1")
        if self._spec is None:
            raise ModelNotAvailable("FluidAudio: no Parakeet model loaded")
        check_language(self._spec, options.language)  # an English-only model refuses other languages
        arguments = ["--model-version", FLUIDAUDIO_VERSIONS[self._spec.name]]
        if not self._spec.languages and options.language:  # a hint for the multilingual model
            arguments += ["--language", options.language]
        return arguments
