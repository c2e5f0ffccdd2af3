"""The one scan of where copies of a model are, and which of them a backend would run.

Places looked at, in the order a copy is preferred: our store, the pip model packages
(CTranslate2 only), the Hugging Face Hub cache (``HF_HUB_CACHE``, then the extra caches named by
``$WHISPER_SPEEDTEST_HUB_CACHES``), and the backend's own cache (openai-whisper's
``~/.cache/whisper``, pywhispercpp's models folder, and the places a backend declares through its
``model_places`` classmethod: WhisperKit's and FluidAudio's Core ML folders, Parakeet's repos).

Every copy becomes a frozen :class:`Location` after file-level checks (:mod:`.verify`,
:mod:`.integrity`). :meth:`Scan.choose` says what running a backend would use: a copy as it is,
or a conversion from the CTranslate2 copy. ``sources.locate`` (running) and ``check-models``
(reporting) both ask it, and nothing here writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from . import catalog, integrity, packages, store
from .backend_caches import backend_cache_file
from .formats import registry as formats
from .hub_cache import HubCache, extra_hub_cache_dirs
from .paths import unusable_home_reason
from .verify import CacheStatus, FilesVerdict, verify_directory, verify_single_file
from .weights_mode import WeightsMode

KIND_NAMES = {"hub": "Hub cache", "store": "store", "package": "pip package", "backend-cache": "backend cache"}


@dataclass(frozen=True)
class Location:
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
    load_path: str | None = None  # what a backend is handed: the folder or file of the weights

    @property
    def complete(self) -> bool:
        return self.status is CacheStatus.COMPLETE

    def describe(self) -> str:
        return KIND_NAMES[self.kind] + (f" ({self.label})" if self.label else "")


@dataclass(frozen=True)
class OwnPlace:
    """A folder where a backend keeps a model of its own, declared by the backend's ``model_places``."""

    model: str  # the model it holds (a Parakeet checkpoint, for the Parakeet backends)
    format: str
    path: Path
    required: tuple[str, ...]  # entries (files or folders, glob patterns allowed) a complete copy has
    label: str = ""  # the upstream it comes from
    dtype: str = "float16"


PlaceFinder = Callable[[str], Iterable[OwnPlace]]  # a backend's ``model_places(model)``


@dataclass(frozen=True)
class Choice:
    """What running a backend on a model would use: a copy as it is, or a conversion from ``convert_from``."""

    copy: Location | None = None
    convert_from: Location | None = None
    how: str = "conversion"  # or "export (optimum) of the conversion"

    @property
    def ready(self) -> bool:
        return self.copy is not None or self.convert_from is not None

    @property
    def converts(self) -> bool:
        return self.copy is None and self.convert_from is not None

    def describe(self) -> str:
        if self.copy is not None:
            return self.copy.describe()
        return f"{self.how} from {self.convert_from.describe()}" if self.convert_from else ""


def not_applicable(kind: str) -> Location:
    return Location(kind, CacheStatus.NOT_APPLICABLE)


def first_complete(locations: Iterable[Location]) -> Location | None:
    return next((loc for loc in locations if loc.complete), None)


def _location(kind: str, verdict: FilesVerdict, label: str, path: Path | None, **extra: Any) -> Location:
    return Location(kind, verdict.status, label, str(path) if path else None, verdict.size_bytes,
                    problems=verdict.problems, **extra)


def _weights_file(files: dict[str, Path]) -> str | None:
    found = formats.weights_file(files)
    return str(found) if found else None


