"""Result records (frozen dataclasses) and their versioned JSON form."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError

SCHEMA_VERSION = 1  # major: a reader refuses any other
SCHEMA_MINOR = 4  # 1.1 added cost (CPU time, energy, price); 1.2 dataset source, sample and failed clips; 1.3 the run budget and runs_note;
# 1.4 the raw samples (each timed run, per clip and per pass), per-clip word errors, 95 % intervals, how busy the machine
# was, warnings, and the audio-set fingerprint. Readers of 1.x ignore fields they do not know; new fields are optional.
AUDIO_HOUR_S = 3600.0

OK = "ok"
FAILED = "failed"
TIMEOUT = "timeout"
CRASHED = "crashed"
SKIPPED = "skipped"
TOO_SLOW = "too slow"  # the run budget stopped it before a first pass finished


@dataclass(frozen=True)
class Stats:
    """Summary of timed samples, in seconds."""

    n: int
    median: float
    mean: float
    min: float
    max: float
    stdev: float


@dataclass(frozen=True)
class Interval:
    """A 95 % confidence interval of some estimate, and how it was computed (e.g. "bootstrap over 10 timed runs")."""

    low: float
    high: float
    method: str
    confidence: float = 0.95


@dataclass(frozen=True)
class WordErrors:
    """One clip's word errors (substitutions + deletions + insertions) and reference words, after normalization."""

    errors: int
    words: int


@dataclass(frozen=True)
class Score:
    """Accuracy against a reference, after text normalization."""

    wer: float
    cer: float
    normalizer: str
    normalizer_version: str


@dataclass(frozen=True)
class ModelIdentity:
    """Which weights ran: canonical name, format, dtype and a fingerprint of the tensors."""

    name: str
    format: str
    dtype: str
    fingerprint: str | None = None
    path: str | None = None
    source: str | None = None
    family: str = "whisper"
    synthetic: bool = False


@dataclass(frozen=True)
class DecodeOptions:
    """How every backend decodes: the part of a run's settings that a backend receives."""

    language: str | None = "en"
    beam_size: int = 1
    temperature: float = 0.0
    condition_on_previous_text: bool = True


@dataclass(frozen=True, kw_only=True)
class DecodeSettings(DecodeOptions):
    """Settings shared by every backend in a run: the decode options, and how the timed runs are counted.

    A ``DecodeSettings`` is the ``DecodeOptions`` the backends get, so nothing is copied field by field.
    """

    runs: int
    warmup: int
    timeout_s: float
    budget_s: float | None = None  # None: exactly ``runs`` timed runs; else at least ``runs``, within this budget
    max_runs: int | None = None

    def runs_described(self) -> str:
        """What decided the number of timed runs, for the settings line."""
        if self.budget_s is None:
            return f"{self.runs} timed run(s) after {self.warmup} warm-up"
        return (
            f"timed runs within {self.budget_s:g} s per backend ({self.runs}–{self.max_runs}; 1 when slower than real time; "
            f"N per row) after {self.warmup} warm-up"
        )


@dataclass(frozen=True)
class ClipInfo:
    name: str
    path: str
    duration_s: float
    reference: str | None
    original_sample_rate: int
    original_channels: int


@dataclass(frozen=True)
class ClipResult:
    """One backend on one clip: timed runs, the raw transcript and its score."""

    clip: str
    audio_s: float
    transcribe: Stats
    rtfx: float
    text: str
    score: Score | None = None
    samples: tuple[float, ...] = ()  # 1.4: every timed run of this clip, in seconds, in order
    reference: str | None = None  # 1.4: the reference it was scored against
    word_errors: WordErrors | None = None  # 1.4


@dataclass(frozen=True)
class FailedClip:
    """A dataset clip that could not be decoded or transcribed; the pass went on without it."""

    index: int  # its position in the dataset's clips (manifest order)
    name: str
    reason: str


