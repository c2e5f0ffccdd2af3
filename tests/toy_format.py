"""A weight format written only for tests/test_formats_registry.py: canonical tensors and dims in one .npz file.

It is the whole of what adding a format takes besides its registry entry: a writer, a reader, a detector.
"""

import dataclasses
from pathlib import Path

import numpy as np

from whisper_speedtest.models.formats.canonical import Weights
from whisper_speedtest.models.formats.dims import Dims

SUFFIX = ".toy"
_DIMS = "__dims__"


def write(source, out_path: Path) -> None:
    with open(out_path, "wb") as handle:  # a handle: np.savez would add ".npz" to a name
        np.savez(handle, **source.tensors, **{_DIMS: np.array(dataclasses.astuple(source.dims))})


def read(path: Path) -> Weights:
    with np.load(path) as archive:
        tensors = {name: archive[name] for name in archive.files if name != _DIMS}
        dims = Dims(*(int(v) for v in archive[_DIMS]))
    return Weights(tensors, dims)


def detect(path: Path) -> bool:
    return path.is_file() and path.suffix == SUFFIX


def quantize(base_path: Path, dtype: str, out_path: Path) -> str:
    """The stored ``int8`` variant: each float tensor rounded to 255 levels of its own scale (kept dequantized)."""
    from whisper_speedtest.models.formats.canonical import fingerprint

    assert dtype == "int8", dtype
    base = read(base_path)
    tensors = {}
    for name, values in base.tensors.items():
        scale = float(np.abs(values).max()) / 127 if values.dtype.kind == "f" and values.size else 0.0
        tensors[name] = (np.round(values / scale) * scale).astype(values.dtype) if scale else values
    write(Weights(tensors, base.dims), out_path)
    return fingerprint(tensors)
