"""What crosses the process boundary: the job a benchmark child is given, and what it sends back.

Both are frozen and picklable. The backend travels as its class: pickle sends it by reference
(module and qualified name), and a spawned child starts with its parent's ``sys.path``, so a
third-party backend found through an entry point imports there as it did in the parent. A child in a
managed environment (``environments.spawn``) keeps that interpreter's own ``sys.path`` instead: there the
classes import from the same whisper-speedtest (the same version, or the same source tree), never half-compatible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..audio import SAMPLE_RATE, AudioClip
from ..backends.base import Backend, LoadOptions, LoadResult, ModelRef
from ..backends.loader import VariantPlan
from ..dataset.entries import DatasetSelection
from ..results import DecodeOptions, RegionCost
from .dataset_pass import DatasetPass
from .run_policy import RunPolicy


@dataclass(frozen=True)
class WorkerJob:
    """Everything the child needs; clips are already decoded to 16 kHz float32."""

    backend: type[Backend]
    variant: VariantPlan
    load_options: LoadOptions
    decode: DecodeOptions = field(default_factory=DecodeOptions)
    clips: tuple[AudioClip, ...] = ()
    policy: RunPolicy = field(default_factory=lambda: RunPolicy(exact=0))
    warmup: int = 0
    measure_warm_load: bool = True
    dataset: DatasetSelection | None = None  # dataset mode: clips decoded in the child, in batches
    batch_size: int = 1

    @classmethod
    def load_only(cls, backend: type[Backend], model: ModelRef) -> WorkerJob:
        """A job that loads ``model`` once and transcribes nothing (``check-models --deep``)."""
        return cls(backend, VariantPlan("default", model, model), LoadOptions(), measure_warm_load=False)

    @property
    def audio_s(self) -> float:
        """Seconds of audio in one pass over the clips."""
        return sum(len(c.samples) for c in self.clips) / SAMPLE_RATE


@dataclass(frozen=True)
class WorkerResult:
    """What the child measured; the parent turns it into a row (``rows.assemble_row``)."""

    load_s: float  # the cold load, imports included
    load: LoadResult
    texts: tuple[str | None, ...]  # one per clip (dataset mode: per entry, None where it failed)
    params: dict[str, Any]
    packages: dict[str, str]
    peak_rss: int  # bytes
    peak_vram: int | None = None  # bytes
    times: tuple[tuple[float, ...], ...] = ()  # per clip, its timed runs
    runs_note: str = ""
    warm_load_s: float | None = None
    dataset: DatasetPass | None = None
    cost: RegionCost | None = None
    load_cost: RegionCost | None = None


@dataclass(frozen=True)
class WorkerFailure:
    """An exception in the child, as a one-line reason for the row and the traceback for --debug."""

    reason: str
    traceback: str = ""
