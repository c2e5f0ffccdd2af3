"""whisper-speedtest: which Whisper implementation is fastest on this machine, and how accurate."""

from __future__ import annotations

from .version import __version__
__all__ = ["load", "__version__"]


def __getattr__(name: str):
    # Imported lazily so that `import whisper_speedtest` stays cheap.
    if name == "load":
        from .loading import load

        return load
    raise AttributeError(name)
