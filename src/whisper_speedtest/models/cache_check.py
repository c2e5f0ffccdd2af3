"""``check-models``: for each backend, where its weights are, whether they are whole, what is missing.

Four places are looked at per backend and model: the Hugging Face Hub cache, our store, pip
model packages (CTranslate2 only) and the backend's own download cache (openai-whisper's
``~/.cache/whisper``, pywhispercpp's models dir). Every copy gets file-level checks
(:mod:`.verify`); the row's status is that of its best copy.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import catalog, integrity, sources, store
from .backend_caches import backend_cache_file
from .hub_cache import HubCache
from .verify import SINGLE_FILE_FORMATS, CacheStatus, FilesVerdict, verify_directory, verify_single_file

KIND_NAMES = {"hub": "Hub cache", "store": "store", "package": "pip package", "backend-cache": "backend cache"}
_PREFERENCE = ("store", "package", "hub", "backend-cache")  # the order sources.locate looks in


@dataclass(frozen=True)
class BackendInfo:
    """What check-models needs to know about a backend class."""

    name: str
    display_name: str
    model_format: str
    family: str = "whisper"
    available: bool = True
    reason: str = ""

    @classmethod
    def of(cls, backend: Any) -> BackendInfo:
        availability = backend.available()
        return cls(backend.name, backend.display_name, backend.model_format, getattr(backend, "family", "whisper"),
                   availability.ok, availability.reason)


@dataclass(frozen=True)
class LocationCheck:
    """One place a copy of the weights can be, and what was found there."""

    kind: str  # hub | store | package | backend-cache
    status: CacheStatus
    label: str = ""
    path: str | None = None
    size_bytes: int = 0
    partial_bytes: int = 0
    problems: tuple[str, ...] = ()
    source: str = ""  # for store entries: where the weights came from
    weights_file: str | None = None  # the main weights file, for comparing copies


@dataclass(frozen=True)
class LoadCheck:
    """Result of ``--deep``: the backend loaded the weights in a child process, or why not."""

    status: str  # loaded | failed | timeout | skipped
    detail: str = ""
    seconds: float | None = None


@dataclass(frozen=True)
class ModelCheck:
    """One row of check-models: one backend, one model."""

    backend: str
    display_name: str
    available: bool
    model: str
    format: str
    upstream: str
    status: CacheStatus
    size_bytes: int
    ready: bool
    ready_from: str
    hub: LocationCheck
    store: LocationCheck
    package: LocationCheck
    backend_cache: LocationCheck
    load: LoadCheck | None = None
    weights: str = "same"  # same: our shared copy and its sources; native: the backend's usual download

    @property
    def locations(self) -> tuple[LocationCheck, ...]:
        return (self.hub, self.store, self.package, self.backend_cache)


def _not_applicable(kind: str) -> LocationCheck:
    return LocationCheck(kind, CacheStatus.NOT_APPLICABLE)


WEIGHT_FILES = ("model.bin", "model.safetensors", "weights.safetensors", "weights.npz", "pytorch_model.bin")


def _weights_file(files: dict[str, Path]) -> str | None:
    return next((str(files[name]) for name in WEIGHT_FILES if name in files), None)


def _location(kind: str, verdict: FilesVerdict, label: str, path: Path | None, **extra: Any) -> LocationCheck:
    return LocationCheck(kind, verdict.status, label, str(path) if path else None, verdict.size_bytes,
                         problems=verdict.problems, **extra)


def _convert_table(name: str) -> tuple[str, ...]:
    if importlib.util.find_spec("whisper_speedtest.models.formats.convert") is None:
        return ()
    from .formats import convert

    return tuple(getattr(convert, name))


def convertible_formats() -> tuple[str, ...]:
    """Formats that :mod:`.formats.convert` can write from a CTranslate2 source."""
    return _convert_table("FORMATS")


def exported_formats() -> tuple[str, ...]:
    """Formats made here from the converted hf weights by the backend library's exporter (never downloaded)."""
    return _convert_table("EXPORTED_FORMATS")


EXPORTED_UPSTREAM = "exported here from the hf weights"