@dataclass(frozen=True)
class DatasetStats:
    """Dataset mode: one end-to-end pass over many clips, in batches."""

    clips: int
    audio_s: float
    wall_s: float
    decode_s: float
    inference_s: float
    rtfx: float
    batch_size: int
    mode: str
    transcripts: tuple[str, ...] = ()  # one per clip, in manifest order
    model_rtfx: float | None = None  # audio / inference time (log-mel, model, detokenize), as the Open ASR Leaderboard counts
    order: str = ""  # how clips were batched: "longest first" or "manifest order"
    source: str = ""  # the --dataset spec, resolved (split included)
    sample: str = ""  # which clips: "all 2620 clips", "200 of 2620 clips, seeded sample (seed 0)"
    failed: tuple[FailedClip, ...] = ()  # their transcripts are "" and WER leaves them out
    driver: str = "in process"  # or "ray (local): 2 model actor(s), 1 GPU each"
    workers: tuple[str, ...] = ()  # Ray: host:device:pid of each model actor that returned a batch
    startup_s: float | None = None  # Ray: from the start of Ray to the first actor loaded and warm (not in wall_s)
    word_errors: tuple[WordErrors | None, ...] = ()  # 1.4: per clip in manifest order (None: failed or no reference)


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one domain over a measured region, or why it could not be read (never a guess)."""

    domain: str  # "cpu package", "gpu", "soc (cpu+gpu+ane)"
    method: str  # "rapl", "nvml energy counter", "nvml power samples", "powermetrics"
    joules: float | None
    reason: str = ""  # why ``joules`` is None
    scope: str = ""  # what the counter covers, e.g. "whole package, every process"


@dataclass(frozen=True)
class RegionCost:
    """What one measured region of the child cost: its own CPU time and the energy counters' rise.

    ``audio_s`` is the audio transcribed inside the region (0 for the model load).
    """

    wall_s: float
    cpu_s: float  # user + system time of the child process and its live descendants
    audio_s: float = 0.0
    energy: tuple[EnergyReading, ...] = ()

    @property
    def energy_j(self) -> float | None:
        """Joules summed over the domains that could be read; None when none could."""
        read = [e.joules for e in self.energy if e.joules is not None]
        return sum(read) if read else None

    @property
    def energy_domains(self) -> tuple[str, ...]:
        return tuple(e.domain for e in self.energy if e.joules is not None)

    @property
    def unread(self) -> tuple[EnergyReading, ...]:
        return tuple(e for e in self.energy if e.joules is None)

    def per_audio_hour(self, value: float | None) -> float | None:
        """``value`` (measured over this region) scaled to one hour of audio."""
        if value is None or self.audio_s <= 0:
            return None
        return value * AUDIO_HOUR_S / self.audio_s

    @property
    def cpu_s_per_audio_hour(self) -> float | None:
        return self.per_audio_hour(self.cpu_s)

    @property
    def wh_per_audio_hour(self) -> float | None:
        joules = self.per_audio_hour(self.energy_j)
        return None if joules is None else joules / 3600.0

    def price_per_audio_hour(self, price_per_hour: float | None) -> float | None:
        """Machine price per hour × machine hours (wall time of the region) per audio hour."""
        if price_per_hour is None:
            return None
        hours = self.per_audio_hour(self.wall_s)
        return None if hours is None else price_per_hour * hours / AUDIO_HOUR_S


@dataclass(frozen=True)
class LoadSnapshot:
    """How busy the machine was at one moment (psutil): load average, CPU frequency, other processes' CPU share."""

    when: str  # "start" or "end" of the backend
    load_1m: float | None
    cores: int | None
    cpu_mhz: float | None
    others_cpu_percent: float | None  # of the whole machine (100 = every core busy), this run's processes excluded


@dataclass(frozen=True)
class RowIntervals:
    """95 % intervals of a row's median time, RTFx and WER (None where too few samples)."""

    median_s: Interval | None = None
    rtfx: Interval | None = None
    wer: Interval | None = None


@dataclass(frozen=True)
class BackendResult:
    """One row of the summary table; a failed backend has ``status`` and a one-line ``reason``."""

    backend: str
    display_name: str
    status: str
    reason: str = ""
    model: ModelIdentity | None = None
    load_s: float | None = None
    warm_load_s: float | None = None
    transcribe: Stats | None = None
    rtfx: float | None = None
    score: Score | None = None
    clips: tuple[ClipResult, ...] = ()
    peak_rss_mb: float | None = None
    peak_vram_mb: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    requested: dict[str, Any] = field(default_factory=dict)
    did_fallback: bool = False
    packages: dict[str, str] = field(default_factory=dict)
    variant: str = "default"  # the quantization asked for: default | float16 | int8 | int4
    actual_variant: str = ""  # what the backend reports it loaded (compute type, ggml type, ...)
    fallback_reason: str = ""
    dataset: DatasetStats | None = None
    cost: RegionCost | None = None  # the timed runs only (warm-ups and load excluded)
    load_cost: RegionCost | None = None  # the cold load, imports included
    runs_note: str = ""  # why this row got fewer timed runs than the minimum (the run budget)
    samples: tuple[float, ...] = ()  # 1.4: every timed pass over all clips, in seconds (what ``transcribe`` summarizes)
    intervals: RowIntervals | None = None  # 1.4
    machine_load: tuple[LoadSnapshot, ...] = ()  # 1.4: at the start and the end of the backend
    warnings: tuple[str, ...] = ()  # 1.4: outliers, high spread, a busy machine (hyperfine's warnings)
    library_log: str = ""  # what the backend's libraries printed in its child (progress bars, warnings), kept off the screen
    environment: str = ""  # the managed environment it ran in (its folder under envs/), "" for the main one

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def text(self) -> str:
        """The transcript shown in the table: every clip's, or a dataset's first clip."""
        if not self.clips and self.dataset and self.dataset.transcripts:
            return self.dataset.transcripts[0].strip()
        return " ".join(c.text.strip() for c in self.clips).strip()


@dataclass(frozen=True)
class Provenance:
    """Where and with what a run was made."""

    tool_version: str
    git_commit: str | None
    os: str
    machine: str
    cpu: str
    cores_physical: int | None
    cores_logical: int | None
    ram_gb: float
    gpus: tuple[str, ...]
    python: str
    packages: dict[str, str]
    gpu_driver: str | None = None
    cuda: str | None = None


