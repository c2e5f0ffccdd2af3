"""whisper-speedtest: which Whisper implementation is fastest on this machine, and how accurate.

    import whisper_speedtest as ws
    run = ws.benchmark(audio="jfk.wav", backends=["faster-whisper"])
    print(run.to_pandas())

The public names are below; everything else is internal and may change. Importing the package is cheap:
each name is imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__

if TYPE_CHECKING:
    from .api import Run, backends, benchmark
    from .backends.listing import BackendInfo
    from .audio import AudioClip, load_clip, read_audio
    from .errors import AudioError, BadOption, UnknownBackend, UnknownModel, UserError
    from .loading import ModelSession, SessionLoadResult, load
    from .results import BackendResult, BenchmarkRun

_PUBLIC: dict[str, str] = {
    "benchmark": "api", "Run": "api", "BackendInfo": "backends.listing",
    "backends": "backends",  # the subpackage, callable: importing it would replace a function of that name anyway
    "load": "loading", "ModelSession": "loading", "SessionLoadResult": "loading",
    "read_audio": "audio", "load_clip": "audio", "AudioClip": "audio",
    "BenchmarkRun": "results", "BackendResult": "results",
    "UserError": "errors", "BadOption": "errors", "AudioError": "errors", "UnknownModel": "errors", "UnknownBackend": "errors",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    # Imported lazily so that `import whisper_speedtest` stays cheap.
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'whisper_speedtest' has no attribute {name!r}")
    from importlib import import_module

    imported = import_module(f".{module}", __name__)
    return imported if name == module else getattr(imported, name)


def __dir__() -> list[str]:
    return sorted(__all__)
