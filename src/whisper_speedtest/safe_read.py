"""Reading files the user names without hanging or blowing up: regular files only, bounded size, bounded depth.

A FIFO or a device given as a results file or a manifest would block ``open()`` (or never end), so the kind of
file is checked with ``stat`` before it is opened, and the open itself does not block. JSON nested deeper than
Python's recursion limit is one ``UserError`` line, not a ``RecursionError``.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from .errors import UserError

MAX_JSON_BYTES = 256 * 1024 * 1024  # a results file with raw samples of many clips stays far below this
MAX_TEXT_BYTES = 64 * 1024 * 1024  # manifests, references
MAX_JSON_DEPTH = 64  # a results file nests about 6 deep; every reader after the parse may then recurse freely


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_regular_file(path: Path, what: str, error: type[UserError] = UserError) -> os.stat_result:
    """The file's stat when ``path`` is a regular file (symlinks followed); else one line naming what it is."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{what} not found: {path}") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{what} {path} is {_kind(info.st_mode)}, not a regular file")
    return info


def read_regular_file(path: str | Path, what: str, error: type[UserError] = UserError, *, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; anything else is one ``error`` line."""
    p = Path(path)
    info = check_regular_file(p, what, error)
    if info.st_size > limit:
        raise error(f"{what} {p} is {info.st_size / 2**20:.0f} MiB, over the {limit / 2**20:.0f} MiB this tool reads")
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # swapped for a FIFO after the stat: no hang
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise error(f"{what} {p} is not a regular file")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(f"{what} {p} is over the {limit / 2**20:.0f} MiB this tool reads")
    return data


def parse_json(text: str | bytes, where: str, error: type[UserError] = UserError) -> Any:
    """``json.loads`` with every failure, deep nesting included, as one ``error`` line naming ``where``."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise error(f"{where}: JSON nested too deeply to read") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{where}: not valid JSON ({exc})") from None
    check_depth(data, where, error)
    return data


def check_depth(data: Any, where: str, error: type[UserError] = UserError, limit: int = MAX_JSON_DEPTH) -> None:
    """One ``error`` line when parsed JSON nests deeper than ``limit`` (looked at without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise error(f"{where}: JSON nested too deeply to read (over {limit} levels)")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
