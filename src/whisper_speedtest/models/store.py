"""Our local model store at ``$WHISPER_SPEEDTEST_HOME`` (default ``~/.cache/whisper-speedtest``).

Each entry is a directory ``models/<name>/<format>-<dtype>/`` holding the weights and a
``manifest.json`` (source, format, dtype, size, fingerprint). Entries appear atomically:
they are built in a temporary directory beside their final place and renamed into it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..results import write_atomic

MANIFEST = "manifest.json"


def home() -> Path:
    return Path(os.environ.get("WHISPER_SPEEDTEST_HOME") or Path.home() / ".cache" / "whisper-speedtest")


@dataclass(frozen=True)
class StoreEntry:
    name: str
    format: str
    dtype: str
    source: str
    fingerprint: str | None
    size_bytes: int
    created: str
    path: str = ""

    @property
    def directory(self) -> Path:
        return Path(self.path)


def entry_dir(name: str, fmt: str, dtype: str = "float16") -> Path:
    return home() / "models" / name / f"{fmt}-{dtype}"


def directory_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def read_entry(directory: Path) -> StoreEntry | None:
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        known = {f.name for f in dataclasses.fields(StoreEntry)}
        return StoreEntry(**{k: v for k, v in data.items() if k in known and k != "path"}, path=str(directory))
    except (json.JSONDecodeError, TypeError):
        return None


def find(name: str, fmt: str, dtype: str = "float16") -> StoreEntry | None:
    return read_entry(entry_dir(name, fmt, dtype))


def entries() -> list[StoreEntry]:
    root = home() / "models"
    if not root.is_dir():
        return []
    found = []
    for directory in sorted(p for p in root.glob("*/*") if p.is_dir()):
        entry = read_entry(directory)
        if entry is not None:
            found.append(entry)
    return found


@contextmanager
def _staging(final: Path) -> Iterator[Path]:
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def add(
    name: str,
    fmt: str,
    dtype: str,
    *,
    source: str,
    build: Callable[[Path], str | None],
) -> StoreEntry:
    """Create an entry: ``build(staging_dir)`` writes the files and returns the fingerprint.

    The entry only becomes visible when complete; a failure leaves nothing behind.
    """
    final = entry_dir(name, fmt, dtype)
    with _staging(final) as staging:
        fingerprint = build(staging)
        entry = StoreEntry(
            name=name,
            format=fmt,
            dtype=dtype,
            source=source,
            fingerprint=fingerprint,
            size_bytes=directory_size(staging),
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        record = {k: v for k, v in dataclasses.asdict(entry).items() if k != "path"}
        write_atomic(staging / MANIFEST, json.dumps(record, indent=2))
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    return dataclasses.replace(entry, path=str(final))


def remove(entry: StoreEntry) -> int:
    """Delete an entry; returns the bytes freed."""
    size = directory_size(entry.directory)
    shutil.rmtree(entry.directory)
    return size


# Fingerprints of sources outside the store (pip packages, Hub snapshots), keyed by file identity.
def _fingerprint_cache() -> Path:
    return home() / "fingerprints.json"


def cached_fingerprint(path: Path, compute: Callable[[], str]) -> str:
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}"
    cache_file = _fingerprint_cache()
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        cache = {}
    if key not in cache:
        cache[key] = compute()
        try:
            write_atomic(cache_file, json.dumps(cache, indent=1))
        except OSError:
            pass  # a read-only home only costs a recomputation next time
    return cache[key]
