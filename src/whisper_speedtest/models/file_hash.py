"""Content digests of weight files: sha256 and tensor fingerprints (cached by file identity), git blob sha1.

The Hugging Face Hub cache names each blob after its ETag: the sha256 of the content for
LFS files (the weights), the git blob sha1 for small files. So a blob's own name says what
its content must hash to, online or not.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..results import write_atomic
from .paths import home

_CHUNK = 8 << 20
SHA256_NAME = re.compile(r"^[0-9a-f]{64}$")
GIT_SHA1_NAME = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class IdentityCache:
    """Values computed from files (digests, fingerprints), remembered by file identity in one JSON
    file under the tool's home: an unchanged file is read once, a changed one is read again."""

    filename: str

    def _file(self) -> Path:
        return home() / self.filename

    def get(self, path: str | os.PathLike) -> str | None:
        """The value remembered for ``path`` if the file has not changed since."""
        try:
            known = _read_json_dict(self._file()).get(_identity(Path(path)))
        except OSError:  # the file itself is gone or unreadable
            return None
        return known if isinstance(known, str) else None

    def put(self, path: str | os.PathLike, value: str) -> None:
        cache_file = self._file()
        cache = _read_json_dict(cache_file)
        cache[_identity(Path(path))] = value
        try:
            write_atomic(cache_file, json.dumps(cache, indent=1))
        except OSError:
            pass  # a read-only home only costs a recomputation next time

    def value(self, path: str | os.PathLike, compute: Callable[[], str]) -> str:
        """The remembered value, or ``compute()`` remembered now."""
        known = self.get(path)
        if known is not None:
            return known
        value = compute()
        self.put(path, value)
        return value


SHA256_CACHE = IdentityCache("sha256.json")
FINGERPRINT_CACHE = IdentityCache("fingerprints.json")


def _identity(path: Path) -> str:
    """Path, size, and modification and change times: any write (even one that restores mtime) changes it."""
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{stat.st_ctime_ns}"


def _read_json_dict(path: Path) -> dict:
    """A JSON object from ``path``; anything unreadable (missing, binary, not an object) is an empty cache."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):  # ValueError covers invalid JSON and invalid UTF-8
        return {}
    return data if isinstance(data, dict) else {}


def cached_sha256(path: str | os.PathLike) -> str | None:
    """The sha256 of ``path`` if it was computed before and the file has not changed since."""
    return SHA256_CACHE.get(path)


def sha256_bytes_of(path: str | os.PathLike) -> str:
    """sha256 of a file's content, read now (no cache)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_file(path: str | os.PathLike, *, fresh: bool = False) -> str:
    """sha256 of a file, remembered by file identity so unchanged files are read once.

    ``fresh`` reads the content even when a digest is remembered (bit rot keeps the identity).
    """
    if fresh:
        value = sha256_bytes_of(path)
        SHA256_CACHE.put(path, value)
        return value
    return SHA256_CACHE.value(path, lambda: sha256_bytes_of(path))


def remember_sha256(path: str | os.PathLike, value: str) -> None:
    """Record the digest of a file just written (its content is known without reading it again)."""
    SHA256_CACHE.put(path, value)


def cached_fingerprint(path: Path, compute: Callable[[], str]) -> str:
    """The tensor fingerprint of the weights in ``path``, computed once per file identity."""
    return FINGERPRINT_CACHE.value(path, compute)


def git_blob_sha1(path: str | os.PathLike) -> str:
    """The git object id of a file's content (the Hub's ETag for files not stored in LFS)."""
    path = Path(path)
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def blob_name_mismatch(blob: Path, *, hash_large: bool) -> str | None:
    """A problem line if a Hub blob's content does not hash to its own name, else None.

    Small git blobs are always hashed; sha256-named (LFS) blobs only with ``hash_large`` or
    when a cached digest exists, since they can be gigabytes.
    """
    name = blob.name
    if GIT_SHA1_NAME.match(name) and blob.stat().st_size <= 32 << 20:
        actual = git_blob_sha1(blob)
    elif SHA256_NAME.match(name) and (hash_large or cached_sha256(blob) is not None):
        actual = sha256_file(blob)
    else:
        return None
    return None if actual == name else f"content hash {actual[:12]}… does not match the blob name {name[:12]}…"
