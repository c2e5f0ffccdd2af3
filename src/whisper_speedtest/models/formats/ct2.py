"""CTranslate2 ``model.bin`` (the faster-whisper format): a bounds-checked reader.

Layout (``ctranslate2/specs/model_spec.py``, binary version 6, little-endian)::

    u32 binary_version
    str spec_name, u32 spec_revision          # str = u16 length (incl. NUL), bytes, NUL
    u32 n_variables, then per variable:
        str name, u8 rank, u32 dims[rank], u8 dtype_id, u32 n_bytes, n_bytes of data
    u32 n_aliases, then per alias: str alias, str target

Every read is checked against the file size, so a truncated or corrupted file raises
:class:`~whisper_speedtest.errors.ModelFormatError` with one clear line.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ...errors import ModelFormatError
from .binary import Cursor, map_file, problem_of

SUPPORTED_BINARY_VERSIONS = (6,)
# Order of the DataType enum in ctranslate2 (include/ctranslate2/types.h).
DTYPE_NAMES = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_ITEM_SIZE = {"float32": 4, "int8": 1, "int16": 2, "int32": 4, "float16": 2, "bfloat16": 2}
_NUMPY_DTYPE = {"float32": "<f4", "int8": "i1", "int16": "<i2", "int32": "<i4", "float16": "<f2", "bfloat16": "<u2"}
_MAX_RANK = 8
_MIN_VARIABLE_BYTES = 2 + 1 + 1 + 1 + 4  # empty name, rank, dtype, n_bytes


@dataclass(frozen=True)
class Ct2Variable:
    """One entry of the variable table: where its data lies in the file."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # one of DTYPE_NAMES
    offset: int
    nbytes: int


@dataclass(frozen=True)
class Ct2Header:
    """The variable table of a model.bin, read without touching the tensor data."""

    path: Path
    binary_version: int
    spec_name: str
    spec_revision: int
    variables: tuple[Ct2Variable, ...]
    aliases: dict[str, str]
    file_size: int

    @property
    def data_bytes(self) -> int:
        return sum(v.nbytes for v in self.variables)


@dataclass(frozen=True)
class Ct2Model:
    """A parsed model.bin: raw variables (int8 stays int8) plus config.json, if present."""

    path: Path
    spec_name: str
    spec_revision: int
    binary_version: int
    config: dict
    variables: dict[str, np.ndarray]
    aliases: dict[str, str]

    def get(self, name: str) -> np.ndarray:
        """The raw array stored under ``name`` (aliases resolved)."""
        key = self.aliases.get(name, name)
        if key not in self.variables:
            raise ModelFormatError(f"{self.path}: no variable {name!r} in model.bin; not a complete model")
        return self.variables[key]

    def has(self, name: str) -> bool:
        return self.aliases.get(name, name) in self.variables

    def float_weight(self, name: str) -> np.ndarray:
        """``name`` as a float array; int8/int16 weights are dequantized with their ``*_scale``."""
        name = self.aliases.get(name, name)
        value = self.get(name)
        if value.dtype in (np.float16, np.float32):
            return value
        if self.has(f"{name}_zero"):
            raise ModelFormatError(f"{self.path}: {name} uses zero-point quantization, which is not supported")
        if value.dtype not in (np.int8, np.int16):
            raise ModelFormatError(f"{self.path}: {name} has dtype {value.dtype}, expected a float or int8 weight")
        if not self.has(f"{name}_scale"):
            raise ModelFormatError(f"{self.path}: quantized {name} has no {name}_scale")
        scale = self.get(f"{name}_scale").astype(np.float32)
        if scale.ndim == 1 and scale.shape[0] == value.shape[0]:
            scale = scale.reshape((-1,) + (1,) * (value.ndim - 1))
        elif scale.size != 1:
            raise ModelFormatError(f"{self.path}: {name}_scale has shape {scale.shape}, not one per row of {name}")
        return value.astype(np.float32) / scale


