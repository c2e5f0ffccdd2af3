"""Whether a store entry's files are still the ones written into it.

Two depths, one function:

- before every load (``full_hash=False``): the manifest reads; every recorded file is there with
  its recorded size and nothing else is; the format's structural checks pass (headers, tensor
  extents inside the file, see :mod:`.verify`); and the sha256 matches the recorded one. The
  digest is remembered by file identity (path, size, mtime, ctime), so an unchanged file is not
  read again, and a file that was written to since it was last hashed is hashed now.
- ``check-models`` and right after a conversion (``full_hash=True``): every file is read and hashed.
"""

from __future__ import annotations

from pathlib import Path

from . import file_hash
from .store import MANIFEST, StoreEntry
from .formats import registry as formats
from .verify import CacheStatus, FilesVerdict, verify_directory, verify_single_file

LEGACY_MANIFEST = "manifest.json records no file sizes or hashes (written by an older version)"


def _structure(entry: StoreEntry) -> FilesVerdict:
    """The format's own file-level checks on the entry's weights."""
    payload = entry.payload
    if formats.single_file(entry.format):
        verdict = verify_single_file(entry.format, payload)
    elif payload.is_dir():
        files = {p.relative_to(payload).as_posix(): p for p in payload.rglob("*") if p.is_file()}
        verdict = verify_directory(entry.format, files)
    else:
        verdict = FilesVerdict(CacheStatus.INCOMPLETE, 0, (f"{payload.name}: missing from the store entry",))
    if verdict.status is CacheStatus.MISSING:  # a manifest without weights
        verdict = FilesVerdict(CacheStatus.INCOMPLETE, 0, ("store entry has a manifest but no weights",))
    return verdict


def _present_files(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST}


def _size_problems(entry: StoreEntry) -> list[str]:
    """Recorded files that are missing or changed size, and files the manifest does not know."""
    problems = []
    for record in entry.files:
        path = entry.directory / record.path
        if not path.is_file():
            problems.append(f"{record.path}: missing (the manifest records {record.size_bytes} bytes)")
        elif (size := path.stat().st_size) != record.size_bytes:
            problems.append(f"{record.path}: {size} bytes, the manifest records {record.size_bytes}")
    unknown = sorted(_present_files(entry.directory) - {r.path for r in entry.files})
    problems += [f"{name}: not in the manifest" for name in unknown]
    return problems


def _hash_problems(entry: StoreEntry, full_hash: bool) -> list[str]:
    problems = []
    for record in entry.files:
        actual = file_hash.sha256_file(entry.directory / record.path, fresh=full_hash)
        if actual != record.sha256:
            problems.append(f"{record.path}: sha256 {actual[:12]}… differs from the {record.sha256[:12]}… recorded when it was written")
    return problems


def check_entry(entry: StoreEntry, *, full_hash: bool = False) -> FilesVerdict:
    """COMPLETE only if the entry's files are exactly the ones its manifest records."""
    if entry.problem:
        return FilesVerdict(CacheStatus.CORRUPT, entry.size_bytes, (entry.problem,))
    structure = _structure(entry)
    if structure.status is CacheStatus.INCOMPLETE and not entry.files:
        return structure
    problems = list(structure.problems)
    try:
        problems += _size_problems(entry) if entry.files else [LEGACY_MANIFEST]
        if not problems:
            problems += _hash_problems(entry, full_hash)
    except OSError as exc:
        problems.append(f"unreadable ({exc.strerror or exc})")
    status = CacheStatus.CORRUPT if problems else CacheStatus.COMPLETE
    return FilesVerdict(status, structure.size_bytes, tuple(problems))


def corrupt_reason(verdict: FilesVerdict) -> str:
    """The verdict's problems as one line."""
    return "; ".join(verdict.problems) or str(verdict.status)
