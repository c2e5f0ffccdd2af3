"""Where this tool keeps its files: ``$WHISPER_SPEEDTEST_HOME`` (default ``~/.cache/whisper-speedtest``)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("WHISPER_SPEEDTEST_HOME") or Path.home() / ".cache" / "whisper-speedtest")