def _string(cur: Cursor, what: str) -> str:
    """A CTranslate2 string: u16 length including the NUL, the bytes, a NUL."""
    length = cur.unpack("<H", f"length of {what}")
    if length == 0:
        raise cur.error(f"{what} at offset {cur.pos - 2} has length 0")
    raw = cur.raw(length, what)
    if raw[-1] != 0:
        raise cur.error(f"{what} at offset {cur.pos - length} is not NUL-terminated")
    try:
        return raw[:-1].decode("utf-8")
    except UnicodeDecodeError:
        raise cur.error(f"{what} at offset {cur.pos - length} is not UTF-8") from None


def resolve_model_bin(path: str | os.PathLike) -> Path:
    """``path`` itself, or ``path/model.bin`` for a model directory."""
    path = Path(path)
    model_bin = path / "model.bin" if path.is_dir() else path
    if not model_bin.is_file():
        raise ModelFormatError(f"{model_bin}: no such CTranslate2 model.bin")
    return model_bin


def _parse_table(buf, size: int, path: Path) -> Ct2Header:
    cur = Cursor(buf, size, path, "model.bin")
    version = cur.unpack("<I", "binary version")
    if version not in SUPPORTED_BINARY_VERSIONS:
        raise ModelFormatError(
            f"{path}: not a supported CTranslate2 model.bin (binary version {version}, "
            f"expected {', '.join(map(str, SUPPORTED_BINARY_VERSIONS))})"
        )
    spec_name = _string(cur, "spec name")
    spec_revision = cur.unpack("<I", "spec revision")
    n_variables = cur.unpack("<I", "variable count")
    if n_variables * _MIN_VARIABLE_BYTES > size - cur.pos:
        raise cur.error(f"{n_variables} variables cannot fit in {size} bytes")
    variables: list[Ct2Variable] = []
    seen: set[str] = set()
    for index in range(n_variables):
        variables.append(_parse_variable(cur, index))
        if variables[-1].name in seen:
            raise cur.error(f"variable {variables[-1].name!r} appears twice")
        seen.add(variables[-1].name)
    aliases: dict[str, str] = {}
    n_aliases = cur.unpack("<I", "alias count")
    for index in range(n_aliases):
        alias = _string(cur, f"alias #{index}")
        target = _string(cur, f"target of alias {alias!r}")
        if target not in seen:
            raise cur.error(f"alias {alias!r} points to unknown {target!r}")
        aliases[alias] = target
    if cur.pos != size:
        raise cur.error(f"{size - cur.pos} unexpected bytes after the variable table (ends at byte {cur.pos})")
    return Ct2Header(path, version, spec_name, spec_revision, tuple(variables), aliases, size)


def _parse_variable(cur: Cursor, index: int) -> Ct2Variable:
    name = _string(cur, f"name of variable #{index}")
    rank = cur.unpack("<B", f"rank of {name}")
    if rank > _MAX_RANK:
        raise cur.error(f"{name} has rank {rank}")
    shape = tuple(cur.unpack("<I", f"shape of {name}") for _ in range(rank))
    dtype_id = cur.unpack("<B", f"dtype of {name}")
    if dtype_id >= len(DTYPE_NAMES):
        raise cur.error(f"{name} has unknown dtype id {dtype_id}")
    dtype = DTYPE_NAMES[dtype_id]
    nbytes = cur.unpack("<I", f"byte count of {name}")
    expected = math.prod(shape) * _ITEM_SIZE[dtype]
    if nbytes != expected:
        raise cur.error(f"{name} declares {nbytes} bytes but shape {list(shape)} of {dtype} needs {expected}")
    offset = cur.take(nbytes, f"data of {name}")
    return Ct2Variable(name, shape, dtype, offset, nbytes)


def check_ct2_header(path: str | os.PathLike) -> Ct2Header:
    """Read only the variable table and check that the file size matches it exactly.

    Cheap (tensor data pages are never touched), so it suits cache verification.
    """
    model_bin = resolve_model_bin(path)
    return _check_table(model_bin, label=model_bin)


