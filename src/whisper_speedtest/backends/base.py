"""The backend contract that every Whisper implementation adapter follows."""

from __future__ import annotations

import importlib.util
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

import numpy as np

from ..models.ref import ModelRef  # noqa: F401  (re-exported: backends and plugins import it from here)


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class LoadOptions:
    device: str = "auto"
    quantization: str | None = None  # float16 | int8 | int4, None = the backend's default
    threads: int | None = None
    fallback: bool = True
    batch_size: int | None = None
    synthetic_tokens: int | None = None  # synthetic weights: decode exactly this many tokens
    cuda_graphs: bool = True  # graph-decoder: replay its static-KV-cache steps as CUDA graphs (off: eagerly)
    weights: str = "same"  # same: our shared copy for every backend; native: each backend's usual download


@dataclass(frozen=True)
class DecodeOptions:
    language: str | None = "en"
    beam_size: int = 1
    temperature: float = 0.0
    condition_on_previous_text: bool = True


@dataclass(frozen=True)
class LoadResult:
    """What a load produced: the variant requested and the one actually loaded."""

    requested: str
    actual: str
    did_fallback: bool = False
    seconds: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class Transcript:
    text: str
    segments: tuple[dict[str, Any], ...] = field(default=())
    language: str | None = None

    @classmethod
    def from_whisper_result(cls, result: dict[str, Any]) -> Transcript:
        """From the dict that openai-whisper's transcribe() returns (and its MLX ports copy)."""
        segments = tuple({"start": s["start"], "end": s["end"], "text": s["text"]} for s in result["segments"])
        return cls(result["text"].strip(), segments, result.get("language"))


def mlx_port_transcribe_kwargs(options: DecodeOptions) -> dict[str, Any]:
    """The shared decode settings as the MLX ports of openai-whisper's ``transcribe()`` take them (greedy only)."""
    return {
        "language": options.language,
        "temperature": options.temperature,
        "condition_on_previous_text": options.condition_on_previous_text,
        "verbose": None,
        "fp16": True,
    }


class Backend(ABC):
    """One Whisper implementation. Heavy imports happen in :meth:`load`, never at import time."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    platforms: ClassVar[tuple[str, ...]] = ("linux", "darwin", "win32")
    model_format: ClassVar[str] = "ct2"
    family: ClassVar[str] = "whisper"
    extra: ClassVar[str] = ""
    # Names mac-whisper-speedtest gave this backend (its implementation classes), accepted as aliases.
    # Read from the class's own ``__dict__``: a subclass does not inherit them.
    original_names: ClassVar[tuple[str, ...]] = ()
    # Variants this backend can run besides float16, and how (shown by `whisper-speedtest backends`).
    quantizations: ClassVar[dict[str, str]] = {}

    @classmethod
    def locate_model(cls, name: str) -> ModelRef | None:
        """This backend's own model for catalog model ``name``, or None for the shared weights
        (``sources.locate(name, cls.model_format)``). Backends of another family (Parakeet) or
        with their own model format (WhisperKit, FluidAudio) override it."""
        return None

    @classmethod
    def install_hint(cls) -> str:
        return f"pip install 'whisper-speedtest[{cls.extra or cls.name}]'"

    @classmethod
    def missing_requirements(cls) -> list[str]:
        missing = []
        for dist in cls.requires:
            try:
                metadata.version(dist)
            except metadata.PackageNotFoundError:
                missing.append(dist)
        return missing

    @classmethod
    def available(cls) -> Availability:
        """Whether this backend can run here, judged without importing heavy packages."""
        if not any(sys.platform.startswith(p) for p in cls.platforms):
            return Availability(False, f"runs only on {', '.join(cls.platforms)} (this is {sys.platform})")
        missing = cls.missing_requirements()
        if missing:
            return Availability(False, f"{', '.join(missing)} not installed: {cls.install_hint()}")
        return Availability(True)

    @staticmethod
    def module_present(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    @abstractmethod
    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        """Load ``model``; return what was actually loaded."""

    @abstractmethod
    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        """Transcribe float32 mono 16 kHz samples."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The settings actually in effect (never merely the requested ones)."""

    # How transcribe_batch works: "sequential" unless a backend really batches.
    batch_mode: ClassVar[str] = "sequential"
    # Whether --synthetic-weights (random weights of a catalog architecture) is supported.
    supports_synthetic: ClassVar[bool] = False

    def transcribe_batch(self, audios: list[np.ndarray], options: DecodeOptions) -> list[Transcript]:
        """Transcribe several clips; the default is one after another."""
        return [self.transcribe(audio, options) for audio in audios]

    def peak_device_memory(self) -> int | None:
        """Peak accelerator memory in bytes as the framework saw it, where it can tell."""
        return None

    def close(self) -> None:
        """Release the model."""

    def synchronize(self) -> None:
        """Wait for queued device work (CUDA) before the clock is read; a no-op on CPU."""

    def package_versions(self) -> dict[str, str]:
        versions = {}
        for dist in self.requires:
            try:
                versions[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass
        return versions


def physical_cores() -> int:
    import os

    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1
