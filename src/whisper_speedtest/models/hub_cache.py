"""Read-only view of the Hugging Face Hub cache, found through ``huggingface_hub.scan_cache_dir``.

The cache directory honours ``HF_HUB_CACHE`` / ``HF_HOME`` as they are *now* (huggingface_hub
reads them once, at import), falling back to huggingface_hub's own default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def hub_cache_dir() -> Path:
    """The Hub cache directory, by the same precedence huggingface_hub uses."""
    env = os.environ

    def expand(value: str) -> Path:
        return Path(os.path.expandvars(os.path.expanduser(value)))

    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(key):
            return expand(env[key])
    if env.get("HF_HOME"):
        return expand(env["HF_HOME"]) / "hub"
    if env.get("XDG_CACHE_HOME"):
        return expand(env["XDG_CACHE_HOME"]) / "huggingface" / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


EXTRA_CACHES_ENV = "WHISPER_SPEEDTEST_HUB_CACHES"


def extra_hub_cache_dirs() -> list[Path]:
    """More Hub caches to read (never to write), from ``$WHISPER_SPEEDTEST_HUB_CACHES`` (a path list,
    like PATH): mac-whisper-speedtest's project-local ``models/`` folder, say."""
    value = os.environ.get(EXTRA_CACHES_ENV, "")
    return [Path(os.path.expanduser(part)) for part in value.split(os.pathsep) if part.strip()]


@dataclass(frozen=True)
class PartialBlob:
    """An ``.incomplete`` file left in a repo's blobs/ by an interrupted download."""

    path: Path
    size: int

    @property
    def etag(self) -> str:
        return self.path.name.split(".", 1)[0]


@dataclass(frozen=True)
class SnapshotListing:
    """The files of one cached revision of a repo, as symlinks in ``snapshots/<commit>/``."""

    repo_id: str
    repo_dir: Path | None = None
    revision: str | None = None
    files: dict[str, Path] = field(default_factory=dict)  # name -> snapshot path (resolves to a blob)
    blobs: dict[str, Path] = field(default_factory=dict)  # name -> repo-local blob path
    broken: frozenset[str] = frozenset()  # names whose blob is missing
    partials: tuple[PartialBlob, ...] = ()

    @property
    def exists(self) -> bool:
        return bool(self.files or self.broken or self.partials)

    @property
    def partial_bytes(self) -> int:
        return sum(p.size for p in self.partials)

    def partial_for(self, etag: str) -> PartialBlob | None:
        """The largest partial download of the blob named ``etag``, if any."""
        matching = [p for p in self.partials if p.etag == etag]
        return max(matching, key=lambda p: p.size) if matching else None


class HubCache:
    """Scans the cache once and answers per-repo questions from that scan."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else hub_cache_dir()
        self._info = None
        self._scanned = False

    def _scan(self):
        if not self._scanned:
            from huggingface_hub import scan_cache_dir
            from huggingface_hub.errors import CacheNotFound

            try:
                self._info = scan_cache_dir(self.cache_dir)
            except (CacheNotFound, ValueError, OSError):
                self._info = None
            self._scanned = True
        return self._info

    def repo_dir(self, repo_id: str) -> Path | None:
        """The repo's folder: as scan_cache_dir reports it, or (for a repo it rejected) by its naming rule."""
        info = self._scan()
        if info is None:
            return None
        for repo in info.repos:
            if repo.repo_id == repo_id and repo.repo_type == "model":
                return repo.repo_path
        from huggingface_hub.file_download import repo_folder_name

        folder = Path(info.cache_dir) / repo_folder_name(repo_id=repo_id, repo_type="model")
        return folder if folder.is_dir() else None  # scan_cache_dir put it under warnings

    def _revision(self, repo_id: str, repo_dir: Path) -> Path | None:
        info = self._scan()
        for repo in info.repos if info else ():
            if repo.repo_id == repo_id and repo.repo_type == "model" and repo.revisions:
                main = [r for r in repo.revisions if "main" in r.refs]
                return (main or sorted(repo.revisions, key=lambda r: r.last_modified))[-1].snapshot_path
        snapshots = repo_dir / "snapshots"
        ref = repo_dir / "refs" / "main"
        if ref.is_file() and (snapshots / ref.read_text().strip()).is_dir():
            return snapshots / ref.read_text().strip()
        candidates = sorted((p for p in snapshots.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime) if snapshots.is_dir() else []
        return candidates[-1] if candidates else None

    def listing(self, repo_id: str) -> SnapshotListing:
        repo_dir = self.repo_dir(repo_id)
        if repo_dir is None:
            return SnapshotListing(repo_id)
        partials = tuple(
            PartialBlob(p, p.stat().st_size) for p in sorted((repo_dir / "blobs").glob("*.incomplete")) if p.is_file()
        )
        snapshot = self._revision(repo_id, repo_dir)
        if snapshot is None:
            return SnapshotListing(repo_id, repo_dir, partials=partials)
        files, blobs, broken = {}, {}, set()
        for path in sorted(snapshot.rglob("*")):
            name = path.relative_to(snapshot).as_posix()
            if path.is_symlink() and not path.exists():
                broken.add(name)
            elif path.is_file():
                files[name] = path
                blobs[name] = Path(os.path.abspath(path.parent / os.readlink(path))) if path.is_symlink() else path
        return SnapshotListing(repo_id, repo_dir, snapshot.name, files, blobs, frozenset(broken), partials)