class CacheChecker:
    """Checks locations once each (several backends share a format) for one command run."""

    def __init__(self, hub: HubCache | None = None, *, hash_large: bool = False, weights: str = "same") -> None:
        self.hub_cache = hub or HubCache()
        self.hash_large = hash_large
        self.weights = weights
        self._memo: dict[tuple, LocationCheck] = {}

    def _memoized(self, key: tuple, compute) -> LocationCheck:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def hub(self, model: str, fmt: str) -> LocationCheck:
        if fmt not in ("ct2", "hf", "mlx", "ggml"):  # openai checkpoints are not on the Hub
            return _not_applicable("hub")
        return self._memoized(("hub", model, fmt), lambda: self._check_hub(model, fmt))

    def _check_hub(self, model: str, fmt: str) -> LocationCheck:
        where = catalog.hub_location(fmt, model, self.weights)
        listing = self.hub_cache.listing(where.repo)
        if where.filename:
            name = where.filename
            verdict = verify_single_file(fmt, listing.files.get(name), blob=listing.blobs.get(name),
                                         broken=name in listing.broken, hash_large=self.hash_large)
        elif listing.files or listing.broken:
            verdict = verify_directory(fmt, listing.files, broken=listing.broken, blobs=listing.blobs,
                                       hash_large=self.hash_large)
        else:
            verdict = FilesVerdict(CacheStatus.MISSING)
        problems = verdict.problems
        if listing.partials:
            note = f"{len(listing.partials)} partial download(s), {listing.partial_bytes} bytes, in {listing.repo_dir}/blobs"
            problems += (note,)
            if verdict.status is CacheStatus.MISSING:
                verdict = FilesVerdict(CacheStatus.INCOMPLETE, verdict.size_bytes)
        weights = str(listing.files[where.filename]) if where.filename in listing.files else _weights_file(listing.files)
        return LocationCheck("hub", verdict.status, where.describe(), str(listing.repo_dir) if listing.repo_dir else None,
                             verdict.size_bytes, listing.partial_bytes, problems, weights_file=weights)

    def store_entry(self, entry: store.StoreEntry) -> LocationCheck:
        return self._memoized(("store", entry.path), lambda: self._check_store_entry(entry))

    def _check_store_entry(self, entry: store.StoreEntry) -> LocationCheck:
        """Store entries get the full check: every file hashed against the manifest."""
        verdict = integrity.check_entry(entry, full_hash=True)
        payload = entry.payload
        if entry.format in SINGLE_FILE_FORMATS:
            weights = str(payload)
        else:
            weights = _weights_file({p.name: p for p in payload.iterdir()}) if payload.is_dir() else None
        return _location("store", verdict, f"store {entry.format}-{entry.dtype}", entry.directory, source=entry.source,
                         weights_file=weights)

    def store(self, model: str, fmt: str) -> LocationCheck:
        dtype = store.baseline_dtype(fmt)
        entry = store.find(model, fmt, dtype)
        if entry is None:
            return LocationCheck("store", CacheStatus.MISSING, f"store {fmt}-{dtype}", str(store.entry_dir(model, fmt, dtype)))
        return self.store_entry(entry)

    def package(self, model: str, fmt: str) -> LocationCheck:
        if fmt != "ct2" or model not in sources.PACKAGES:
            return _not_applicable("package")
        return self._memoized(("package", model), lambda: self._check_package(sources.PACKAGES[model]))

    def _check_package(self, package: sources.PackageModel) -> LocationCheck:
        label = "pip:" + "+".join(package.distributions)
        roots = {part.module: sources.package_dir(part.module) for part in package.parts}
        files_root = sources.package_dir(package.files_module)
        if files_root is None or None in roots.values():
            hint = f"not installed: pip install {' '.join(package.distributions)}"
            return LocationCheck("package", CacheStatus.MISSING, label, problems=(hint,))
        parts = [roots[part.module] / part.relative_path for part in package.parts]
        files_dir = files_root / package.files_dir
        if len(parts) == 1:
            directory = parts[0].parent
            files = {p.name: p for p in directory.iterdir() if p.is_file()}
            return _location("package", verify_directory("ct2", files), label, directory, weights_file=_weights_file(files))
        # Split model.bin: the parts can only be header-checked once reassembled (into the store).
        named = {f"{p.parent.name}/{p.name}": p for p in parts} | {n: files_dir / n for n in package.extra_files}
        missing = [name for name, p in named.items() if not p.is_file()]
        empty = [name for name, p in named.items() if p.is_file() and p.stat().st_size == 0]
        size = sum(p.stat().st_size for p in named.values() if p.is_file())
        status = CacheStatus.CORRUPT if empty else CacheStatus.INCOMPLETE if missing else CacheStatus.COMPLETE
        problems = tuple(f"{n}: empty file" for n in empty) + tuple(f"missing {n}" for n in missing)
        return LocationCheck("package", status, label, str(files_dir), size, problems=problems)

    def backend_cache(self, backend: str, model: str, fmt: str) -> LocationCheck:
        path = backend_cache_file(backend, fmt, model)
        if path is None:
            return _not_applicable("backend-cache")
        return self._memoized(("backend-cache", str(path)), lambda: self._check_backend_file(path, model))

    def _check_backend_file(self, path: Path, model: str) -> LocationCheck:
        is_pt = path.suffix == ".pt"
        verdict = verify_single_file("openai" if is_pt else "ggml", path,
                                     expected_sha256=catalog.OPENAI_SHA256.get(model) if is_pt else None)
        partial = path.with_name(path.name + ".incomplete")
        partial_bytes = partial.stat().st_size if partial.is_file() else 0
        if partial_bytes and verdict.status is CacheStatus.MISSING:
            verdict = FilesVerdict(CacheStatus.INCOMPLETE, 0, (f"partial download: {partial_bytes} bytes in {partial.name}",))
        return _location("backend-cache", verdict, str(path), path, partial_bytes=partial_bytes, weights_file=str(path))

    def ct2_source(self, model: str) -> LocationCheck | None:
        """The complete CTranslate2 copy other formats would be converted from (store, pip, Hub)."""
        for check in (self.store(model, "ct2"), self.package(model, "ct2"), self.hub(model, "ct2")):
            if check.status is CacheStatus.COMPLETE:
                return check
        return None


