"""Where this tool keeps its files: ``$WHISPER_SPEEDTEST_HOME`` (default ``~/.cache/whisper-speedtest``)."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("WHISPER_SPEEDTEST_HOME") or Path.home() / ".cache" / "whisper-speedtest")


MIN_FREE_BYTES = 1024 * 1024  # below this the store is full: no conversion, history row or hash cache fits


def unusable_home_reason(folder: Path | None = None) -> str | None:
    """Why the store at ``folder`` (default: ``home()``) cannot be written, or None when it can.

    Looks, without writing, at the folder or the nearest folder above it that exists: a file in the way,
    a folder that is not writable (a read-only file system included), or a file system with no space left.
    """
    target = folder or home()
    existing = target
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder" if existing == target else f"{existing} is a file, so {target} cannot be made"
    try:
        fs = os.statvfs(existing)
    except OSError as exc:
        return f"{existing} cannot be read ({exc.strerror or exc})"
    if fs.f_flag & os.ST_RDONLY:
        return f"{existing} is on a read-only file system"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    if fs.f_bavail * fs.f_frsize < MIN_FREE_BYTES:
        return f"the file system of {existing} is full ({fs.f_bavail * fs.f_frsize // 1024} KiB free)"
    return None


def check_home_usable() -> None:
    """One line (``StoreUnusable``) before any backend starts when the store cannot be written."""
    from ..errors import StoreUnusable

    reason = unusable_home_reason()
    if reason:
        raise StoreUnusable(f"the store (WHISPER_SPEEDTEST_HOME={home()}) cannot be used: {reason}")
