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
