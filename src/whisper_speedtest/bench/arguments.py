"""What a caller asks a benchmark for, before any checking: every default, and every check.

The command line, the Python API (``whisper_speedtest.benchmark``) and the ``benchmarks/`` scripts
all fill one :class:`BenchmarkArguments` and turn it into a request with
:meth:`~whisper_speedtest.bench.request.BenchmarkRequest.build`. A check names the value by its
command-line flag, through :data:`FLAGS`, so the command's one-line errors and the Python API's
exceptions say the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from ..errors import BadOption, check_seconds
from ..models.catalog import DEFAULT_MODEL
from ..models.weights_mode import WeightsMode
from .run_policy import DEFAULT_BUDGET_S

if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..dataset.entries import DatasetSelection
    from .ray_driver import RaySettings

DEFAULT_TIMEOUT_S = 900.0  # per backend: load and every run
DEFAULT_DATASET_BATCH = 16
DEVICES = ("auto", "cpu", "cuda", "mps")

BackendName = Union[str, "type[Backend]"]


@dataclass(frozen=True)
class BenchmarkArguments:
    """One benchmark as asked for. ``backends`` empty: every registered one; ``runs`` None: as many as
    ``budget`` seconds allow; ``dataset`` None: the clips given to the request."""

    model: str = DEFAULT_MODEL
    backends: tuple[BackendName, ...] = ()
    runs: int | None = None
    budget: float = DEFAULT_BUDGET_S
    warmup: int = 1
    language: str = "en"
    beam_size: int = 1
    previous_text: bool = True
    quant: tuple[str, ...] = ()
    fallback: bool = True
    device: str = "auto"
    threads: int | None = None
    timeout: float = DEFAULT_TIMEOUT_S
    dataset: str | None = None
    split: str | None = None
    text_column: str | None = None
    streaming: bool = False
    max_clips: int | None = None
    max_hours: float | None = None
    batch_size: int | None = None
    synthetic: bool = False
    synthetic_tokens: int = 40
    cuda_graphs: bool = True
    graph_speedups: tuple[str, ...] = ()  # Python only (no flag): graph-decoder GraphSpeedup names (benchmarks/gpu.py)
    price_per_hour: float | None = None
    ray: bool = False
    ray_address: str | None = None
    ray_actors: int | None = None
    ray_cpus_per_actor: int = 1
    ray_decoders: int | None = None  # Python only (no flag): CPU decoder actors, default two per model actor
    weights: WeightsMode | str = WeightsMode.SAME


DEFAULTS = BenchmarkArguments()

# The one field-to-flag map: every message about a field names the flag a command-line user types.
FLAGS: dict[str, str] = {
    "model": "--model", "backends": "--backends", "runs": "--runs", "budget": "--budget", "warmup": "--warmup",
    "language": "--language", "beam_size": "--beam-size", "previous_text": "--previous-text", "quant": "--quant",
    "fallback": "--fallback", "device": "--device", "threads": "--threads", "timeout": "--timeout",
    "dataset": "--dataset", "split": "--split", "text_column": "--text-column", "streaming": "--streaming",
    "max_clips": "--max-clips", "max_hours": "--max-hours", "batch_size": "--batch-size",
    "synthetic": "--synthetic-weights", "synthetic_tokens": "--synthetic-tokens", "cuda_graphs": "--cuda-graphs",
    "price_per_hour": "--price-per-hour", "ray": "--ray", "ray_address": "--ray-address", "ray_actors": "--ray-actors",
    "ray_cpus_per_actor": "--ray-cpus-per-actor", "ray_decoders": "ray_decoders", "weights": "--weights",
    "graph_speedups": "graph_speedups",
}
PYTHON_ONLY = frozenset({"ray_decoders", "graph_speedups"})  # no flag: the message names the field


def _at_least_one(field: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise BadOption(f"{FLAGS[field]} must be at least 1 (got {value})")


def check_weights(value: WeightsMode | str) -> WeightsMode:
    """``--weights``: one of :class:`WeightsMode`'s spellings."""
    try:
        return WeightsMode(value)
    except ValueError:
        raise BadOption(f"{FLAGS['weights']} must be {' or '.join(WeightsMode.spellings())} (got {value!r})") from None


def check_language(language: str, model_name: str) -> None:
    """``auto`` or a code Whisper knows; English-only models take only ``en``."""
    from ..models import catalog

    flag = FLAGS["language"]
    if language == "auto" or language in catalog.WHISPER_LANGUAGES:
        if catalog.get(model_name).english_only and language not in ("en", "auto"):
            raise BadOption(f"{model_name} is English-only: {flag} must be en (got {language!r})")
        return
    raise BadOption(f"{flag} must be 'auto' or a Whisper language code such as en, de, fr, zh (got {language!r})")


