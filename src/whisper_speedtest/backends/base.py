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
from ..results import DecodeOptions  # part of the contract: what transcribe() receives


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
    backend_options: tuple[tuple[str, Any], ...] = ()  # (name, value) pairs only some backends read: see backend_option

    def backend_option(self, name: str, default: Any = None) -> Any:
        """An option only some backends read (transformers: ``cuda_graphs``, ``synthetic_tokens``), or ``default``."""
        return dict(self.backend_options).get(name, default)


@dataclass(frozen=True)
class LoadResult:
    """What a load produced: the variant requested and the one actually loaded (the harness times the load)."""

    requested: str
    actual: str
    did_fallback: bool = False
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


@dataclass(frozen=True)
class TimedWord:
    """One word of a transcript with its start and end in the audio, in seconds, as the library timed it."""

    text: str  # as the tokenizer spelled it: a leading space where a new word begins (" o", "'clock")
    start: float
    end: float


@dataclass(frozen=True)
class WordTranscript:
    """What ``Backend.transcribe_words`` returns: the words with their times, and where segments end."""

    words: tuple[TimedWord, ...]
    segment_ends: tuple[float, ...] = ()  # seconds; a backend whose segments are single words gives every word's end

    @property
    def text(self) -> str:
        return "".join(w.text for w in self.words).strip()


class WordTimestampsUnsupported(Exception):
    """A backend that cannot time words (the streaming policy needs their end times)."""


def mlx_port_transcribe_kwargs(options: DecodeOptions) -> dict[str, Any]:
    """The shared decode settings as the MLX ports of openai-whisper's ``transcribe()`` take them (greedy only)."""
    return {
        "language": options.language,
        "temperature": options.temperature,
        "condition_on_previous_text": options.condition_on_previous_text,
        "verbose": None,
        "fp16": True,
    }


def mlx_device() -> dict[str, Any]:
    """Where MLX puts arrays, as MLX itself reports it: ``device`` is ``mlx/gpu`` (Metal on a Mac, CUDA
    on Linux with the ``mlx-cuda`` extra) or ``mlx/cpu``, and ``mlx_gpu`` names the GPU backend."""
    import mlx.core as mx

    on_gpu = mx.default_device().type == mx.gpu
    reading: dict[str, Any] = {"device": f"mlx/{'gpu' if on_gpu else 'cpu'}"}
    if on_gpu:
        if mx.metal.is_available():
            reading["mlx_gpu"] = "metal"
        elif hasattr(mx, "cuda") and mx.cuda.is_available():
            reading["mlx_gpu"] = "cuda"
        info = getattr(mx, "device_info", None)
        try:
            name = info().get("device_name") if info else None
        except Exception:  # an older MLX without a device name: the device type above still stands
            name = None
        if name:
            reading["mlx_gpu_name"] = str(name)
    return reading


def mlx_on_gpu() -> bool:
    import mlx.core as mx

    return mx.default_device().type == mx.gpu


def mlx_peak_memory() -> int | None:
    """MLX's own peak of GPU memory in bytes since the last reset, or None on the CPU device."""
    import mlx.core as mx

    if not mlx_on_gpu():
        return None
    peak = getattr(mx, "get_peak_memory", None) or mx.metal.get_peak_memory
    return int(peak()) or None


def mlx_quantized_layers(model) -> dict[str, Any]:
    """How many layers of a loaded MLX model really hold quantized weights, and their bit widths, read
    back from its modules (so an int4 row shows int4 weights, not merely an int4 request); {} for none."""
    import mlx.nn as nn

    kinds = (nn.QuantizedLinear, nn.QuantizedEmbedding)
    quantized = [module for _, module in model.named_modules() if isinstance(module, kinds)]
    if not quantized:
        return {}
    return {"quantized_layers": len(quantized), "quantized_bits": sorted({int(m.bits) for m in quantized})}


def mlx_reset_peak_memory() -> None:
    import mlx.core as mx

    reset = getattr(mx, "reset_peak_memory", None) or mx.metal.reset_peak_memory
    reset()


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
    # The variant ``load(preset="fast")`` asks for: the one measured to load fastest while its transcripts
    # stay within 2% WER of float16 (benchmarks/loading.py). None: float16 already loads fastest.
    fast_load_quantization: ClassVar[str | None] = None
    # Extras whose pins conflict with the main environment's: where this backend is not available here, it runs
    # in a managed environment of its own holding this tool with these extras (`whisper-speedtest backends install`).
    own_environment: ClassVar[tuple[str, ...]] = ()
    # Distributions besides ``requires`` whose versions its row records (what its environment pins).
    reported_packages: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def model_places(cls, name: str) -> tuple:
        """Folders where this backend keeps a model of its own for ``name`` (``models.locations.OwnPlace``
        records), which check-models scans and shows; () for a backend that runs the shared weights."""
        return ()

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
    def for_this_platform(cls) -> bool:
        """Whether this backend can run on this operating system and machine at all."""
        return any(sys.platform.startswith(p) for p in cls.platforms)

    @classmethod
    def available(cls) -> Availability:
        """Whether this backend can run here, judged without importing heavy packages."""
        if not cls.for_this_platform():
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

    def __init__(self) -> None:
        self._params: dict[str, Any] = {}  # behind params(): the settings in effect, as record_params noted them

    def record_params(self, **settings: Any) -> None:
        """Note settings actually in effect, read back from the library (a later value replaces an earlier one)."""
        self._params.update(settings)

    def params(self) -> dict[str, Any]:
        """The settings actually in effect (never merely the requested ones): what :meth:`record_params` noted."""
        return dict(self._params)

    # How transcribe_batch works: "sequential" unless a backend really batches.
    batch_mode: ClassVar[str] = "sequential"
    # Whether --synthetic-weights (random weights of a catalog architecture) is supported.
    supports_synthetic: ClassVar[bool] = False

    def transcribe_batch(self, audios: list[np.ndarray], options: DecodeOptions) -> list[Transcript]:
        """Transcribe several clips; the default is one after another."""
        return [self.transcribe(audio, options) for audio in audios]

    # How this backend times words for ``transcribe_words`` (shown in stream rows); "" when it cannot.
    # Read from the class's own ``__dict__``: a subclass that changes the decoding must claim it again.
    word_timestamps: ClassVar[str] = ""

    @classmethod
    def word_timestamps_support(cls) -> Availability:
        """Whether :meth:`transcribe_words` works for this very class (``stream`` skips it with the reason if not)."""
        if cls.__dict__.get("word_timestamps"):
            return Availability(True, cls.__dict__["word_timestamps"])
        return Availability(False, f"{cls.display_name} gives no word timestamps here (the streaming policy needs each word's end time)")

    def transcribe_words(self, audio: np.ndarray, options: DecodeOptions, prompt: str = "") -> WordTranscript:
        """Optional: transcribe with word timestamps, ``prompt`` (earlier text) given as the initial prompt."""
        raise WordTimestampsUnsupported(self.word_timestamps_support().reason)

    def peak_device_memory(self) -> int | None:
        """Peak accelerator memory in bytes as the framework saw it, where it can tell."""
        return None

    def close(self) -> None:
        """Release the model."""

    def synchronize(self) -> None:
        """Wait for queued device work (CUDA) before the clock is read; a no-op on CPU."""

    def package_versions(self) -> dict[str, str]:
        versions = {}
        for dist in (*self.requires, *self.reported_packages):
            try:
                versions[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass
        return versions


def physical_cores() -> int:
    import os

    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1