class Scan:
    """Looks at each place once (several backends share a format) and answers from what it saw.

    ``full_hash``: store entries get every file hashed (check-models); otherwise a digest remembered
    for an unchanged file stands (before a load). ``hash_large``: Hub blobs of any size are hashed.
    ``weights=WeightsMode.NATIVE``: only the backend's usual download counts in :meth:`choose` (no store, no pip package).
    """

    def __init__(self, hub: HubCache | None = None, *, full_hash: bool = False, hash_large: bool = False,
                 weights: WeightsMode = WeightsMode.SAME) -> None:
        self.hub_cache = hub or HubCache()
        self.extra_hub_caches = tuple(HubCache(d) for d in extra_hub_cache_dirs())
        self.full_hash = full_hash
        self.hash_large = hash_large
        self.weights = weights
        self._memo: dict[tuple, Location] = {}

    def _memoized(self, key: tuple, compute: Callable[[], Location]) -> Location:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    # ------------------------------------------------------------ the Hugging Face Hub cache(s)
    def hub(self, model: str, fmt: str) -> Location:
        """The first complete copy among the Hub caches, else what the main cache holds."""
        if fmt not in formats.on_hub():  # openai checkpoints are plain URLs; exports are made here
            return not_applicable("hub")
        return self.hub_copy(catalog.hub_location(fmt, model, self.weights), fmt)

    def hub_copies(self, model: str, fmt: str) -> tuple[Location, ...]:
        """What each Hub cache holds of ``model`` in ``fmt``: the main cache first, then the extra ones."""
        if fmt not in formats.on_hub():
            return (not_applicable("hub"),)
        return self.hub_checks(catalog.hub_location(fmt, model, self.weights), fmt)

    def hub_checks(self, where: catalog.HubLocation, fmt: str) -> tuple[Location, ...]:
        """One Hub repo (or repo file) as each cache holds it: the main cache first, then the extra ones."""
        return tuple(self.hub_in(cache, where, fmt) for cache in (self.hub_cache, *self.extra_hub_caches))

    def hub_copy(self, where: catalog.HubLocation, fmt: str) -> Location:
        """The copy of one Hub repo (or repo file): the first complete one among the caches, else the main cache's."""
        checks = self.hub_checks(where, fmt)
        return first_complete(checks) or checks[0]

    def hub_in(self, cache: HubCache, where: catalog.HubLocation, fmt: str) -> Location:
        """The copy in one Hub cache folder."""
        key = ("hub", str(cache.cache_dir), where, fmt)
        return self._memoized(key, lambda: self._check_hub(cache, where, fmt))

    def _check_hub(self, cache: HubCache, where: catalog.HubLocation, fmt: str) -> Location:
        listing = cache.listing(where.repo)
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
        if where.filename:
            weights = listing.files.get(where.filename)
            load_path = weights
        else:
            weights = _weights_file(listing.files)
            load_path = listing.repo_dir / "snapshots" / listing.revision if listing.revision else None
        return Location("hub", verdict.status, where.describe(), str(listing.repo_dir) if listing.repo_dir else None,
                        verdict.size_bytes, listing.partial_bytes, problems,
                        weights_file=str(weights) if weights else None, load_path=str(load_path) if load_path else None)

    # ------------------------------------------------------------ our store
    def store_entry(self, entry: store.StoreEntry) -> Location:
        return self._memoized(("store", entry.path), lambda: self._check_store_entry(entry))

    def _check_store_entry(self, entry: store.StoreEntry) -> Location:
        verdict = integrity.check_entry(entry, full_hash=self.full_hash)
        payload = entry.payload
        if formats.single_file(entry.format):
            weights = str(payload)
        else:
            weights = _weights_file({p.name: p for p in payload.iterdir()}) if payload.is_dir() else None
        return _location("store", verdict, f"store {entry.format}-{entry.dtype}", entry.directory, source=entry.source,
                         weights_file=weights, load_path=str(payload))

    def store(self, model: str, fmt: str) -> Location:
        dtype = store.baseline_dtype(fmt)
        entry = store.find(model, fmt, dtype)
        if entry is None:
            return Location("store", CacheStatus.MISSING, f"store {fmt}-{dtype}", str(store.entry_dir(model, fmt, dtype)))
        return self.store_entry(entry)

    # ------------------------------------------------------------ pip model packages
    def package(self, model: str, fmt: str) -> Location:
        package = packages.for_model(model)
        if fmt != "ct2" or package is None:
            return not_applicable("package")
        return self._memoized(("package", model), lambda: _check_package(package))

    # ------------------------------------------------------------ the backend's own cache
    def backend_cache(self, model: str, fmt: str) -> Location:
        path = backend_cache_file(fmt, model)
        if path is None:
            return not_applicable("backend-cache")
        return self._memoized(("backend-cache", str(path)), lambda: _check_backend_file(path, model))

    def own_places(self, places: Iterable[OwnPlace]) -> tuple[Location, ...]:
        return tuple(self._memoized(("own", str(p.path)), lambda p=p: _check_own_place(p)) for p in places)

    # ------------------------------------------------------------ all of them, and the choice
    def copies(self, model: str, fmt: str) -> tuple[Location, ...]:
        """Every place of ``model`` in ``fmt``, in the order a copy is preferred."""
        return tuple(self._places(model, fmt))

    def _places(self, model: str, fmt: str) -> Iterator[Location]:
        """The places one by one, each looked at only when asked for (a store copy spares the Hub scan).
        With ``weights=WeightsMode.NATIVE`` only the backend's usual downloads count: no store, no pip package."""
        if self.weights != WeightsMode.NATIVE:
            yield self.store(model, fmt)
            yield self.package(model, fmt)
        yield self.hub(model, fmt)
        yield self.backend_cache(model, fmt)

    def ct2_source(self, model: str) -> Location | None:
        """The complete CTranslate2 copy other formats would be converted from (store, pip, Hub)."""
        return first_complete(islice(self._places(model, "ct2"), 3))

    def choose(self, model: str, fmt: str) -> Choice:
        """What a benchmark would run: a complete store copy; else, for a format we convert to, a
        conversion from the CTranslate2 copy (so every backend runs the same weights); else the first
        complete downloaded copy (pip package, Hub cache, backend cache)."""
        if self.weights == WeightsMode.NATIVE:
            return Choice(first_complete(self._places(model, fmt)))
        places = self._places(model, fmt)
        kept = next(places)
        if kept.complete:
            return Choice(kept)
        if kept.status in (CacheStatus.CORRUPT, CacheStatus.INCOMPLETE) and store.imported(kept.source):
            return Choice()  # an imported copy gone bad: the benchmark refuses it (CorruptWeights) and converts nothing
        known = formats.FORMATS.get(fmt)
        if known is not None and fmt != "ct2" and unusable_home_reason() is None:  # a conversion must be written there
            if known.exported:
                return Choice(convert_from=self.ct2_source(model), how="export (optimum) of the conversion")
            if known.convertible and (source := self.ct2_source(model)) is not None:
                return Choice(convert_from=source)
        return Choice(first_complete(places))


