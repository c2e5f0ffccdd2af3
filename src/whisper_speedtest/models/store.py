"""Our local model store at ``$WHISPER_SPEEDTEST_HOME`` (default ``~/.cache/whisper-speedtest``).

Each entry is a directory ``models/<name>/<format>-<dtype>/`` holding the weights and a
``manifest.json`` (source, format, dtype, size, fingerprint, and the size and sha256 of every
file). Entries appear atomically: they are built in a staging directory
``.<format>-<dtype>.<pid>.<random>.partial`` beside their final place and renamed into it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..atomic import staged
from ..results import write_atomic
from . import file_hash
from .formats import registry as formats
from .paths import home  # noqa: F401  (store.home() is where callers ask)

IMPORTED = "import:"  # the source of an entry the user imported: nothing here can make it again


def imported(source: str) -> bool:
    """Whether an entry with this ``source`` was imported (so a corrupt copy cannot be made again here)."""
    return source.startswith(IMPORTED)

MANIFEST = "manifest.json"
_STAGING = re.compile(r"^\.(?P<entry>[^/]+?)\.(?:(?P<pid>\d+)\.)?[^.]+\.partial$")


@dataclass(frozen=True)
class StoredFile:
    """One file of an entry as it was written: its path inside the entry, size and sha256."""

    path: str
    size_bytes: int
    sha256: str


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
    files: tuple[StoredFile, ...] = ()  # empty in manifests written before files were recorded
    problem: str = ""  # why the manifest cannot be trusted (unreadable, unknown format); "" if it reads

    @property
    def directory(self) -> Path:
        return Path(self.path)

    @property
    def payload(self) -> Path:
        """The weights: a file for single-file formats, the ``weights`` directory otherwise."""
        fmt = formats.FORMATS.get(self.format)
        return self.directory / (fmt.store_payload if fmt else "weights")


def baseline_dtype(fmt: str) -> str:
    """The dtype of ``fmt``'s unquantized store entry (float32 for the exports, float16 otherwise)."""
    return formats.FORMATS[fmt].baseline_dtype if formats.known(fmt) else "float16"


def entry_dir(name: str, fmt: str, dtype: str = "float16") -> Path:
    return home() / "models" / name / f"{fmt}-{dtype}"


def directory_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _files(value: Any) -> tuple[StoredFile, ...] | None:
    """The ``files`` records of a manifest, or None when they are malformed."""
    if not isinstance(value, list):
        return None
    records = []
    for item in value:
        try:
            record = StoredFile(str(item["path"]), int(item["size_bytes"]), str(item["sha256"]))
        except (KeyError, TypeError, ValueError):
            return None
        if record.path.startswith("/") or ".." in record.path.split("/") or not file_hash.SHA256_NAME.match(record.sha256):
            return None
        records.append(record)
    return tuple(records)


def _parse_manifest(data: Any, directory: Path) -> StoreEntry | str:
    """The entry a manifest describes, or the reason it cannot be used."""
    if not isinstance(data, dict):
        return "manifest.json is not a JSON object"
    known = {f.name for f in dataclasses.fields(StoreEntry)} - {"path", "files", "problem"}
    try:
        entry = StoreEntry(**{k: v for k, v in data.items() if k in known}, path=str(directory))
    except TypeError:
        return "manifest.json lacks name, format, dtype, source, fingerprint, size_bytes or created"
    if not formats.known(entry.format):
        return f"manifest.json names an unknown format {entry.format!r}"
    if (entry.name, f"{entry.format}-{entry.dtype}") != (directory.parent.name, directory.name):
        return f"manifest.json describes {entry.name} {entry.format}-{entry.dtype}, not this entry"
    files = _files(data.get("files", []))
    if files is None:
        return "manifest.json has malformed file records"
    return dataclasses.replace(entry, files=files)


def _unusable(directory: Path, problem: str) -> StoreEntry:
    """An entry whose manifest cannot be used: what its place says, and why."""
    fmt, _, dtype = directory.name.partition("-")
    return StoreEntry(directory.parent.name, fmt, dtype, "", None, directory_size(directory), "", str(directory),
                      problem=problem)