def _check_table(model_bin: Path, label: Path) -> Ct2Header:
    buf, size = map_file(model_bin)
    try:
        return _parse_table(buf, size, label)
    finally:
        if isinstance(buf, mmap.mmap):
            buf.close()


def _read_config(model_bin: Path) -> dict:
    config_path = model_bin.parent / "config.json"
    if not config_path.is_file():
        return {}
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{config_path}: unreadable config.json ({exc})") from None
    if not isinstance(config, dict):
        raise ModelFormatError(f"{config_path}: config.json is not a JSON object")
    return config


def _array(buf, var: Ct2Variable) -> np.ndarray:
    count = var.nbytes // _ITEM_SIZE[var.dtype]
    data = np.frombuffer(buf, dtype=_NUMPY_DTYPE[var.dtype], count=count, offset=var.offset).reshape(var.shape)
    if var.dtype == "bfloat16":  # numpy has no bfloat16: widen the bits to float32
        data = (data.astype(np.uint32) << 16).view(np.float32)
    return data


def read_ct2(path: str | os.PathLike) -> Ct2Model:
    """Parse a model.bin (or a directory holding one, plus its config.json).

    Arrays are read-only views of a memory map, so large models cost no extra memory.
    """
    model_bin = resolve_model_bin(path)
    buf, size = map_file(model_bin)
    try:
        header = _parse_table(buf, size, model_bin)
    except ModelFormatError:
        if isinstance(buf, mmap.mmap):
            buf.close()
        raise
    variables = {var.name: _array(buf, var) for var in header.variables}
    return Ct2Model(
        path=model_bin,
        spec_name=header.spec_name,
        spec_revision=header.spec_revision,
        binary_version=header.binary_version,
        config=_read_config(model_bin),
        variables=variables,
        aliases=dict(header.aliases),
    )


def reassemble_parts(parts: Sequence[str | os.PathLike], out: str | os.PathLike) -> Ct2Header:
    """Concatenate split ``model.bin`` parts into ``out`` atomically, then validate the result.

    On any failure (missing part, short part, invalid table) ``out`` is left as it was and no
    temporary file remains.
    """
    out = Path(out)
    part_paths = [Path(p) for p in parts]
    if not part_paths:
        raise ModelFormatError(f"{out}: no parts given to reassemble")
    missing = [str(p) for p in part_paths if not p.is_file()]
    if missing:
        raise ModelFormatError(f"{out}: cannot reassemble, missing part(s): {', '.join(missing)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as dst:
            for part in part_paths:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, dst, length=16 << 20)
        header = _check_table(tmp, label=out)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return replace(header, path=out)


# ---------------------------------------------------------------- the format registry's hooks
CT2_SIDECARS = ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json", "preprocessor_config.json")
_GGML_SIZED_VERSION = 1 << 16  # a binary version this large is another format's magic (ggml's "ggml")


def file_problem(path: Path) -> str | None:
    """The cheap check of a model.bin (its header and variable table), as a problem line or None."""
    return problem_of(check_ct2_header, path)


def detect_ct2(path: Path) -> bool:
    """A folder with ``model.bin``, or a ``model.bin`` file that is not another format's."""
    if path.is_dir():
        return (path / "model.bin").is_file()
    if path.name != "model.bin":
        return False
    with open(path, "rb") as handle:
        head = handle.read(4)
    return len(head) < 4 or int.from_bytes(head, "little") < _GGML_SIZED_VERSION


def copy_ct2(source, out_dir: Path) -> None:
    """Writer for ct2 from a :class:`.source.ConversionSource`: copy model.bin (validated) and its sidecar files."""
    model_bin = source.model_bin
    check_ct2_header(model_bin)
    out_dir.mkdir(exist_ok=True)
    shutil.copyfile(model_bin, out_dir / "model.bin")
    check_ct2_header(out_dir / "model.bin")
    for name in CT2_SIDECARS:
        if (model_bin.parent / name).is_file():
            shutil.copyfile(model_bin.parent / name, out_dir / name)
