"""Sets read through the Hugging Face ``datasets`` library: the Hub (and its cache), ``save_to_disk``
folders, parquet files and audiofolders.

``datasets`` finds, downloads, caches (``HF_DATASETS_CACHE``, ``HF_HOME``) and streams the rows, and
its ``Audio`` feature resolves each row's audio to encoded bytes or a file path (``decode=False``).
The samples are decoded by :mod:`whisper_speedtest.audio` (libsndfile, soxr to 16 kHz), as for every
other set: ``datasets`` 4 and later decode through torchcodec, which needs FFmpeg's shared libraries,
and one decoder everywhere means one set gives the same samples whatever form it is stored in.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import DatasetError, UserError
from .entries import DatasetEntry, DatasetSelection, SampleLimits, choose, entry_from_audio, sample_note, take_in_order
from .spec import DISK, HUB, PARQUET, TEXT_COLUMNS, DatasetSpec

INSTALL_HINT = "pip install 'whisper-speedtest[datasets]'"


def require_datasets(spec: DatasetSpec) -> None:
    if importlib.util.find_spec("datasets") is None:
        raise DatasetError(f"--dataset {spec.describe()} is read through the datasets library, which is not installed: {INSTALL_HINT}")


def _one_line(exc: BaseException) -> str:
    """The first line of ``exc``, and of its cause where it has one ("An error occurred while generating ..." alone says little)."""

    def first(e: BaseException) -> str:
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__

    text = first(exc) + (f" ({type(exc.__cause__).__name__}: {first(exc.__cause__)})" if exc.__cause__ is not None else "")
    return text[:300]


def _load(spec: DatasetSpec, split: str | None):
    """The set (one split, or a dict of splits when ``split`` is None) as ``datasets`` gives it."""
    import datasets

    try:
        if spec.kind == DISK:
            loaded = datasets.load_from_disk(spec.location)
            return loaded[split] if split is not None and isinstance(loaded, datasets.DatasetDict) else loaded
        if spec.kind == PARQUET and Path(spec.location).is_file():
            return datasets.load_dataset("parquet", data_files=[spec.location], split=split, streaming=spec.streaming)
        # a Hub name, or a local folder of parquet files or an audiofolder: splits from the file and folder names, as on the Hub
        return datasets.load_dataset(spec.location, spec.config, split=split, streaming=spec.streaming)
    except KeyError:
        raise DatasetError(f"dataset {spec.describe()} has no split {split!r}") from None
    except Exception as exc:  # DatasetNotFoundError, FileNotFoundError, ValueError (unknown split or config), offline
        raise DatasetError(f"cannot load dataset {spec.describe()}: {_one_line(exc)}") from None


def open_split(spec: DatasetSpec):
    """One split of the set: the one named, else ``test`` when there is one, else the only one."""
    require_datasets(spec)
    if spec.split is not None or spec.kind == HUB:
        return _load(spec, spec.split), spec.split
    loaded = _load(spec, None)
    if not hasattr(loaded, "keys"):
        return loaded, None
    names = list(loaded.keys())
    if len(names) == 1:
        return loaded[names[0]], names[0]
    if "test" in names:
        return loaded["test"], "test"
    raise DatasetError(f"dataset {spec.describe()} has splits {', '.join(names)}: choose one with --split")


def _columns(table) -> list[str]:
    names = table.column_names
    if names is None and table.features is not None:
        names = list(table.features)
    return list(names or [])


def audio_column(table, spec: DatasetSpec) -> str:
    """The column with the ``Audio`` feature (or named ``audio``)."""
    import datasets

    features = table.features or {}
    typed = [name for name, feature in features.items() if isinstance(feature, datasets.Audio)]
    if len(typed) >= 1:
        return typed[0]
    if "audio" in _columns(table):
        feature = features.get("audio")
        if isinstance(feature, datasets.Value):  # numbers or text: neither encoded audio nor a {bytes, path} pair
            raise DatasetError(f"dataset {spec.describe()}: column 'audio' holds {feature.dtype} values, not audio (bytes or a path per row)")
        return "audio"
    raise DatasetError(f"dataset {spec.describe()} has no audio column (columns: {', '.join(_columns(table)) or 'none'})")


def text_column(table, spec: DatasetSpec) -> str | None:
    """``--text-column`` when given (it must exist), else the first of text, transcription, sentence, normalized_text."""
    columns = _columns(table)
    if spec.text_column is not None:
        if spec.text_column not in columns:
            raise DatasetError(f"dataset {spec.describe()} has no column {spec.text_column!r} (columns: {', '.join(columns)})")
        return spec.text_column
    return next((name for name in TEXT_COLUMNS if name in columns), None)


def _reference(record: dict[str, Any], column: str | None, where: str) -> str | None:
    if column is None or record.get(column) is None:
        return None
    value = record[column]
    if not isinstance(value, str):
        raise DatasetError(f"{where}: reference column {column!r} holds {type(value).__name__}, not text")
    return value or None


def select_rows(spec: DatasetSpec, limits: SampleLimits) -> DatasetSelection:
    """Open the set, find its columns, and choose the clips (headers read, audio left encoded).

    What ``datasets`` and pyarrow print meanwhile (log lines, progress bars, C++ messages) is held back: shown
    after a success, kept in the error's ``details`` (printed with ``--debug``) after a failure, so the failure
    is one line. Any library exception becomes a ``DatasetError``.
    """
    from .library_output import held_back

    with held_back(UserError):
        try:
            return _select_rows(spec, limits)
        except UserError:  # ours already: an AudioError naming the clip, a DatasetError
            raise
        except Exception as exc:  # pyarrow's ArrowNotImplementedError (an int "audio" column), ArrowInvalid, OSError
            raise DatasetError(f"cannot read dataset {spec.describe()}: {_one_line(exc)}") from None


def _select_rows(spec: DatasetSpec, limits: SampleLimits) -> DatasetSelection:
    table, split = open_split(spec)  # first: it says so in one line when datasets is missing
    import datasets

    audio, text = audio_column(table, spec), text_column(table, spec)
    wanted = [audio] + ([text] if text else [])
    table = table.select_columns(wanted).cast_column(audio, datasets.Audio(decode=False))
    resolved = replace(spec, split=split, audio_column=audio, text_column=text)

    def entry(record: dict[str, Any], row: int) -> DatasetEntry:
        where = f"{resolved.describe()} row {row}"
        return entry_from_audio(record[audio], _reference(record, text, where), None if spec.streaming else row, where,
                                keep_bytes=spec.streaming)

    if spec.streaming:
        entries = take_in_order((entry(record, row) for row, record in enumerate(table)), limits)
        total = None
    else:
        entries = choose(len(table), lambda row: entry(table[row], row), limits)
        total = len(table)
    if not entries:
        raise DatasetError(f"dataset {resolved.describe()} has no clips")
    return DatasetSelection(resolved, entries, total, sample_note(len(entries), total, limits))


def audio_rows(spec: DatasetSpec):
    """In the worker: row number -> the row's undecoded audio (``{"bytes", "path"}``)."""
    import datasets

    table, _ = open_split(spec)
    column = table.select_columns([spec.audio_column]).cast_column(spec.audio_column, datasets.Audio(decode=False))
    return lambda row: column[row][spec.audio_column]
