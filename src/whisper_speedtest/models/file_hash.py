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
from pathlib import Path

from ..results import write_atomic
from .paths import home

_CHUNK = 8 << 20
SHA256_NAME = re.compile(r"^[0-9a-f]{64}$")
GIT_SHA1_NAME = re.compile(r"^[0-9a-f]{40}$")


def _cache_file() -> Path:
    return home() / "sha256.json"


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


def _remember(cache_file: Path, key: str, value: str) -> None:
    cache = _read_json_dict(cache_file)
    cache[key] = value
    try:
        write_atomic(cache_file, json.dumps(cache, indent=1))
    except OSError:
        pass  # a read-only home only costs a recomputation next time


def _load_cache() -> dict[str, str]:
    return _read_json_dict(_cache_file())


def cached_sha256(path: str | os.PathLike) -> str | None:
    """The sha256 of ``path`` if it was computed before and the file has not changed since."""
    try:
        return _load_cache().get(_identity(Path(path)))
    except OSError:
        return None


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
    path = Path(path)
    known = None if fresh else cached_sha256(path)
    if known is not None:
        return known
    value = sha256_bytes_of(path)
    remember_sha256(path, value)
    return value


def remember_sha256(path: str | os.PathLike, value: str) -> None:
    """Record the digest of a file just written (its content is known without reading it again)."""
    _remember(_cache_file(), _identity(Path(path)), value)


def cached_fingerprint(path: Path, compute: Callable[[], str]) -> str:
    """The tensor fingerprint of the weights in ``path``, computed once per file identity."""
    cache_file = home() / "fingerprints.json"
    key = _identity(path)
    known = _read_json_dict(cache_file).get(key)
    if isinstance(known, str):
        return known
    value = compute()
    _remember(cache_file, key, value)
    return value


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
