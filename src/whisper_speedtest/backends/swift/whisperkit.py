"""WhisperKit (Argmax): Whisper as Core ML models on the Neural Engine, through a Swift bridge.

WhisperKit runs its own Core ML conversions (``argmaxinc/whisperkit-coreml``), not our weights, so
its rows carry no tensor fingerprint. The bridge is built from ``tools/whisperkit-bridge``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import ModelNotAvailable
from ...models import catalog
from ...models.locations import OwnPlace, own_copy
from ..base import DecodeOptions, ModelRef
from .bridge import BridgeSpec
from .stream_events import StreamingBridgeBackend

WHISPERKIT_REPO = "argmaxinc/whisperkit-coreml"
MODEL_FORMAT = "whisperkit-coreml"
MODELS_ENV = "WHISPER_SPEEDTEST_WHISPERKIT_MODELS"  # a folder of downloaded <variant>/ folders (docs/environment.md)

# The folder Argmax publishes for each catalog model (none for medium, medium.en or large-v1).
WHISPERKIT_VARIANTS: dict[str, str] = {
    **{name: f"openai_whisper-{name}" for name in ("tiny", "tiny.en", "base", "base.en", "small", "small.en", "large-v2", "large-v3")},
    "large-v3-turbo": "openai_whisper-large-v3-v20240930",
}
_REQUIRED_PARTS = ("AudioEncoder.mlmodelc", "TextDecoder.mlmodelc")


def whisperkit_variant(name: str) -> str:
    canonical = catalog.resolve(name)
    if canonical not in WHISPERKIT_VARIANTS:
        raise ModelNotAvailable(
            f"WhisperKit has no Core ML conversion of {canonical} in {WHISPERKIT_REPO}; "
            f"it has {', '.join(WHISPERKIT_VARIANTS)}"
        )
    return WHISPERKIT_VARIANTS[canonical]


def _candidate_folders(variant: str) -> list[Path]:
    candidates = []
    if os.environ.get(MODELS_ENV):
        candidates.append(Path(os.environ[MODELS_ENV]).expanduser() / variant)
    try:
        from huggingface_hub import snapshot_download

        snapshot = snapshot_download(WHISPERKIT_REPO, local_files_only=True, allow_patterns=[f"{variant}/*"])
        candidates.append(Path(snapshot) / variant)
    except Exception:  # not in the Hugging Face cache
        pass
    # WhisperKit's own download location (its HubApi's default downloadBase).
    candidates.append(Path.home() / "Documents" / "huggingface" / "models" / WHISPERKIT_REPO / variant)
    return candidates


def whisperkit_places(name: str) -> tuple[OwnPlace, ...]:
    """Where a WhisperKit copy of catalog model ``name`` can be, in the order they are tried."""
    canonical = catalog.resolve(name)
    variant = whisperkit_variant(canonical)
    return tuple(OwnPlace(canonical, MODEL_FORMAT, folder, _REQUIRED_PARTS, f"{WHISPERKIT_REPO}/{variant}")
                 for folder in _candidate_folders(variant))


def locate_whisperkit(name: str) -> ModelRef:
    """The WhisperKit model for catalog model ``name``; without a local copy, WhisperKit downloads it."""
    canonical = catalog.resolve(name)
    found = own_copy(whisperkit_places(canonical))
    source = f"hf:{WHISPERKIT_REPO}/{whisperkit_variant(canonical)}" + ("" if found else " (WhisperKit downloads it on first load)")
    return ModelRef(canonical, MODEL_FORMAT, str(found.path) if found else None, "float16", None, source)


class WhisperKitBackend(StreamingBridgeBackend):
    name = "whisperkit"
    original_names = ("WhisperKitImplementation",)
    display_name = "WhisperKit (Core ML)"
    model_format = MODEL_FORMAT
    bridge = BridgeSpec("whisperkit-bridge", "WHISPER_SPEEDTEST_WHISPERKIT_BRIDGE")
    library_streaming = ("WhisperKit AudioStreamTranscriber's loop through whisperkit-bridge --stream: "
                         "confirmed segments committed, unconfirmed segments shown")

    @classmethod
    def locate_model(cls, name: str) -> ModelRef:
        return locate_whisperkit(name)

    @classmethod
    def model_places(cls, name: str) -> tuple[OwnPlace, ...]:
        return whisperkit_places(name)

    def model_argument(self, model: ModelRef) -> str:
        return model.path or whisperkit_variant(model.name)

    def decode_arguments(self, options: DecodeOptions) -> list[str]:
        if options.beam_size > 1:
            raise NotImplementedError("WhisperKit decodes greedily; run it with --beam-size 1")
        return ["--language", options.language or "auto", "--temperature", f"{options.temperature:g}"]