def read_entry(directory: Path) -> StoreEntry | None:
    """The entry in ``directory`` (None without a manifest); an unusable manifest sets ``problem``."""
    manifest = directory / MANIFEST
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_bytes())
    except OSError as exc:
        return _unusable(directory, f"manifest.json is unreadable ({exc.strerror or exc})")
    except ValueError:  # invalid JSON or invalid UTF-8
        return _unusable(directory, "manifest.json is not valid JSON")
    parsed = _parse_manifest(data, directory)
    return _unusable(directory, parsed) if isinstance(parsed, str) else parsed


def find(name: str, fmt: str, dtype: str = "float16") -> StoreEntry | None:
    return read_entry(entry_dir(name, fmt, dtype))


def entries() -> list[StoreEntry]:
    root = home() / "models"
    if not root.is_dir():
        return []
    found = []
    for directory in sorted(p for p in root.glob("*/*") if p.is_dir() and not p.name.startswith(".")):
        entry = read_entry(directory)
        if entry is not None:
            found.append(entry)
    return found


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Leftover:
    """A staging directory left behind by a conversion or import that did not finish."""

    path: str
    size_bytes: int
    pid: int | None  # the process that made it, when its name says
    in_use: bool  # that process is still running


def leftovers() -> list[Leftover]:
    """Staging directories (``.*.partial``) in the store, oldest layout included."""
    root = home() / "models"
    found = []
    for path in sorted(root.glob("*/.*.partial")) if root.is_dir() else ():
        match = _STAGING.match(path.name)
        pid = int(match["pid"]) if match and match["pid"] else None
        in_use = pid is not None and pid != os.getpid() and _process_alive(pid)
        found.append(Leftover(str(path), directory_size(path), pid, in_use))
    return found


def remove_leftover(leftover: Leftover) -> int:
    """Delete a staging directory; returns the bytes freed."""
    path = Path(leftover.path)
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)
    return leftover.size_bytes


def _remove_dead_staging(final: Path) -> None:
    """Staging directories of ``final`` whose process is gone (killed mid-conversion)."""
    for leftover in leftovers():
        path = Path(leftover.path)
        match = _STAGING.match(path.name)
        if path.parent == final.parent and match and match["entry"] == final.name and leftover.pid and not leftover.in_use:
            shutil.rmtree(path, ignore_errors=True)


def _record_files(directory: Path) -> tuple[StoredFile, ...]:
    """Size and sha256 of every file under ``directory`` (the full hash after a conversion or import)."""
    return tuple(
        StoredFile(p.relative_to(directory).as_posix(), p.stat().st_size, file_hash.sha256_bytes_of(p))
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink() and p.name != MANIFEST
    )


def add(
    name: str,
    fmt: str,
    dtype: str,
    *,
    source: str,
    build: Callable[[Path], str | None],
) -> StoreEntry:
    """Create an entry: ``build(staging_dir)`` writes the files and returns the fingerprint.

    The entry only becomes visible when complete; a failure leaves nothing behind. Every file is
    hashed once written, and the sizes and digests go into the manifest.
    """
    final = entry_dir(name, fmt, dtype)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_staging(final)
    with staged(final, folder=True, tag=f"{os.getpid()}.", suffix=".partial") as staging:
        fingerprint = build(staging)
        files = _record_files(staging)
        entry = StoreEntry(
            name=name,
            format=fmt,
            dtype=dtype,
            source=source,
            fingerprint=fingerprint,
            size_bytes=sum(f.size_bytes for f in files),
            created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            files=files,
        )
        record = {k: v for k, v in dataclasses.asdict(entry).items() if k not in ("path", "problem")}
        write_atomic(staging / MANIFEST, json.dumps(record, indent=2))
    for stored in files:
        file_hash.remember_sha256(final / stored.path, stored.sha256)
    return dataclasses.replace(entry, path=str(final))


def remove(entry: StoreEntry) -> int:
    """Delete an entry; returns the bytes freed."""
    size = directory_size(entry.directory)
    shutil.rmtree(entry.directory)
    return size
