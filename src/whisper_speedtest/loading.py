"""The Python API for loading one backend in this process, optionally in the background.

    from whisper_speedtest import load
    session = load("mlx-whisper", "base", quantization="int4", background=True)
    session.wait_until_ready(timeout=30.0)
    session.transcribe(audio)

Two presets: ``preset="default"`` loads the float16 weights every benchmark row runs, before returning;
``preset="fast"`` loads the backend's fastest-loading variant (``Backend.fast_load_quantization``) in the
background, so the load overlaps whatever the caller does next (recording, say). Explicit
``quantization`` and ``background`` win over the preset's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from .backends import get_backend
from .backends.base import Backend, DecodeOptions, LoadOptions, Transcript
from .backends.loader import load_with_fallback, plan_variant
from .errors import BackendUnavailable, BadOption, LoadTimeout, ModelNotReady
from .models import catalog, variants


@dataclass(frozen=True)
class SessionLoadResult:
    """What a load produced: requested vs actual variant, whether it fell back, and how long it took."""

    backend: str
    model: str
    requested: str
    actual: str
    did_fallback: bool
    seconds: float
    fallback_reason: str = ""
    fingerprint: str | None = None
    notes: tuple[str, ...] = ()  # e.g. a corrupt store entry that was made again before loading


class ModelSession:
    """A backend with its model, loading in a background thread or already loaded."""

    def __init__(self, backend: Backend, backend_name: str, model: str, quantization: str | None, fallback: bool, options: LoadOptions):
        self._backend = backend
        self._backend_name = backend_name
        self._model = model
        self._quantization = quantization
        self._fallback = fallback
        self._options = options
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._result: SessionLoadResult | None = None
        self._thread: threading.Thread | None = None

    def _load(self) -> None:
        start = time.perf_counter()
        notes: list[str] = []
        try:
            plan = plan_variant(type(self._backend), self._model, self._quantization, fallback=self._fallback,
                                on_note=notes.append)
            result = load_with_fallback(self._backend, plan, self._options)
            model = plan.fallback_model if result.did_fallback else plan.model
            self._result = SessionLoadResult(
                backend=self._backend_name,
                model=self._model,
                requested=self._quantization or "default",
                actual=result.actual,
                did_fallback=result.did_fallback,
                seconds=time.perf_counter() - start,
                fallback_reason=result.detail if result.did_fallback else "",
                fingerprint=model.fingerprint if model else None,
                notes=tuple(notes),
            )
        except BaseException as exc:  # kept and re-raised by wait_until_ready
            self._error = exc
        finally:
            self._done.set()

    def start(self, background: bool) -> ModelSession:
        if background:
            self._thread = threading.Thread(target=self._load, name=f"load-{self._backend_name}", daemon=True)
            self._thread.start()
        else:
            self._load()
            self._raise_if_failed()
        return self

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    @property
    def ready(self) -> bool:
        """True once the model loaded successfully."""
        return self._done.is_set() and self._error is None

    @property
    def in_background(self) -> bool:
        """True when the model loads (or loaded) in a background thread."""
        return self._thread is not None

    @property
    def failed(self) -> bool:
        return self._done.is_set() and self._error is not None

    def wait_until_ready(self, timeout: float | None = None) -> SessionLoadResult:
        """Block until loaded; raises :class:`LoadTimeout`, or the load's own error."""
        if not self._done.wait(timeout):
            raise LoadTimeout(f"{self._backend_name} {self._model} not loaded within {timeout:g} s")
        self._raise_if_failed()
        return self._result

    @property
    def load_result(self) -> SessionLoadResult | None:
        return self._result

    def transcribe(self, audio: np.ndarray, *, language: str | None = "en", beam_size: int = 1) -> Transcript:
        if not self._done.is_set():
            raise ModelNotReady(f"{self._backend_name} is still loading {self._model}; call wait_until_ready() first")
        self._raise_if_failed()
        return self._backend.transcribe(np.asarray(audio, dtype=np.float32), DecodeOptions(language, beam_size, 0.0))

    def params(self) -> dict:
        return self._backend.params()

    def close(self) -> None:
        self._done.wait()
        self._backend.close()

    def __enter__(self) -> ModelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


LOAD_PRESETS = ("default", "fast")


def load(
    backend: str,
    model: str = catalog.DEFAULT_MODEL,
    *,
    preset: str = "default",
    quantization: str | None = None,
    background: bool | None = None,
    fallback: bool = True,
    device: str = "auto",
    threads: int | None = None,
) -> ModelSession:
    """Load ``model`` into ``backend``; ``quantization`` is ``float16``, ``int8`` or ``int4``.

    With ``fallback`` (the default) an unavailable variant loads float16 and the result says
    ``did_fallback=True``; without it, :class:`~whisper_speedtest.errors.QuantizationUnavailable` is raised.
    ``preset`` is ``default`` (float16, loaded before returning) or ``fast`` (the backend's fastest-loading
    variant, loaded in the background); ``quantization`` and ``background``, when given, override it.
    """
    if preset not in LOAD_PRESETS:
        raise BadOption(f"unknown load preset {preset!r}: choose one of {', '.join(LOAD_PRESETS)}")
    cls = get_backend(backend)
    availability = cls.available()
    if not availability.ok:
        raise BackendUnavailable(f"{cls.name}: {availability.reason}")
    name = catalog.resolve(model)
    fast = preset == "fast"
    if quantization is None and fast:
        quantization = cls.fast_load_quantization
    background = fast if background is None else background
    variants.check_quantization(quantization)
    options = LoadOptions(device=device, quantization=quantization, threads=threads, fallback=fallback)
    return ModelSession(cls(), cls.name, name, quantization, fallback, options).start(background)