def _check_package(package: packages.PackageModel) -> Location:
    label = package.label
    found = packages.installed(package)
    if found is None:
        return Location("package", CacheStatus.MISSING, label, problems=(f"not installed: {package.install_hint()}",))
    if found.model_dir is not None:
        directory = found.model_dir
        files = {p.name: p for p in directory.iterdir() if p.is_file()}
        return _location("package", verify_directory("ct2", files), label, directory, weights_file=_weights_file(files),
                         load_path=str(directory))
    # Split model.bin: the parts can only be header-checked once reassembled (into the store).
    named = {f"{p.parent.name}/{p.name}": p for p in found.parts} | {n: found.files_dir / n for n in package.extra_files}
    missing = [name for name, p in named.items() if not p.is_file()]
    empty = [name for name, p in named.items() if p.is_file() and p.stat().st_size == 0]
    size = sum(p.stat().st_size for p in named.values() if p.is_file())
    status = CacheStatus.CORRUPT if empty else CacheStatus.INCOMPLETE if missing else CacheStatus.COMPLETE
    problems = tuple(f"{n}: empty file" for n in empty) + tuple(f"missing {n}" for n in missing)
    return Location("package", status, label, str(found.files_dir), size, problems=problems)


def _check_backend_file(path: Path, model: str) -> Location:
    is_pt = path.suffix == ".pt"
    verdict = verify_single_file("openai" if is_pt else "ggml", path,
                                 expected_sha256=catalog.OPENAI_SHA256.get(model) if is_pt else None)
    partial = path.with_name(path.name + ".incomplete")
    partial_bytes = partial.stat().st_size if partial.is_file() else 0
    if partial_bytes and verdict.status is CacheStatus.MISSING:
        verdict = FilesVerdict(CacheStatus.INCOMPLETE, 0, (f"partial download: {partial_bytes} bytes in {partial.name}",))
    return _location("backend-cache", verdict, str(path), path, partial_bytes=partial_bytes, weights_file=str(path),
                     load_path=str(path))


def _check_own_place(place: OwnPlace) -> Location:
    present = [pattern for pattern in place.required if place.path.is_dir() and any(place.path.glob(pattern))]
    missing = [pattern for pattern in place.required if pattern not in present]
    if not present:
        status = CacheStatus.MISSING
    else:
        status = CacheStatus.INCOMPLETE if missing else CacheStatus.COMPLETE
    size = store.directory_size(place.path) if status is not CacheStatus.MISSING else 0
    problems = tuple(f"missing {name}" for name in missing) if status is CacheStatus.INCOMPLETE else ()
    return Location("backend-cache", status, place.label or str(place.path), str(place.path), size, problems=problems,
                    load_path=str(place.path))


def own_copy(places: Iterable[OwnPlace]) -> OwnPlace | None:
    """The first of a backend's own places that holds a complete copy: what the backend loads, and
    what check-models reports as ready (both judge the places with the same check)."""
    return next((place for place in places if _check_own_place(place).complete), None)
