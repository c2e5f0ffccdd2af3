"""What ``download`` would fetch, planned from check-models rows before anything is written.

One location per model: Hub repos go to the Hub cache, openai ``.pt`` files to
openai-whisper's cache. Nothing is fetched when the weights are already present somewhere we
use (a store conversion included), or can be converted from a local CTranslate2 copy.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import catalog
from .backend_caches import openai_whisper_dir
from .cache_check import EXPORTED_UPSTREAM, ModelCheck, disk_free, same_filesystem
from .formats import registry as formats
from .hub_cache import HubCache
from .hub_remote import HubRemote, wanted_files
from .verify import CacheStatus, verify_file
from .weights_mode import WeightsMode


@dataclass(frozen=True)
class FileToFetch:
    """One file of a fetch. ``transfer`` is False when its blob is already in the cache (it is only linked)."""

    name: str
    size: int | None
    etag: str | None = None
    transfer: bool = True
    refetch: bool = False  # the cached copy is corrupt and gets replaced
    partial: str | None = None  # a partial download to resume
    partial_bytes: int = 0

    @property
    def bytes_needed(self) -> int | None:
        if not self.transfer:
            return 0
        return None if self.size is None else max(self.size - self.partial_bytes, 0)


@dataclass(frozen=True)
class Fetch:
    """Weights to fetch for one model in one format, from a Hub repo or a plain URL."""

    model: str
    format: str
    backends: tuple[str, ...]
    reason: CacheStatus
    destination: str  # the Hub cache dir, or the target file for URL fetches
    repo: str | None = None
    url: str | None = None
    sha256: str | None = None
    files: tuple[FileToFetch, ...] = ()
    known: bool = True  # remote metadata was obtained
    weights: WeightsMode = WeightsMode.SAME  # which copy this is (see ``catalog.hub_location``), to verify it afterwards

    @property
    def label(self) -> str:
        return self.repo or Path(self.destination).name

    @property
    def bytes_needed(self) -> int | None:
        if not self.known:
            return None
        sizes = [f.bytes_needed for f in self.files]
        return None if None in sizes else sum(sizes)


@dataclass(frozen=True)
class DownloadPlan:
    fetches: tuple[Fetch, ...]
    skipped: tuple[str, ...]
    offline_reason: str | None
    errors: tuple[str, ...] = ()

    @property
    def bytes_needed(self) -> int | None:
        sizes = [f.bytes_needed for f in self.fetches]
        return None if None in sizes else sum(sizes)

    def size_note(self) -> str:
        """How to show :attr:`bytes_needed` when it is unknown."""
        if self.bytes_needed is not None:
            return ""
        if self.offline_reason:
            return "unknown (offline)"
        return f"unknown ({self.errors[0]})" if self.errors else "unknown (size not published)"


def _skip_reason(row: ModelCheck, fmt: str, ct2_planned: set[str], convertible: tuple[str, ...]) -> str | None:
    if row.status is CacheStatus.NOT_APPLICABLE:
        return f"format {fmt} has no upstream we know of"
    if row.upstream == EXPORTED_UPSTREAM:
        return "exported here from the converted hf weights when first used; nothing to download"
    if row.own_model:
        return "the backend brings its own model" + (f", present in the {row.ready_from}" if row.ready else
                                                       " and downloads it on first load")
    if row.status is CacheStatus.COMPLETE and row.runs is not None:
        if row.store.status is CacheStatus.COMPLETE and row.store.source:
            return f"the store already has a copy ({row.store.source}); not downloading the same weights again"
        return f"already present in the {row.ready_from}"
    if row.ready:
        return f"will be converted from the {row.ready_from.removeprefix('conversion from ')} (the same weights); nothing to download"
    if row.weights == WeightsMode.SAME and fmt != "ct2" and fmt in convertible and row.model in ct2_planned:
        return "will be converted from the CTranslate2 download below (the same weights)"
    return None


def _hub_file(name: str, remote_file, listing, fmt: str) -> FileToFetch:
    etag = remote_file.etag
    blob = listing.repo_dir / "blobs" / etag if listing.repo_dir and etag else None
    if blob is not None and blob.is_file():
        wrong_size = remote_file.size is not None and blob.stat().st_size != remote_file.size
        if not wrong_size and verify_file(name, blob, fmt) is None:
            return FileToFetch(name, remote_file.size, etag, transfer=False)
        return FileToFetch(name, remote_file.size, etag, refetch=True)
    partial = listing.partial_for(etag) if etag else None
    if partial is not None and (remote_file.size is None or partial.size < remote_file.size):
        return FileToFetch(name, remote_file.size, etag, partial=str(partial.path), partial_bytes=partial.size)
    return FileToFetch(name, remote_file.size, etag)


def _hub_fetch(row: ModelCheck, backends: tuple[str, ...], remote: HubRemote, hub: HubCache) -> Fetch:
    where = catalog.hub_location(row.format, row.model, row.weights)
    base = dict(model=row.model, format=row.format, backends=backends, reason=row.status,
                destination=str(hub.cache_dir), repo=where.repo, weights=row.weights)
    info = remote.repo(where.repo)
    if info is None:
        return Fetch(**base, known=False)
    listing = hub.listing(where.repo)
    names = wanted_files(row.format, [f.name for f in info.files], where.filename)
    files = tuple(_hub_file(name, info.file(name), listing, row.format) for name in names)
    if not files:
        remote.errors[where.repo] = f"{where.repo}: has no files for format {row.format}"
    return Fetch(**base, files=files, known=bool(files))


def _url_fetch(row: ModelCheck, backends: tuple[str, ...], remote: HubRemote) -> Fetch:
    where = catalog.upstream_location("openai", row.model)
    destination = openai_whisper_dir() / f"{row.model}.pt"
    partial = destination.with_name(destination.name + ".incomplete")
    have = partial.stat().st_size if partial.is_file() else 0
    size = remote.url_size(where.url)
    file = FileToFetch(destination.name, size, transfer=True, refetch=destination.exists(),
                       partial=str(partial) if have else None, partial_bytes=have)
    return Fetch(row.model, "openai", backends, row.status, str(destination), url=where.url,
                 sha256=catalog.OPENAI_SHA256[row.model], files=(file,), known=size is not None)


def plan_downloads(rows: tuple[ModelCheck, ...], remote: HubRemote, hub: HubCache) -> DownloadPlan:
    """Decide what to fetch for ``rows``: each (model, format) at most once, CTranslate2 first."""
    groups: dict[tuple[str, str], list[ModelCheck]] = defaultdict(list)
    for row in rows:
        groups[(row.model, row.format)].append(row)
    order = sorted(groups, key=lambda key: (key[0], key[1] != "ct2"))
    convertible = formats.convertible()
    ct2_planned: set[str] = set()
    fetches, skipped = [], []
    for model, fmt in order:
        group = groups[(model, fmt)]
        row, backends = group[0], tuple(r.backend for r in group)
        reason = _skip_reason(row, fmt, ct2_planned, convertible)
        if reason is not None:
            skipped.append(f"{model} ({fmt}) for {', '.join(backends)}: {reason}")
            continue
        fetches.append(_url_fetch(row, backends, remote) if fmt == "openai" else _hub_fetch(row, backends, remote, hub))
        if fmt == "ct2":
            ct2_planned.add(model)
    return DownloadPlan(tuple(fetches), tuple(skipped), remote.offline_reason, tuple(remote.errors.values()))


def disk_space_problems(plan: DownloadPlan) -> list[str]:
    """One line per filesystem that lacks room for what the plan would write there."""
    needs: list[tuple[Path, int]] = []
    for fetch in plan.fetches:
        target, size = Path(fetch.destination), fetch.bytes_needed or 0
        for index, (known, total) in enumerate(needs):
            if same_filesystem(known, target):
                needs[index] = (known, total + size)
                break
        else:
            needs.append((target, size))
    problems = []
    for target, need in needs:
        _, free = disk_free(target)
        if need > free:
            problems.append(f"not enough disk space in {target}: need {need / 1e9:.2f} GB, {free / 1e9:.2f} GB free")
    return problems