def _row_status(locations: tuple[LocationCheck, ...]) -> CacheStatus:
    statuses = {loc.status for loc in locations}
    for status in (CacheStatus.COMPLETE, CacheStatus.CORRUPT, CacheStatus.INCOMPLETE, CacheStatus.MISSING):
        if status in statuses:
            return status
    return CacheStatus.NOT_APPLICABLE


def describe_location(loc: LocationCheck) -> str:
    return KIND_NAMES[loc.kind] + (f" ({loc.label})" if loc.label else "")


def check_row(checker: CacheChecker, backend: BackendInfo, model: str) -> ModelCheck:
    """Check every location of ``model`` for ``backend`` and summarize them in one row."""
    fmt = backend.model_format
    try:
        upstream = EXPORTED_UPSTREAM if fmt in exported_formats() else catalog.hub_location(fmt, model, checker.weights).describe()
    except ValueError:  # a plugin format we do not manage
        na = {kind.replace("-", "_"): _not_applicable(kind) for kind in KIND_NAMES}
        return ModelCheck(backend.name, backend.display_name, backend.available, model, fmt, upstream="",
                          status=CacheStatus.NOT_APPLICABLE, size_bytes=0, ready=False, ready_from="", **na)
    hub, kept, package = checker.hub(model, fmt), checker.store(model, fmt), checker.package(model, fmt)
    native = checker.weights == "native"
    if native:  # the backend's own download only: no store copy, no pip package, no conversion
        kept, package = _not_applicable("store"), _not_applicable("package")
    own = checker.backend_cache(backend.name, model, fmt)
    locations = (hub, kept, package, own)
    status = _row_status(locations)
    by_kind = {loc.kind: loc for loc in locations}
    complete = [by_kind[k] for k in _PREFERENCE if by_kind[k].status is CacheStatus.COMPLETE]
    ready_from = describe_location(complete[0]) if complete else ""
    if not complete and not native and fmt != "ct2" and fmt in convertible_formats() + exported_formats():
        source = checker.ct2_source(model)
        how = "export (optimum) of the conversion" if fmt in exported_formats() else "conversion"
        ready_from = f"{how} from {describe_location(source)}" if source else ""
    size = complete[0].size_bytes if complete else max(loc.size_bytes + loc.partial_bytes for loc in locations)
    return ModelCheck(backend.name, backend.display_name, backend.available, model, fmt, upstream, status, size,
                      bool(ready_from), ready_from, hub, kept, package, own, weights=checker.weights)


def check_models(models: list[str], backends: list[BackendInfo], checker: CacheChecker | None = None) -> tuple[ModelCheck, ...]:
    """One row per (model, backend); ``models`` are resolved through the catalog."""
    checker = checker or CacheChecker()
    names = list(dict.fromkeys(catalog.resolve(m) for m in models))
    return tuple(check_row(checker, backend, name) for name in names for backend in backends)


def downloaded_weights(name: str, fmt: str) -> Path | None:
    """A verified downloaded copy of ``name`` in ``fmt`` outside the store: a Hub snapshot
    (directory, or the file for single-file formats) or openai-whisper's ``~/.cache/whisper/<name>.pt``."""
    checker = CacheChecker()
    name = catalog.resolve(name)
    if checker.hub(name, fmt).status is CacheStatus.COMPLETE:
        where = catalog.upstream_location(fmt, name)
        listing = checker.hub_cache.listing(where.repo)
        return listing.files[where.filename] if where.filename else listing.repo_dir / "snapshots" / listing.revision
    own = checker.backend_cache("", name, fmt)
    return Path(own.path) if own.status is CacheStatus.COMPLETE and own.path else None


def disk_free(path: Path) -> tuple[str, int]:
    """Free bytes on the filesystem that holds (or would hold) ``path``."""
    import shutil

    probe = Path(path)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return str(path), shutil.disk_usage(probe).free


def same_filesystem(a: Path, b: Path) -> bool:
    def device(p: Path) -> int:
        while not p.exists() and p.parent != p:
            p = p.parent
        return os.stat(p).st_dev

    return device(a) == device(b)
