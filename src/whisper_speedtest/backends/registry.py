"""Backend discovery: the built-in backends, imported directly, and third-party plugins from the
entry-point group ``whisper_speedtest.backends``. Both are read once per process and kept."""

from __future__ import annotations

import functools
import sys
from importlib import metadata

from ..errors import UnknownBackend
from .base import Backend

GROUP = "whisper_speedtest.backends"
_OWN_PACKAGE = "whisper_speedtest."  # entry points into this package (an older install's) are the built-ins again
_extra: dict[str, type[Backend]] = {}


def register(backend: type[Backend]) -> None:
    """Register a backend class at run time (tests and embedding applications)."""
    _extra[backend.name] = backend


def unregister(name: str) -> None:
    _extra.pop(name, None)


def _builtin_backends() -> tuple[type[Backend], ...]:
    """Importing these modules is cheap: each backend imports its library inside ``load()``."""
    from .faster_whisper import FasterWhisperBackend
    from .lightning_whisper_mlx import LightningWhisperMlxBackend
    from .mlx_whisper import MlxWhisperBackend
    from .onnx_runtime import OnnxRuntimeBackend
    from .openai_whisper import OpenAIWhisperBackend
    from .openvino_runtime import OpenVinoBackend
    from .parakeet_mlx import ParakeetMlxBackend
    from .swift.fluidaudio import FluidAudioBackend
    from .swift.whisperkit import WhisperKitBackend
    from .transformers.graph_backend import GraphDecoderBackend
    from .transformers.pipeline_backend import TransformersBackend
    from .whisper_cpp import WhisperCppBackend, WhisperCppCoreMLBackend
    from .whisper_mps import WhisperMpsBackend

    return (
        FasterWhisperBackend, TransformersBackend, GraphDecoderBackend, OpenAIWhisperBackend, WhisperCppBackend,
        WhisperCppCoreMLBackend, MlxWhisperBackend, WhisperMpsBackend, LightningWhisperMlxBackend, ParakeetMlxBackend,
        OnnxRuntimeBackend, OpenVinoBackend, WhisperKitBackend, FluidAudioBackend,
    )


def _plugin_backends() -> dict[str, type[Backend]]:
    """Third-party backends from installed entry points; a plugin that fails to import is reported, not fatal."""
    found: dict[str, type[Backend]] = {}
    for ep in metadata.entry_points(group=GROUP):
        if ep.value.startswith(_OWN_PACKAGE):
            continue
        try:
            cls = ep.load()
        except Exception as exc:  # a broken third-party plugin must not stop the run
            print(f"warning: backend plugin {ep.name!r} failed to import and is ignored: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            continue
        found[cls.name] = cls
    return found


@functools.cache
def _discovered() -> dict[str, type[Backend]]:
    """Built-ins and plugins, read once per process (a plugin may not replace a built-in of the same name)."""
    return {**_plugin_backends(), **{cls.name: cls for cls in _builtin_backends()}}


def all_backends() -> dict[str, type[Backend]]:
    """Every known backend class by name, installed or not."""
    return {**_discovered(), **_extra}


def get_backend(name: str) -> type[Backend]:
    """The backend called ``name``: ours, or mac-whisper-speedtest's class name for it (any case)."""
    backends = all_backends()
    key = name.strip().lower()
    if key in backends:
        return backends[key]
    for cls in backends.values():
        if key in (alias.lower() for alias in cls.__dict__.get("original_names", ())):
            return cls
    raise UnknownBackend(f"unknown backend {name!r}; valid backends: {', '.join(sorted(backends))}")


def alias_note(name: str, cls: type[Backend] | None = None) -> str | None:
    """One line naming our backend when ``name`` is mac-whisper-speedtest's name for it; None for our names.
    ``cls``: the backend ``name`` was already found to be (else it is looked up)."""
    cls = cls or get_backend(name)
    if name.strip().lower() == cls.name:
        return None
    return f"note: {name.strip()} is mac-whisper-speedtest's name; ours is {cls.name}"
