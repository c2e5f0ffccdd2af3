"""File-level verification of model weights: the expected files are there and each one is whole.

Nothing here loads a model. Checks are structural and cheap (headers, declared sizes, magic
numbers); content hashes are compared where the expected digest is known.
"""

from __future__ import annotations

import fnmatch
import json
import math
import struct
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from . import file_hash
from .formats import registry as formats


class CacheStatus(str, Enum):
    """State of one copy of a model (or of the best copy, for a row)."""

    COMPLETE = "complete"
    MISSING = "missing"
    INCOMPLETE = "incomplete"
    CORRUPT = "corrupt"
    NOT_APPLICABLE = "not-applicable"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class FilesVerdict:
    """What the file-level checks found in one location."""

    status: CacheStatus
    size_bytes: int = 0
    problems: tuple[str, ...] = ()


_SAFETENSORS_ITEM_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}
_MAX_SAFETENSORS_HEADER = 100 << 20


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


def check_safetensors(path: Path) -> str | None:
    """Parse the header (u64 little-endian length + JSON) and compare declared tensor bytes with the file."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        raw_length = handle.read(8)
        if len(raw_length) < 8:
            return f"truncated: {size} bytes, not even a safetensors header length"
        (header_length,) = struct.unpack("<Q", raw_length)
        if header_length > min(size - 8, _MAX_SAFETENSORS_HEADER):
            return f"truncated or not safetensors: header length {header_length} but file has {size} bytes"
        try:
            header = json.loads(handle.read(header_length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return "safetensors header is not valid JSON"
    if not isinstance(header, dict):
        return "safetensors header is not a JSON object"
    data_end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            begin, end = (int(x) for x in info["data_offsets"])
            shape, dtype = [int(x) for x in info["shape"]], str(info["dtype"])
        except (KeyError, TypeError, ValueError):
            return f"safetensors entry {name!r} lacks dtype/shape/data_offsets"
        item = _SAFETENSORS_ITEM_BYTES.get(dtype)
        if item is not None and end - begin != math.prod(shape) * item:
            return f"tensor {name!r} spans {end - begin} bytes but {dtype}{shape} needs {math.prod(shape) * item}"
        data_end = max(data_end, end)
    declared, actual = 8 + header_length + data_end, size
    if declared > actual:
        return f"truncated: header declares {_mb(declared)}, file has {_mb(actual)}"
    if declared < actual:
        return f"{actual - declared} unexpected bytes after the last tensor"
    return None


def check_json(path: Path) -> str | None:
    try:
        json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "not valid JSON"
    return None


def verify_file(name: str, path: Path, fmt: str) -> str | None:
    """The first problem of one file, or None: the format's own check of its files (see
    ``Format.file_checks``), else a check chosen by the file's name."""
    try:
        if path.stat().st_size == 0:
            return "empty file"
        if name.endswith(".safetensors"):
            return check_safetensors(path)
        known = formats.FORMATS.get(fmt)
        for pattern, check in known.file_checks if known else ():
            if fnmatch.fnmatch(name, pattern):
                return check(path)
        return _check_by_name(name, path)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"


def _check_by_name(name: str, path: Path) -> str | None:
    """Files a format does not check itself (a ggml file in a Hub repo, a torch .bin, an .onnx anywhere)."""
    if name.startswith("ggml-") and name.endswith(".bin"):
        from .formats.ggml import file_problem

        return file_problem(path)
    if name.endswith((".pt", ".npz")) or name == "pytorch_model.bin":
        from .formats.openai import check_zip_or_pickle

        return check_zip_or_pickle(path)
    if name.endswith(".onnx"):
        from .formats.onnx import check_onnx

        return check_onnx(path)
    if name.endswith(".json"):
        return check_json(path)
    return None


def _index_shards(path: Path) -> set[str]:
    try:
        weight_map = json.loads(path.read_text(encoding="utf-8")).get("weight_map", {})
        return {str(v) for v in weight_map.values()}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return set()


def _status(present: bool, corrupt: list[str], incomplete: list[str]) -> CacheStatus:
    if corrupt:
        return CacheStatus.CORRUPT
    if incomplete:
        return CacheStatus.INCOMPLETE
    return CacheStatus.COMPLETE if present else CacheStatus.MISSING


def verify_directory(
    fmt: str,
    files: Mapping[str, Path],
    *,
    broken: Collection[str] = (),
    blobs: Mapping[str, Path] | None = None,
    hash_large: bool = False,
) -> FilesVerdict:
    """Check a model directory given as {relative name: path}; ``broken`` names point nowhere.

    ``blobs`` maps names to Hub cache blobs, whose content must hash to their own name.
    """
    present = {name: path for name, path in files.items() if name not in broken}
    corrupt: list[str] = []
    incomplete: list[str] = []
    needed = [list(group) for group in formats.get(fmt).required_files]
    if "model.safetensors.index.json" in present:
        needed += [[shard] for shard in sorted(_index_shards(present["model.safetensors.index.json"]))]
    for group in needed:
        if not any(name in present for name in group) and not any(name in broken for name in group):
            incomplete.append(f"missing {' or '.join(group)}")
    incomplete += [f"{name}: blob missing (broken symlink)" for name in sorted(broken)]
    for name, path in sorted(present.items()):
        problem = verify_file(name, path, fmt)
        if problem is None and blobs and name in blobs:
            problem = file_hash.blob_name_mismatch(blobs[name], hash_large=hash_large)
        if problem:
            corrupt.append(f"{name}: {problem}")
    size = sum(path.stat().st_size for path in present.values())
    return FilesVerdict(_status(bool(present or broken), corrupt, incomplete), size, tuple(corrupt + incomplete))


def verify_single_file(
    fmt: str,
    path: Path | None,
    *,
    expected_sha256: str | None = None,
    blob: Path | None = None,
    broken: bool = False,
    hash_large: bool = False,
) -> FilesVerdict:
    """Check a one-file model (openai ``.pt``, ggml ``.bin``); sha256 is compared when known."""
    if broken:
        return FilesVerdict(CacheStatus.INCOMPLETE, 0, (f"{path.name if path else 'file'}: blob missing (broken symlink)",))
    if path is None or not path.is_file():
        return FilesVerdict(CacheStatus.MISSING)
    problem = verify_file(path.name, path, fmt)
    if problem is None and expected_sha256:
        actual = file_hash.sha256_file(path)
        if actual != expected_sha256:
            problem = f"sha256 {actual[:12]}… differs from the published {expected_sha256[:12]}…"
    if problem is None and blob is not None:
        problem = file_hash.blob_name_mismatch(blob, hash_large=hash_large)
    size = path.stat().st_size
    if problem:
        return FilesVerdict(CacheStatus.CORRUPT, size, (f"{path.name}: {problem}",))
    return FilesVerdict(CacheStatus.COMPLETE, size)
