"""Frozen records of a streaming run: every step with its clock time, the rows, and versioned JSON."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ...backends.base import TimedWord

STREAM_SCHEMA_VERSION = 1


class Clock(str, Enum):
    """How the audio arrives. SIMULATED: chunk after chunk as soon as the last step is done, its clock
    the audio time (computation-unaware); REAL: at the speed of speech, its clock the wall time since the
    stream began (computation-aware: a slow backend falls behind)."""

    SIMULATED = "simulated"
    REAL = "real"


class Streaming(str, Enum):
    """Who decides what is committed. POLICY: our LocalAgreement over the backend's transcribe call;
    LIBRARY: the library's own streaming API (its confirmed words committed, its unconfirmed ones shown)."""

    POLICY = "policy"
    LIBRARY = "library"


FILE_SOURCE = "file"
LIVE_SOURCE = "microphone, live"
REPLAY_SOURCE = "the microphone recording, replayed on the real clock"


@dataclass(frozen=True)
class StreamStep:
    """One step of the policy: the audio it had, when its output was ready, and what it showed."""

    index: int
    audio_end_s: float  # seconds of audio received when the step ran
    clock_s: float  # the clock when its output was ready (simulated: the audio time; real: wall time)
    compute_s: float  # wall seconds the step took
    committed: tuple[TimedWord, ...]  # words committed at this step (the backend's own times)
    tentative: tuple[TimedWord, ...]  # the unconfirmed tail shown after it
    final: bool = False  # the end-of-audio step that commits the rest


@dataclass(frozen=True)
class StreamPass:
    clock: Clock
    steps: tuple[StreamStep, ...]
    completed: bool = True  # False: stopped (timeout, crash, Ctrl-C); the steps are what was measured


@dataclass(frozen=True)
class LatencySummary:
    """Latency of committed words matched to the reference alignment: clock at commit − word end in the audio."""

    n: int
    median_s: float
    p90_s: float
    first_s: float
    unmatched: int  # committed words with no word of the reference alignment (not counted)


@dataclass(frozen=True)
class StreamFigures:
    unaware: LatencySummary | None  # simulated clock
    aware: LatencySummary | None  # real clock
    rtf: float | None  # compute seconds / audio seconds (real clock when run, else simulated)
    kept_up: bool | None
    lag_start_s: float | None  # real clock: how far behind the audio the first step finished
    lag_end_s: float | None  # ... and the last
    revisions_per_min: float
    final_wer: float | None  # committed text vs the reference text
    offline_wer: float | None  # the same backend's plain transcribe() on the same audio
    wer_vs_offline: float | None  # committed text vs that offline transcript


@dataclass(frozen=True)
class StreamRow:
    backend: str
    display_name: str
    status: str
    reason: str = ""
    model: str = ""
    model_fingerprint: str | None = None  # sha256 of the weights' tensors, as in benchmark rows
    chunk_s: float = 1.0
    policy: str = ""
    word_timestamps: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    load_s: float | None = None
    peak_rss_mb: float | None = None
    offline_text: str = ""
    committed_text: str = ""
    passes: tuple[StreamPass, ...] = ()
    figures: StreamFigures | None = None
    streaming: Streaming = Streaming.POLICY
    audio_source: str = FILE_SOURCE  # a file, the microphone live, or the microphone's recording replayed
    word_ends: str = ""  # where the word end times that latency is measured against came from
    library_log: str = ""  # what the backend's libraries printed in its child (kept off the screen), as in benchmark rows


@dataclass(frozen=True)
class Alignment:
    """Word end times in the audio that latencies are measured against, and where they came from."""

    source: str
    words: tuple[TimedWord, ...]


@dataclass(frozen=True)
class StreamRun:
    run_id: str
    created: str
    audio_name: str
    audio_path: str
    audio_s: float
    reference: str | None
    alignment: Alignment | None
    alignment_note: str
    settings: dict[str, Any]
    rows: tuple[StreamRow, ...]
    interrupted: bool = False
    provenance: Any = None  # results.Provenance: machine, OS, Python, package versions


def plain(value: Any) -> Any:
    """A record as JSON-ready dicts and lists (enums by value)."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def stream_run_to_json(run: StreamRun) -> str:
    return json.dumps({"schema_version": STREAM_SCHEMA_VERSION, "kind": "stream", **plain(run)}, indent=2)
