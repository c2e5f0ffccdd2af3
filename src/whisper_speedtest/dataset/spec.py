"""What ``--dataset`` names, parsed into a frozen spec before anything is read.

Forms (docs/datasets-and-ray.md lists them too):
- ``clips.jsonl``: a JSONL manifest (``audio`` path, ``text`` reference);
- a folder of audio files (no references);
- ``hf:NAME[:CONFIG][:SPLIT]``: a dataset on the Hugging Face Hub (or in its cache), e.g.
  ``hf:openslr/librispeech_asr:clean:test``; one field after the name is the split;
- a ``save_to_disk`` folder, a ``.parquet`` file (or a folder of them, split by file and folder
  names as on the Hub: ``data/test-00000-of-00001.parquet``), or an audiofolder (audio files
  beside a ``metadata.csv``/``metadata.jsonl``): read through ``datasets``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError

MANIFEST = "manifest"
AUDIO_FILES = "audio files"
HUB = "hub"
DISK = "save_to_disk"
PARQUET = "parquet"
AUDIOFOLDER = "audiofolder"
THROUGH_DATASETS = (HUB, DISK, PARQUET, AUDIOFOLDER)
HUB_PREFIX = "hf:"
DEFAULT_SPLIT = "test"  # a Hub spec without a split reads this one (never every split)
TEXT_COLUMNS = ("text", "transcription", "sentence", "normalized_text")  # reference columns found by name, in this order


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset to read; ``audio_column``/``text_column``/``split`` are filled in once the set is opened."""

    kind: str
    location: str
    config: str | None = None
    split: str | None = None
    text_column: str | None = None
    audio_column: str | None = None
    streaming: bool = False

    @property
    def through_datasets(self) -> bool:
        return self.kind in THROUGH_DATASETS

    def describe(self) -> str:
        if self.kind == HUB:
            parts = [self.location, self.config, self.split]
            return HUB_PREFIX + ":".join(p for p in parts if p)
        return self.location + (f" [{self.split}]" if self.split else "")


def parse_spec(text: str, *, split: str | None = None, text_column: str | None = None, streaming: bool = False) -> DatasetSpec:
    """``--dataset`` (with ``--split``, ``--text-column``, ``--streaming``) as a spec; a missing local path raises."""
    if text.startswith(HUB_PREFIX):
        fields = text[len(HUB_PREFIX):].split(":")
        if not fields[0] or len(fields) > 3 or not all(fields):
            raise DatasetError(f"--dataset {text!r}: expected hf:NAME, hf:NAME:SPLIT or hf:NAME:CONFIG:SPLIT")
        name, config, spec_split = fields[0], (fields[1] if len(fields) == 3 else None), (fields[-1] if len(fields) > 1 else None)
        if spec_split and split and spec_split != split:
            raise DatasetError(f"--split {split} disagrees with the split in --dataset {text!r}")
        return DatasetSpec(HUB, name, config, spec_split or split or DEFAULT_SPLIT, text_column, None, streaming)
    path = Path(text)
    if not path.exists():
        raise DatasetError(f"dataset not found: {path}")
    kind = _local_kind(path)
    if streaming and kind not in (HUB, PARQUET, AUDIOFOLDER):
        raise DatasetError(f"--streaming applies to Hub, parquet and audiofolder sets, not to a {kind} ({path})")
    if split and kind in (MANIFEST, AUDIO_FILES):
        raise DatasetError(f"--split applies to sets read through datasets, not to a {kind} ({path})")
    if text_column and kind == AUDIO_FILES:
        raise DatasetError(f"--text-column: a folder of audio files has no columns ({path})")
    return DatasetSpec(kind, str(path), None, split, text_column, None, streaming)


def _local_kind(path: Path) -> str:
    if path.is_file():
        if path.suffix.lower() == ".parquet":
            return PARQUET
        return MANIFEST
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return DISK
    if any(path.glob("*.parquet")) or any(path.glob("*/*.parquet")):
        return PARQUET
    if any(path.glob("metadata.csv")) or any(path.glob("metadata.jsonl")) or any(path.glob("*/metadata.*")):
        return AUDIOFOLDER
    return AUDIO_FILES
