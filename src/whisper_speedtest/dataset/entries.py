"""The clips of a dataset and how they are sampled (``reading`` chooses and decodes them).

One sampling rule for every kind of set: without limits, every clip in dataset order; with
``--max-clips``/``--max-hours``, clips in a seeded shuffled order until a limit is reached, then
put back in dataset order, so the same options pick the same clips on every machine. A streamed
set cannot be shuffled without reading it all: it takes the first clips in stream order.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import audio_seconds
from ..errors import AudioError
from .spec import DatasetSpec

HOUR_S = 3600.0


@dataclass(frozen=True)
class DatasetEntry:
    """One clip of a dataset: decoded later, in the backend's process, as part of the timed work."""

    name: str
    reference: str | None
    duration_s: float
    path: str = ""  # an audio file (manifests, folders, datasets rows stored as paths)
    row: int | None = None  # its row in a datasets table, read again in the worker
    data: bytes | None = field(default=None, repr=False)  # encoded audio of a streamed row, carried along


@dataclass(frozen=True)
class SampleLimits:
    max_clips: int | None = None
    max_hours: float | None = None
    seed: int = 0

    @property
    def limited(self) -> bool:
        return self.max_clips is not None or self.max_hours is not None


@dataclass(frozen=True)
class DatasetSelection:
    """The clips a run will transcribe, and where they came from."""

    spec: DatasetSpec  # resolved: split and columns filled in
    entries: tuple[DatasetEntry, ...]
    total_clips: int | None  # clips in the whole set; None when streamed
    sample: str  # how they were chosen, for the results


def choose(count: int, probe: Callable[[int], DatasetEntry], limits: SampleLimits) -> tuple[DatasetEntry, ...]:
    """Probe rows in the sampling order until a limit is reached; the result is in dataset order."""
    order = np.random.default_rng(limits.seed).permutation(count).tolist() if limits.limited else range(count)
    return _take(((index, probe(index)) for index in order), limits)


def take_in_order(entries: Iterable[DatasetEntry], limits: SampleLimits) -> tuple[DatasetEntry, ...]:
    """The first clips of a stream, up to the limits."""
    return _take(enumerate(entries), limits)


def _take(indexed: Iterable[tuple[int, DatasetEntry]], limits: SampleLimits) -> tuple[DatasetEntry, ...]:
    chosen: list[tuple[int, DatasetEntry]] = []
    audio_s = 0.0
    budget_s = limits.max_hours * HOUR_S if limits.max_hours is not None else None
    for index, entry in indexed:
        if limits.max_clips is not None and len(chosen) >= limits.max_clips:
            break
        if budget_s is not None and chosen and audio_s + entry.duration_s > budget_s:
            break
        chosen.append((index, entry))
        audio_s += entry.duration_s
    return tuple(entry for _, entry in sorted(chosen, key=lambda pair: pair[0]))


def sample_note(chosen: int, total: int | None, limits: SampleLimits) -> str:
    if total is None:
        return f"first {chosen} clips in stream order"
    if not limits.limited:
        return f"all {total} clips"
    return f"{chosen} of {total} clips, seeded sample (seed {limits.seed})"


def entry_from_audio(record: dict, reference: str | None, row: int | None, where: str, keep_bytes: bool) -> DatasetEntry:
    """A datasets row's undecoded audio (``{"bytes", "path"}``) as an entry; its header gives the length."""
    data, path = record.get("bytes"), record.get("path") or ""
    name = Path(path).name if path else where
    if data:
        seconds = audio_seconds(io.BytesIO(data), f"{name} ({where})")
    elif path and Path(path).is_file():
        seconds = audio_seconds(path, f"{path} ({where})")
    else:
        raise AudioError(f"{where}: no audio bytes, and its path {path!r} is not a file")
    return DatasetEntry(name, reference, seconds, path=path, row=row, data=data if keep_bytes else None)
