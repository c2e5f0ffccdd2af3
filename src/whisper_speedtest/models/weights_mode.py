"""Which copy of the weights a backend runs: the one vocabulary of ``--weights``."""

from __future__ import annotations

from enum import Enum


class WeightsMode(str, Enum):
    """``SAME``: one shared copy, converted and fingerprinted, for every backend (the default).
    ``NATIVE``: each backend's usual download (mlx-community's quantized repos for MLX, ...).

    A ``str`` enum, so a mode compares equal to its spelling and goes into JSON as it is.
    """

    SAME = "same"
    NATIVE = "native"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def spellings(cls) -> tuple[str, ...]:
        return tuple(mode.value for mode in cls)
