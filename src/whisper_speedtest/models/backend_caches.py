"""Where the backends of a format keep the weights they download themselves, outside the Hub cache and our store."""

from __future__ import annotations

import os
from pathlib import Path


def openai_whisper_dir() -> Path:
    """openai-whisper's ``download_root``: ``$XDG_CACHE_HOME/whisper``, default ``~/.cache/whisper``."""
    default = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.getenv("XDG_CACHE_HOME") or default) / "whisper"


def pywhispercpp_models_dir() -> Path | None:
    """pywhispercpp's model directory (``platformdirs.user_data_dir('pywhispercpp')/models``)."""
    try:
        from platformdirs import user_data_dir
    except ImportError:
        return None
    return Path(user_data_dir("pywhispercpp")) / "models"


def backend_cache_file(fmt: str, model: str) -> Path | None:
    """The file the backends of ``fmt`` download ``model`` to by themselves (openai-whisper and whisper-mps
    for ``.pt`` checkpoints, pywhispercpp for ggml), or None where they keep no cache of their own."""
    if fmt == "openai":
        return openai_whisper_dir() / f"{model}.pt"
    if fmt == "ggml":
        directory = pywhispercpp_models_dir()
        return directory / f"ggml-{model}.bin" if directory else None
    return None
