"""What one benchmark asks for: the model, the chosen backends, the settings and the audio, checked once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..audio import AudioClip
from ..backends import all_backends, get_backend
from ..backends.base import Backend, LoadOptions
from ..dataset.entries import DatasetSelection
from ..results import DecodeSettings
from .ray_driver import RaySettings


def select_backends(names: Sequence[str] | None) -> tuple[type[Backend], ...]:
    """The named backends (unknown names raise; one class once however it is named), or every registered one."""
    if names:
        return tuple(dict.fromkeys(get_backend(name) for name in names))
    return tuple(sorted(all_backends().values(), key=lambda cls: cls.name))


@dataclass(frozen=True)
class BenchmarkRequest:
    """One benchmark, checked: names already resolved, backends already chosen. The audio is added last,
    with :meth:`with_clips` (dataset mode reads its clips in the child instead)."""

    model: str  # a canonical catalog name (``catalog.resolve`` already applied)
    backends: tuple[type[Backend], ...]
    settings: DecodeSettings
    load_options: LoadOptions
    clips: tuple[AudioClip, ...] = ()
    quantizations: tuple[str | None, ...] = (None,)
    dataset: DatasetSelection | None = None
    batch_size: int = 1
    synthetic: bool = False
    price_per_hour: float | None = None  # the machine's cost per hour, for a cost per audio hour
    ray: RaySettings | None = None  # dataset mode on Ray Data instead of one child process
    weights: str = "same"  # same: our shared copy for every backend; native: each backend's usual download
    # Beside ``backends``, one each: a version of that backend's library to run in a managed environment of its
    # own (``-b faster-whisper==1.1.1``), or None. Empty: none pinned.
    versions: tuple[str | None, ...] = ()

    @classmethod
    def named(cls, model: str, backends: Sequence[str] | None, settings: DecodeSettings, load_options: LoadOptions,
              **fields) -> BenchmarkRequest:
        """A request from names, for scripts: ``model`` may be an alias, ``backends`` None means every registered one."""
        from ..models import catalog

        return cls(catalog.resolve(model), select_backends(backends), settings, load_options, **fields)

    def entries(self) -> tuple[tuple[type[Backend], str | None], ...]:
        """(backend, pinned version or None) for each backend to run, in order."""
        return tuple(zip(self.backends, self.versions or (None,) * len(self.backends), strict=True))

    def with_clips(self, clips: Sequence[AudioClip]) -> BenchmarkRequest:
        return replace(self, clips=tuple(clips))
