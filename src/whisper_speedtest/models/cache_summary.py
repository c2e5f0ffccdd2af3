"""The end of check-models: counts, bytes to fetch, free disk, duplicate copies, and the JSON form."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from . import catalog, file_hash, store
from .cache_check import ModelCheck
from .formats import registry as formats
from .locations import Location, Scan
from .verify import CacheStatus

HASH_WITHOUT_ASKING_BYTES = 1 << 30  # comparing copies by sha256 is "cheap" below this (or when cached)
DERIVED = ("converted", "exported", "pip:")  # store sources made from another local copy on purpose


@dataclass(frozen=True)
class CopyOfWeights:
    model: str
    format: str
    kind: str
    label: str
    path: str | None
    size_bytes: int
    converted: bool  # a store entry made from another local copy (converted or reassembled), by design


@dataclass(frozen=True)
class DuplicateGroup:
    """Complete copies of one model's weights in more than one place."""

    model: str
    copies: tuple[CopyOfWeights, ...]
    identical: tuple[tuple[str, ...], ...] = ()  # groups of paths whose weights files are byte-identical

    @property
    def bytes(self) -> int:
        return sum(c.size_bytes for c in self.copies)


@dataclass(frozen=True)
class DiskSpace:
    path: str
    free_bytes: int


@dataclass(frozen=True)
class CheckSummary:
    rows: int
    ready: int
    ready_after_conversion: int
    complete: int
    missing: int
    incomplete: int
    corrupt: int
    not_applicable: int
    bytes_to_download: int | None
    download_note: str
    offline_reason: str | None
    disk: tuple[DiskSpace, ...]
    duplicates: tuple[DuplicateGroup, ...]
    leftovers: tuple[store.Leftover, ...] = ()  # unfinished staging folders in the store
    unusable_entries: tuple[store.StoreEntry, ...] = ()  # store entries no row covers whose manifest cannot be used
    ready_now: int = 0  # ready without conversion; ready_now + ready_after_conversion == ready
    not_ready: tuple[tuple[str, int], ...] = ()  # (why, rows) for the rows not ready; with ready, adds up to rows
    variants: tuple[str, ...] = ()  # quantized store variants ("tiny.en ggml q4_0"): made on purpose, not duplicates


def quantized_variants(models: list[str]) -> tuple[str, ...]:
    """The store's quantized variants of ``models`` (dtype other than the format's baseline)."""
    names = set(catalog.resolve(m) for m in models)
    return tuple(f"{e.name} {e.format} {e.dtype}" for e in store.entries()
                 if e.name in names and not e.problem and e.dtype != store.baseline_dtype(e.format))


def _copies_of(model: str, scan: Scan) -> list[tuple[str, Location]]:
    found: list[tuple[str, Location]] = [(fmt, loc) for fmt in formats.on_hub() for loc in scan.hub_copies(model, fmt)]
    # Quantized variants are made from the baseline on purpose: listed apart (quantized_variants), never duplicates.
    found += [(entry.format, scan.store_entry(entry)) for entry in store.entries()
              if entry.name == model and entry.dtype == store.baseline_dtype(entry.format)]
    found.append(("ct2", scan.package(model, "ct2")))
    found += [(fmt, scan.backend_cache(model, fmt)) for fmt in formats.names()]
    seen: set[tuple] = set()
    unique = []
    for fmt, loc in found:
        key = (loc.kind, loc.label, loc.path)
        if loc.status is CacheStatus.COMPLETE and key not in seen:
            seen.add(key)
            unique.append((fmt, loc))
    return unique


def _identical(copies: list[CopyOfWeights], weights: dict[int, str | None]) -> tuple[tuple[str, ...], ...]:
    """Paths of copies whose weights files have the same sha256 (only hashed when sizes already match)."""
    by_size: dict[int, list[str]] = defaultdict(list)
    for index, path in weights.items():
        if path:
            by_size[Path(path).stat().st_size].append(path)
    groups = []
    for size, paths in by_size.items():
        if len(paths) < 2:
            continue
        if size > HASH_WITHOUT_ASKING_BYTES and not all(file_hash.cached_sha256(p) for p in paths):
            continue
        by_hash: dict[str, list[str]] = defaultdict(list)
        for path in paths:
            by_hash[file_hash.sha256_file(path)].append(path)
        groups += [tuple(sorted(same)) for same in by_hash.values() if len(same) > 1]
    return tuple(groups)


def find_duplicates(models: list[str], checker: Scan) -> tuple[DuplicateGroup, ...]:
    """Models with complete copies in several places: two copies that were not derived from one
    another (e.g. a Hub download and openai-whisper's own), or two store entries of one format.
    Store entries converted from another local copy are listed but do not make a group by
    themselves: every backend format is made that way on purpose."""
    groups = []
    for model in dict.fromkeys(catalog.resolve(m) for m in models):
        found = _copies_of(model, checker)
        copies = [
            CopyOfWeights(model, fmt, loc.kind, loc.label, loc.path, loc.size_bytes, loc.source.startswith(DERIVED))
            for fmt, loc in found
        ]
        originals = [c for c in copies if not c.converted]
        stored_twice = [n for n in Counter(c.format for c in copies if c.kind == "store").values() if n > 1]
        if len(originals) < 2 and not stored_twice:
            continue
        identical = _identical(copies, {i: loc.weights_file for i, (_, loc) in enumerate(found)})
        groups.append(DuplicateGroup(model, tuple(copies), identical))
    return tuple(groups)


def summarize(
    rows: tuple[ModelCheck, ...],
    *,
    bytes_to_download: int | None,
    download_note: str,
    offline_reason: str | None,
    disk: tuple[DiskSpace, ...],
    duplicates: tuple[DuplicateGroup, ...],
    leftovers: tuple[store.Leftover, ...] = (),
    unusable_entries: tuple[store.StoreEntry, ...] = (),
    variants: tuple[str, ...] = (),
) -> CheckSummary:
    counts = Counter(row.status for row in rows)
    shown = {row.store.path for row in rows}
    # Not ready, by why: the status of the copy, or its failed --deep load when the copy is complete.
    not_ready = Counter("load failed" if row.status is CacheStatus.COMPLETE else row.status.value for row in rows if not row.ready)
    return CheckSummary(
        rows=len(rows),
        ready_now=sum(row.ready and row.status is CacheStatus.COMPLETE for row in rows),
        not_ready=tuple(not_ready.items()),
        variants=variants,
        ready=sum(row.ready for row in rows),
        ready_after_conversion=sum(row.ready and row.status is not CacheStatus.COMPLETE for row in rows),
        complete=counts[CacheStatus.COMPLETE],
        missing=counts[CacheStatus.MISSING],
        incomplete=counts[CacheStatus.INCOMPLETE],
        corrupt=counts[CacheStatus.CORRUPT],
        not_applicable=counts[CacheStatus.NOT_APPLICABLE],
        bytes_to_download=bytes_to_download,
        download_note=download_note,
        offline_reason=offline_reason,
        disk=disk,
        duplicates=duplicates,
        leftovers=leftovers,
        unusable_entries=tuple(e for e in unusable_entries if e.path not in shown),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def report_json(rows: tuple[ModelCheck, ...], summary: CheckSummary) -> dict[str, Any]:
    """The rows and summary as plain JSON data (the same records the table is drawn from)."""
    return {
        "schema_version": 1,
        "rows": [_plain(dataclasses.asdict(row)) for row in rows],
        "summary": _plain(dataclasses.asdict(summary)),
    }
