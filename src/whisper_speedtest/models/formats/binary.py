"""Bounds-checked little-endian reads over a byte buffer (shared by the binary format readers)."""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

from ...errors import ModelFormatError


class Cursor:
    """Sequential reads over ``buf``; any read past ``size`` raises ModelFormatError."""

    def __init__(self, buf, size: int, path: Path, kind: str) -> None:
        self.buf, self.size, self.path, self.kind, self.pos = buf, size, path, kind, 0

    def error(self, message: str) -> ModelFormatError:
        return ModelFormatError(f"{self.path}: corrupt {self.kind}: {message}")

    def take(self, n: int, what: str) -> int:
        """Advance by ``n`` bytes and return the start offset; raise if they are not there."""
        if n < 0 or self.pos + n > self.size:
            return self._truncated(n, what)
        start, self.pos = self.pos, self.pos + n
        return start

    def _truncated(self, n: int, what: str):
        raise ModelFormatError(
            f"{self.path}: truncated {self.kind}: {what} needs {n} bytes at offset {self.pos}, file has {self.size}"
        )

    def unpack(self, fmt: str, what: str):
        start = self.take(struct.calcsize(fmt), what)
        return struct.unpack_from(fmt, self.buf, start)[0]

    def raw(self, n: int, what: str) -> bytes:
        start = self.take(n, what)
        return bytes(self.buf[start : start + n])

    @property
    def at_end(self) -> bool:
        return self.pos == self.size


def map_file(path: Path) -> tuple[mmap.mmap | bytes, int]:
    """A read-only memory map of ``path`` (``b""`` for an empty file) and its size."""
    size = path.stat().st_size
    if size == 0:
        return b"", 0
    with open(path, "rb") as f:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), size


def problem_of(check, path: Path) -> str | None:
    """The problem ``check(path)`` raises as :class:`ModelFormatError` (one line, without the path), or None."""
    try:
        check(path)
    except ModelFormatError as exc:
        return str(exc).removeprefix(f"{path}: ")
    return None
