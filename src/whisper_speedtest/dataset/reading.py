"""Choosing a dataset's clips up front (headers only), and decoding them later, in the worker.

Manifests and folders of audio are read here; sets in ``datasets``' formats by :mod:`.hf`, which
``datasets`` is imported by only when such a set is named.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..audio import audio_files_in, audio_seconds, manifest_pairs, read_audio, read_audio_bytes
from ..errors import AudioError
from .entries import DatasetEntry, DatasetSelection, SampleLimits, choose, sample_note
from .hf import audio_rows, select_rows
from .spec import AUDIO_FILES, DatasetSpec


def manifest_selection(path: str | Path) -> DatasetSelection:
    """Every clip of a JSONL manifest (or folder of audio), as ``--dataset PATH`` reads it."""
    from .spec import parse_spec

    return select(parse_spec(str(path)))


def select(spec: DatasetSpec, limits: SampleLimits = SampleLimits()) -> DatasetSelection:
    """The clips of ``spec`` within ``limits``; a missing set, column or unreadable clip raises one line."""
    if spec.through_datasets:
        return select_rows(spec, limits)
    source = Path(spec.location)
    pairs = [(f, None) for f in audio_files_in(source)] if spec.kind == AUDIO_FILES else manifest_pairs(source)

    def probe(index: int) -> DatasetEntry:
        path, reference = pairs[index]
        if not path.is_file():
            raise AudioError(f"audio file not found: {path}")
        return DatasetEntry(path.name, reference, audio_seconds(str(path), str(path)), path=str(path))

    entries = choose(len(pairs), probe, limits)
    return DatasetSelection(spec, entries, len(pairs), sample_note(len(entries), len(pairs), limits))


class ClipReader:
    """Decodes entries to float32 mono 16 kHz in the worker; opens a datasets table once, lazily."""

    def __init__(self, spec: DatasetSpec | None) -> None:
        self._spec = spec
        self._rows = None
        self._opening = threading.Lock()

    def __call__(self, entry: DatasetEntry) -> np.ndarray:
        if entry.data is not None:
            return read_audio_bytes(entry.data, entry.name)[0]
        if entry.row is not None:
            record = self._record_of()(entry.row)
            if record.get("bytes"):
                return read_audio_bytes(record["bytes"], entry.name)[0]
        return read_audio(entry.path)[0]

    def _record_of(self):
        with self._opening:
            if self._rows is None:
                self._rows = audio_rows(self._spec)
        return self._rows