@dataclass(frozen=True)
class AudioSet:
    """The audio a run transcribed: a sha256 over each clip's decoded samples and reference, in order."""

    fingerprint: str
    clips: int
    duration_s: float
    method: str = "decoded 16 kHz float32 samples + reference text, in order"


@dataclass(frozen=True)
class BenchmarkRun:
    """A whole benchmark: provenance, settings, clips and one result per backend."""

    run_id: str
    created: str
    provenance: Provenance
    settings: DecodeSettings
    clips: tuple[ClipInfo, ...]
    results: tuple[BackendResult, ...]
    schema_version: int = SCHEMA_VERSION
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM: the skipped rows never ran
    schema_minor: int = SCHEMA_MINOR  # 0 in files written before cost was measured
    price_per_hour: float | None = None  # --price-per-hour: the machine's cost per hour, any currency
    audio_set: AudioSet | None = None  # 1.4

    @property
    def schema(self) -> str:
        return f"{self.schema_version}.{self.schema_minor}"

    @property
    def succeeded(self) -> bool:
        return any(r.ok for r in self.results)


class SchemaError(UserError):
    """A results file that is corrupt or written by an incompatible version."""


def to_dict(record: Any) -> dict[str, Any]:
    return dataclasses.asdict(record)


def _field_path(loc: tuple[Any, ...]) -> str:
    """``('results', 0, 'transcribe', 'median')`` as ``results[0].transcribe.median``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not str(part).startswith("function-"):  # pydantic's own validator steps
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def _validation_message(exc: Any) -> str:
    """The first error of a pydantic ``ValidationError``: the field, what was wrong, and what was found."""
    first = exc.errors(include_url=False)[0]
    found = repr(first.get("input"))
    found = found if len(found) <= 40 else found[:37] + "..."
    extra = f" ({exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"field {_field_path(tuple(first['loc']))}: {first['msg']} (got {found}){extra}"


def _optional(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


_UNFIXABLE = object()


def _finite_or_absent(record: Any) -> Any:
    """``record`` with every NaN or infinite figure made ``None`` where the field may be absent.

    A record that needs a figure it holds as NaN (a ``Stats`` median) becomes absent itself where its
    parent allows that (a row's ``transcribe``), so every reader shows "n/a" instead of computing with NaN.
    """
    if not dataclasses.is_dataclass(record):
        return record
    hints = typing.get_type_hints(type(record))
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        fixed = value
        if isinstance(value, float) and not math.isfinite(value):
            fixed = _UNFIXABLE
        elif dataclasses.is_dataclass(value):
            fixed = _finite_or_absent(value)
        elif isinstance(value, tuple) and any(dataclasses.is_dataclass(v) for v in value):
            fixed = tuple(v for v in (_finite_or_absent(v) for v in value) if v is not _UNFIXABLE)
        if fixed is _UNFIXABLE:
            if not _optional(hints[f.name]):
                return _UNFIXABLE
            fixed = None
        if fixed is not value:
            changes[f.name] = fixed
    return dataclasses.replace(record, **changes) if changes else record


def run_from_dict(data: dict[str, Any], source: str = "results file") -> BenchmarkRun:
    """The one reader of a run, from any file, history row or board file: validated against the dataclasses.

    pydantic checks every field against the types declared above (unknown fields of a newer 1.x file are
    ignored); the first mismatch is one ``SchemaError`` line naming ``source`` and the field.
    """
    version = data.get("schema_version") if isinstance(data, dict) else None
    if type(version) is not int or version != SCHEMA_VERSION:
        raise SchemaError(f"{source}: unsupported results schema_version {version!r} (this tool reads version {SCHEMA_VERSION})")
    if "schema_minor" not in data:
        data = {**data, "schema_minor": 0}
    from pydantic import TypeAdapter, ValidationError

    try:
        run = TypeAdapter(BenchmarkRun).validate_python(data)
    except ValidationError as exc:
        raise SchemaError(f"{source}: does not match results schema {SCHEMA_VERSION}.x: {_validation_message(exc)}") from None
    except RecursionError:
        raise SchemaError(f"{source}: nested too deeply to read") from None
    from .plain_text import clean_strings

    fixed = _finite_or_absent(run)
    return clean_strings(run if fixed is _UNFIXABLE else fixed)


def run_to_json(run: BenchmarkRun) -> str:
    """The run as JSON; lone surrogates and control characters in its text become U+FFFD (``plain_text``)."""
    from .plain_text import clean_strings

    return json.dumps(clean_strings(to_dict(run)), indent=2, ensure_ascii=False)


def load_run(path: str | Path) -> BenchmarkRun:
    """A results file: a regular file (never a FIFO that would block), of bounded size and depth."""
    from .safe_read import MAX_JSON_BYTES, parse_json, read_regular_file

    p = Path(path)
    raw = read_regular_file(p, "results file", SchemaError, limit=MAX_JSON_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError(f"results file is not valid JSON: {p} ({exc})") from None
    return run_from_dict(parse_json(text, str(p), SchemaError), str(p))


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename, so it is never half-written."""
    from .atomic import write_text_atomic

    return write_text_atomic(path, text)
