"""openai-whisper checkpoints: a torch ``.pt`` holding ``{"dims": {...}, "model_state_dict": {...}}``.

Canonical names *are* openai-whisper's names, so this format needs no renaming.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from pathlib import Path

import numpy as np

from ...errors import ModelFormatError
from .dims import Dims
from .canonical import Weights, to_canonical_dtype, validate


def _torch():
    try:
        import torch
    except ImportError:
        raise ModelFormatError(
            "the openai-whisper format needs torch: pip install whisper-speedtest[openai-whisper]"
        ) from None
    return torch


def write_openai(tensors: dict[str, np.ndarray], dims: Dims, out_path: str | os.PathLike) -> Path:
    """Save a checkpoint that ``whisper.load_model(path)`` and ``torch.load(weights_only=True)`` accept."""
    torch = _torch()
    validate(tensors, dims)
    state = {name: torch.from_numpy(np.array(value, dtype=np.float16)) for name, value in tensors.items()}
    out_path = Path(out_path)
    torch.save({"dims": dataclasses.asdict(dims), "model_state_dict": state}, out_path)
    return out_path


def read_openai(path: str | os.PathLike) -> Weights:
    """Load an openai-whisper checkpoint (safely: ``weights_only=True``) as canonical tensors."""
    torch = _torch()
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: no such openai-whisper checkpoint") from None
    except Exception as exc:  # torch raises many types for corrupt archives
        raise ModelFormatError(f"{path}: not a loadable openai-whisper checkpoint ({type(exc).__name__})") from None
    if not isinstance(checkpoint, dict) or not {"dims", "model_state_dict"} <= set(checkpoint):
        raise ModelFormatError(f"{path}: checkpoint lacks 'dims' and 'model_state_dict'")
    try:
        dims = Dims(**{f.name: int(checkpoint["dims"][f.name]) for f in dataclasses.fields(Dims)})
    except (KeyError, TypeError, ValueError):
        raise ModelFormatError(f"{path}: checkpoint 'dims' is incomplete") from None
    state = checkpoint["model_state_dict"]
    tensors = to_canonical_dtype({name: value.to(torch.float16).numpy() for name, value in state.items()})
    validate(tensors, dims)
    return Weights(tensors, dims)


def detect_openai(path: Path) -> bool:
    return path.is_file() and path.suffix == ".pt"


def write_converted(source, out_path: Path) -> None:
    """Writer from a :class:`.source.ConversionSource`."""
    write_openai(source.tensors, source.dims, out_path)


def check_zip_or_pickle(path: Path) -> str | None:
    """torch checkpoints and .npz are zip archives (the end record goes missing when truncated);
    every member must lie before the central directory."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.header_offset + info.compress_size > archive.start_dir:
                    return f"zip member {info.filename} runs past the archive's directory"
        return None
    except zipfile.BadZipFile:
        pass
    with open(path, "rb") as handle:
        if handle.read(1) == b"\x80" and path.suffix != ".npz":
            return None  # legacy (pre-zip) torch pickle: nothing cheap to check
    return "not a complete zip archive (truncated or corrupt)"
