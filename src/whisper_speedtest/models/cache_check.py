"""``check-models``: for each backend, where its weights are, whether they are whole, what is missing.

The places and their checks are :mod:`.locations`' scan; a row shows every copy the scan found for a
backend and says which one a benchmark would run (:meth:`.locations.Scan.choose`, the same answer
``sources.locate`` acts on). The row's status is that of its best copy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from . import catalog
from .formats import registry as formats
from .locations import KIND_NAMES, Location, OwnPlace, Scan, first_complete, not_applicable
from .verify import CacheStatus
from .weights_mode import WeightsMode

__all__ = ["KIND_NAMES", "BackendInfo", "LoadCheck", "ModelCheck", "check_models", "check_row"]


@dataclass(frozen=True)
class BackendInfo:
    """What check-models needs to know about a backend class."""

    name: str
    display_name: str
    model_format: str
    family: str = "whisper"
    available: bool = True
    reason: str = ""
    places: Callable[[str], Iterable[OwnPlace]] | None = None  # the backend's ``model_places``, if it has its own

    @classmethod
    def of(cls, backend: Any) -> BackendInfo:
        availability = backend.available()
        return cls(backend.name, backend.display_name, backend.model_format, getattr(backend, "family", "whisper"),
                   availability.ok, availability.reason, getattr(backend, "model_places", None))


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
    hub: Location
    store: Location
    package: Location
    backend_cache: Location
    load: LoadCheck | None = None
    weights: WeightsMode = WeightsMode.SAME
    runs: str | None = None  # the folder or file a benchmark loads, when it needs no conversion first
    own_model: bool = False  # the backend brings its own model (WhisperKit, Parakeet): downloaded by it, not us
    more_hub: tuple[Location, ...] = ()  # what the other Hub caches hold besides ``hub`` (missing ones left out)

    @property
    def locations(self) -> tuple[Location, ...]:
        """One location per kind: the table's columns."""
        return (self.hub, self.store, self.package, self.backend_cache)

    @property
    def copies(self) -> tuple[Location, ...]:
        """Every place found, the other Hub caches' copies included."""
        return self.locations + self.more_hub


EXPORTED_UPSTREAM = "exported here from the hf weights"


def _row_status(locations: tuple[Location, ...]) -> CacheStatus:
    statuses = {loc.status for loc in locations}
    for status in (CacheStatus.COMPLETE, CacheStatus.CORRUPT, CacheStatus.INCOMPLETE, CacheStatus.MISSING):
        if status in statuses:
            return status
    return CacheStatus.NOT_APPLICABLE


def _not_applicable_row(backend: BackendInfo, model: str) -> ModelCheck:
    na = {kind.replace("-", "_"): not_applicable(kind) for kind in KIND_NAMES}
    return ModelCheck(backend.name, backend.display_name, backend.available, model, backend.model_format, upstream="",
                      status=CacheStatus.NOT_APPLICABLE, size_bytes=0, ready=False, ready_from="", **na)


def _own_model_row(scan: Scan, backend: BackendInfo, model: str, places: tuple[OwnPlace, ...]) -> ModelCheck:
    """A backend with a model of its own: its places are the only copies; it downloads a missing one itself."""
    checks = scan.own_places(places)
    own = first_complete(checks) or checks[0]
    na = {kind: not_applicable(kind) for kind in ("hub", "store", "package")}
    return ModelCheck(backend.name, backend.display_name, backend.available, model, backend.model_format,
                      places[0].label, own.status, own.size_bytes, own.complete, own.describe() if own.complete else "",
                      backend_cache=own, weights=scan.weights, runs=own.load_path if own.complete else None,
                      own_model=True, **na)


def check_row(scan: Scan, backend: BackendInfo, model: str) -> ModelCheck:
    """Check every location of ``model`` for ``backend`` and summarize them in one row."""
    try:
        places = tuple(backend.places(model)) if backend.places is not None else ()
    except UserError:  # the backend has no copy of its own for this model (WhisperKit has no medium)
        return _not_applicable_row(backend, model)
    if places:
        return _own_model_row(scan, backend, model, places)
    fmt = backend.model_format
    try:
        upstream = EXPORTED_UPSTREAM if fmt in formats.exported() else catalog.hub_location(fmt, model, scan.weights).describe()
    except ValueError:  # a plugin format we do not manage
        return _not_applicable_row(backend, model)
    hub, kept, package, own = scan.hub(model, fmt), scan.store(model, fmt), scan.package(model, fmt), \
        scan.backend_cache(model, fmt)
    more_hub = tuple(loc for loc in scan.hub_copies(model, fmt)
                     if loc is not hub and loc.status not in (CacheStatus.MISSING, CacheStatus.NOT_APPLICABLE))
    if scan.weights == WeightsMode.NATIVE:  # the backend's own download only: no store copy, no pip package, no conversion
        kept, package = not_applicable("store"), not_applicable("package")
    locations = (hub, kept, package, own)
    choice = scan.choose(model, fmt)
    best = first_complete((kept, package, hub, own))
    size = best.size_bytes if best else max(loc.size_bytes + loc.partial_bytes for loc in locations)
    return ModelCheck(backend.name, backend.display_name, backend.available, model, fmt, upstream,
                      _row_status(locations), size, choice.ready, choice.describe(), hub, kept, package, own,
                      weights=scan.weights, runs=choice.copy.load_path if choice.copy else None, more_hub=more_hub)


def check_models(models: list[str], backends: list[BackendInfo], scan: Scan | None = None) -> tuple[ModelCheck, ...]:
    """One row per (model, backend); ``models`` are resolved through the catalog."""
    scan = scan or Scan(full_hash=True)
    names = list(dict.fromkeys(catalog.resolve(m) for m in models))
    return tuple(check_row(scan, backend, name) for name in names for backend in backends)


def disk_free(path: Path) -> tuple[str, int]:
    """Free bytes on the filesystem that holds (or would hold) ``path``."""
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