def check_price(price: float | None) -> None:
    """``--price-per-hour``: a finite positive amount, or not given."""
    if price is not None and not (math.isfinite(price) and price > 0):
        raise BadOption(f"{FLAGS['price_per_hour']} must be a positive amount per machine hour (got {price:g})")


def check_counts(a: BenchmarkArguments) -> WeightsMode:
    """The numbers, the device and the weights mode (returned as its enum): nothing read, nothing imported."""
    if a.runs is not None and a.runs < 1:
        raise BadOption(f"{FLAGS['runs']} must be a positive integer (got {a.runs})")
    check_seconds(FLAGS["budget"], a.budget)
    if a.warmup < 0:
        raise BadOption(f"{FLAGS['warmup']} must be zero or more (got {a.warmup})")
    _at_least_one("beam_size", a.beam_size)
    check_seconds(FLAGS["timeout"], a.timeout)
    check_price(a.price_per_hour)
    check_threads(a.threads)
    weights = check_weights(a.weights)
    if weights is WeightsMode.NATIVE and a.synthetic:
        raise BadOption(f"{FLAGS['weights']} {weights.value} runs each backend's own download: it does not combine with "
                        f"{FLAGS['synthetic']}")
    if a.device not in DEVICES:
        raise BadOption(f"{FLAGS['device']} must be one of {', '.join(DEVICES)} (got {a.device!r})")
    return weights


def check_threads(threads: int | None) -> None:
    """Threads: at least 1, at most the machine's logical CPUs (more only slows every backend down)."""
    import os

    cpus = os.cpu_count() or 1
    _at_least_one("threads", threads)
    if threads is not None and threads > cpus:
        raise BadOption(f"{FLAGS['threads']} {threads} is more than the {cpus} logical CPU(s) of this machine")


def check_dataset_only(a: BenchmarkArguments) -> None:
    """Options that shape a dataset need one."""
    given = [FLAGS[field] for field, value in (("split", a.split), ("text_column", a.text_column), ("streaming", a.streaming or None),
                                               ("max_clips", a.max_clips), ("max_hours", a.max_hours)) if value is not None]
    if given and not a.dataset:
        raise BadOption(f"{', '.join(given)} applies to {FLAGS['dataset']} only")


def ray_settings(a: BenchmarkArguments) -> RaySettings | None:
    """``ray``/``ray_address`` as settings, or None; Ray must be installed and a dataset given."""
    if not (a.ray or a.ray_address):
        if a.ray_actors is not None or a.ray_cpus_per_actor != 1 or a.ray_decoders is not None:
            raise BadOption(f"{FLAGS['ray_actors']} and {FLAGS['ray_cpus_per_actor']} apply with {FLAGS['ray']} or {FLAGS['ray_address']} only")
        return None
    from .ray_driver import RaySettings, check_ray

    if not a.dataset:
        raise BadOption(f"{FLAGS['ray']} runs a {FLAGS['dataset']} pass; give {FLAGS['dataset']}")
    _at_least_one("ray_actors", a.ray_actors)
    _at_least_one("ray_cpus_per_actor", a.ray_cpus_per_actor)
    _at_least_one("ray_decoders", a.ray_decoders)
    check_ray()
    return RaySettings(a.ray_address, a.ray_actors, a.ray_cpus_per_actor, a.ray_decoders)


def select_dataset(a: BenchmarkArguments) -> DatasetSelection:
    """The clips of ``dataset`` within ``max_clips``/``max_hours``; problems raise one line."""
    from ..dataset.entries import SampleLimits
    from ..dataset.reading import select
    from ..dataset.spec import parse_spec

    _at_least_one("max_clips", a.max_clips)
    if a.max_hours is not None and not (math.isfinite(a.max_hours) and a.max_hours > 0):
        raise BadOption(f"{FLAGS['max_hours']} must be a positive number of hours (got {a.max_hours:g})")
    spec = parse_spec(a.dataset, split=a.split, text_column=a.text_column, streaming=a.streaming)
    return select(spec, SampleLimits(a.max_clips, a.max_hours))


def as_names(values: Sequence[BackendName] | None) -> tuple[BackendName, ...]:
    """A single name or a sequence of names (or backend classes) as a tuple; a bare string is one name."""
    if values is None:
        return ()
    if isinstance(values, str):
        return (values,)
    return tuple(values)
