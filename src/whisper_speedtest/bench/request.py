"""What one benchmark asks for: the model, the chosen backends, the settings and the audio, checked once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from ..audio import AudioClip
from ..backends import all_backends, get_backend
from ..backends.base import Backend, LoadOptions
from ..errors import BadOption
from ..dataset.entries import DatasetSelection
from ..models.weights_mode import WeightsMode
from ..results import DecodeSettings
from .arguments import DEFAULT_DATASET_BATCH, BenchmarkArguments, as_names
from .ray_driver import RaySettings


def select_backends(names: Sequence[str | type[Backend]] | None) -> tuple[type[Backend], ...]:
    """The named backends (unknown names raise; one class once however it is named), or every registered one.
    A backend class may stand for its name."""
    if names:
        return tuple(dict.fromkeys(name if isinstance(name, type) else get_backend(name) for name in names))
    return tuple(sorted(all_backends().values(), key=lambda cls: cls.name))


@dataclass(frozen=True)
class BenchmarkRequest:
    """One benchmark, checked: names already resolved, backends already chosen. The audio is added last,
    with :meth:`with_clips` (dataset mode reads its clips in the child instead)."""

    model: str  # a canonical catalog name (``catalog.resolve`` already applied)
    backends: tuple[type[Backend], ...]
    settings: DecodeSettings
    load_options: LoadOptions
    clips: tuple[AudioClip, ...] = ()
    quantizations: tuple[str | None, ...] = (None,)
    dataset: DatasetSelection | None = None
    batch_size: int = 1
    synthetic: bool = False
    price_per_hour: float | None = None  # the machine's cost per hour, for a cost per audio hour
    ray: RaySettings | None = None  # dataset mode on Ray Data instead of one child process
    weights: WeightsMode = WeightsMode.SAME
    # Beside ``backends``, one each: a version of that backend's library to run in a managed environment of its
    # own (``-b faster-whisper==1.1.1``), or None. Empty: none pinned.
    versions: tuple[str | None, ...] = ()

    @classmethod
    def build(cls, arguments: BenchmarkArguments | None = None, /, *, clips: Sequence[AudioClip] = (),
              **changes) -> BenchmarkRequest:
        """The one checked way to a request: ``arguments`` (or :data:`~.arguments.DEFAULTS`) with ``changes``,
        every value checked before any audio is read (``BadOption`` and friends name the command-line flag).

        ``BenchmarkRequest.build(model="base", backends=["faster-whisper"], runs=3, clips=clips)``
        """
        known = {f.name for f in fields(BenchmarkArguments)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown benchmark argument(s): {', '.join(unknown)}")
        base = arguments if arguments is not None else BenchmarkArguments()
        a = replace(base, **changes) if changes else base
        return _checked(a).with_clips(clips)

    def entries(self) -> tuple[tuple[type[Backend], str | None], ...]:
        """(backend, pinned version or None) for each backend to run, in order."""
        return tuple(zip(self.backends, self.versions or (None,) * len(self.backends), strict=True))

    def with_clips(self, clips: Sequence[AudioClip]) -> BenchmarkRequest:
        return replace(self, clips=tuple(clips))


def _checked(a: BenchmarkArguments) -> BenchmarkRequest:
    """Every check of :class:`BenchmarkArguments`, in the order the command line has always reported them."""
    from ..backends.transformers.options import CUDA_GRAPHS, GRAPH_SPEEDUPS, SYNTHETIC_TOKENS, GraphSpeedup
    from ..models import catalog
    from ..models.variants import check_quantization
    from .arguments import FLAGS, check_counts, check_dataset_only, check_language, ray_settings, select_dataset
    from .run_policy import DEFAULT_MAX_RUNS, DEFAULT_MIN_RUNS

    weights = check_counts(a)
    quantizations = tuple(check_quantization(q) for q in a.quant) or (None,)
    model_name = catalog.resolve(a.model)
    check_language(a.language, model_name)
    backends = select_backends(as_names(a.backends))
    settings = DecodeSettings(
        language=None if a.language == "auto" else a.language,
        beam_size=a.beam_size,
        temperature=0.0,
        runs=DEFAULT_MIN_RUNS if a.runs is None else a.runs,
        warmup=a.warmup,
        timeout_s=a.timeout,
        condition_on_previous_text=a.previous_text,
        budget_s=a.budget if a.runs is None else None,
        max_runs=DEFAULT_MAX_RUNS if a.runs is None else None,
    )
    if a.batch_size is not None and a.batch_size < 1:
        raise BadOption(f"{FLAGS['batch_size']} must be at least 1 (got {a.batch_size})")
    check_dataset_only(a)
    if a.synthetic_tokens < 1:
        raise BadOption(f"{FLAGS['synthetic_tokens']} must be at least 1 (got {a.synthetic_tokens})")
    try:
        speedups = tuple(s.value for s in GraphSpeedup.parse(a.graph_speedups))
    except ValueError as exc:
        raise BadOption(f"{FLAGS['graph_speedups']}: {exc}") from None
    dataset_batch = a.batch_size or DEFAULT_DATASET_BATCH
    load_options = LoadOptions(
        device=a.device, threads=a.threads, fallback=a.fallback,
        batch_size=dataset_batch if a.dataset and a.batch_size is None else a.batch_size,
        backend_options=(((SYNTHETIC_TOKENS, a.synthetic_tokens),) if a.synthetic else ()) + ((CUDA_GRAPHS, a.cuda_graphs),)
        + (((GRAPH_SPEEDUPS, speedups),) if speedups else ()),
    )
    ray = ray_settings(a)
    return BenchmarkRequest(
        model=model_name,
        backends=backends,
        settings=settings,
        load_options=load_options,
        quantizations=quantizations,
        dataset=select_dataset(a) if a.dataset else None,
        batch_size=dataset_batch,
        synthetic=a.synthetic,
        price_per_hour=a.price_per_hour,
        ray=ray,
        weights=weights,
    )
