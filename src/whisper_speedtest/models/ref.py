"""The weights a backend is asked to load, as the model layer found them on disk."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelRef:
    """The weights a backend is asked to load, already located on disk by the model layer."""

    name: str
    format: str
    path: str | None
    dtype: str = "float16"
    fingerprint: str | None = None
    source: str | None = None
    synthetic: bool = False
