"""Atomic file creation for binary outputs: write beside the target, fsync, then ``os.replace``."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_target(path: str | Path, suffix: str = "", *, make_parents: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only if the block succeeds.

    ``suffix`` lets libraries that pick a format by extension (soundfile) see the right one.
    ``make_parents=False`` is for user-named outputs: a missing folder is an error, never created.
    """
    target = Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are meant to be shared
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str, *, make_parents: bool = True) -> Path:
    with atomic_target(path, make_parents=make_parents) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes, *, make_parents: bool = True) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    with atomic_target(path, make_parents=make_parents) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def unwritable_reason(path: str | Path) -> str | None:
    """Why a file cannot be created at ``path`` (its folder missing, a file, or not writable), or None.

    Writability is probed with an anonymous temporary file, so read-only mounts and root are judged right.
    """
    target = Path(path)
    if target.is_dir():
        return f"{target} is a directory"
    folder = target.parent
    if not folder.is_dir():
        existing = next((p for p in folder.parents if p.exists()), None) if not folder.exists() else folder
        if existing is not None and not existing.is_dir():
            return f"{existing} is a file, not a folder"
        return f"folder {folder} does not exist"
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"folder {folder} is not writable ({exc.strerror or exc})"
    return None
