"""Atomic creation of files and folders: write beside the target (staging), then swap it into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged(
    path: str | Path, *, folder: bool = False, suffix: str = "", tag: str = "", make_parents: bool = True
) -> Iterator[Path]:
    """Yield a new file (or, with ``folder``, an empty folder) beside ``path``; it replaces ``path`` only
    if the block succeeds, and is deleted if it fails. The one "write to staging, then swap" helper.

    The staging name is ``.<name>.<tag><random><suffix>`` (``suffix`` defaults to ``.tmp``): a library
    that picks a format by extension (soundfile) sees the right one, and the store can recognize its
    own staging folders. ``make_parents=False`` is for user-named outputs: a missing folder is an
    error, never created. What is written is opened to readers as the umask allows (outputs are
    shared; ``mkstemp`` and some writers make owner-only files), and a file is fsynced before the swap.
    """
    target = Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = f".{target.name}.{tag}", suffix or ".tmp"
    if folder:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        _open_to_readers(tmp)
        if tmp.is_file():
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        replace(tmp, target)
    except BaseException:
        remove(tmp)
        raise


def atomic_target(path: str | Path, suffix: str = "", *, make_parents: bool = True):
    """A staged file for ``path`` (see :func:`staged`)."""
    return staged(path, suffix=suffix, make_parents=make_parents)


def replace(new: Path, target: Path) -> None:
    """Put ``new`` in ``target``'s place: in one step for files, by moving an old folder aside first."""
    if not target.exists() or (target.is_file() and new.is_file()):
        os.replace(new, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent)) / "previous"
    os.replace(target, aside)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(aside, target)
        raise
    finally:
        remove(aside.parent)


def remove(path: Path) -> None:
    """Delete a file or a folder tree, whichever ``path`` is; a missing one is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _open_to_readers(path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.chmod(item, (0o777 if item.is_dir() else 0o666) & ~umask)


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
