"""Shared plumbing for backends that run through a small Swift command-line bridge (macOS only).

A bridge is started once per call as a subprocess. It loads its model, transcribes a WAV file
``--runs`` times and prints exactly one JSON object on stdout (see ``tools/*-bridge/README.md``).
The harness times the whole call, which includes the bridge's start-up and model load; the
bridge's own transcription time is kept in ``params()`` as ``bridge_transcribe_s``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..base import Availability, Backend, DecodeOptions, LoadOptions, LoadResult, ModelRef, Transcript

SCHEMA_VERSION = 1
BRIDGE_TIMING_EXCLUDES = "process start-up and model load"
DEFAULT_TIMEOUT_S = 900.0
TIMEOUT_ENV = "WHISPER_SPEEDTEST_BRIDGE_TIMEOUT_S"  # every WHISPER_SPEEDTEST_* variable: docs/environment.md
PROBE_SECONDS = 2.0
_REQUIRED_FIELDS = ("text", "segments", "timing", "model", "compute_units")


class BridgeError(RuntimeError):
    """A bridge that failed, hung or printed something other than one valid JSON object."""


@dataclass(frozen=True)
class BridgeSegment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class BridgeTiming:
    """The bridge's own clock: model load once, then one entry per transcription run."""

    load_s: float
    transcribe_s: tuple[float, ...]
    excludes: str


@dataclass(frozen=True)
class BridgeOutput:
    text: str
    segments: tuple[BridgeSegment, ...]
    timing: BridgeTiming
    model: str
    compute_units: str
    language: str | None = None
    settings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BridgeSpec:
    """Where a bridge's sources live and how its binary is found."""

    name: str  # also the executable's name, e.g. "whisperkit-bridge"
    env_var: str  # e.g. WHISPER_SPEEDTEST_WHISPERKIT_BRIDGE

    @property
    def package_path(self) -> str:
        return f"tools/{self.name}"

    @property
    def build_command(self) -> str:
        return f"swift build -c release --package-path {self.package_path}"

    @property
    def unavailable_reason(self) -> str:
        return f"requires macOS on Apple Silicon with the bridge built ({self.build_command})"


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Parsing: stdout must be exactly one JSON object of the agreed schema.


def parse_bridge_output(stdout: str, bridge: str = "bridge") -> BridgeOutput:
    """Validate a bridge's stdout; anything but one complete, well-formed object raises BridgeError."""
    document = _decode_single_object(stdout, bridge)
    schema = document.get("schema")
    if schema != SCHEMA_VERSION:
        raise BridgeError(f"{bridge} printed schema {schema!r}, expected {SCHEMA_VERSION}; rebuild the bridge")
    if document.get("error") is not None:
        raise BridgeError(f"{bridge} failed: {one_line(document['error'])}")
    missing = [name for name in _REQUIRED_FIELDS if document.get(name) is None]
    if missing:
        raise BridgeError(f"{bridge} output lacks {', '.join(missing)}")
    return BridgeOutput(
        text=_expect(document, "text", str, bridge).strip(),
        segments=tuple(_segment(item, bridge) for item in _expect(document, "segments", list, bridge)),
        timing=_timing(_expect(document, "timing", dict, bridge), bridge),
        model=_expect(document, "model", str, bridge),
        compute_units=_expect(document, "compute_units", str, bridge),
        language=document.get("language") if isinstance(document.get("language"), str) else None,
        settings=tuple(sorted((str(k), str(v)) for k, v in (document.get("settings") or {}).items())),
    )


def _decode_single_object(stdout: str, bridge: str) -> dict[str, Any]:
    text = stdout.strip()
    if not text:
        raise BridgeError(f"{bridge} printed nothing on stdout")
    try:
        document, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text) - 1 or "Unterminated" in exc.msg:
            raise BridgeError(f"{bridge} output is truncated JSON ({len(text)} characters)") from None
        raise BridgeError(f"{bridge} output is not JSON: {one_line(text, 80)!r}") from None
    trailing = text[end:].strip()
    if trailing:
        raise BridgeError(f"{bridge} printed more than one JSON object on stdout; extra: {one_line(trailing, 80)!r}")
    if not isinstance(document, dict):
        raise BridgeError(f"{bridge} output is JSON but not an object")
    return document


def _expect(document: dict[str, Any], key: str, kind: type, bridge: str):
    value = document.get(key)
    if not isinstance(value, kind):
        raise BridgeError(f"{bridge} output field {key!r} is {type(value).__name__}, expected {kind.__name__}")
    return value


def _number(value: Any, what: str, bridge: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise BridgeError(f"{bridge} output {what} is {value!r}, expected a non-negative number")
    return float(value)


def _segment(item: Any, bridge: str) -> BridgeSegment:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise BridgeError(f"{bridge} output has a segment without text: {one_line(repr(item), 80)}")
    return BridgeSegment(_number(item.get("start"), "segment start", bridge), _number(item.get("end"), "segment end", bridge), item["text"])


def _timing(timing: dict[str, Any], bridge: str) -> BridgeTiming:
    runs = timing.get("transcribe_s")
    if not isinstance(runs, list) or not runs:
        raise BridgeError(f"{bridge} output timing.transcribe_s must be a non-empty list")
    excludes = timing.get("excludes")
    if excludes != BRIDGE_TIMING_EXCLUDES:  # the label in params() depends on it
        raise BridgeError(f"{bridge} output timing.excludes is {excludes!r}, expected {BRIDGE_TIMING_EXCLUDES!r}")
    return BridgeTiming(
        _number(timing.get("load_s"), "timing.load_s", bridge),
        tuple(_number(value, "timing.transcribe_s", bridge) for value in runs),
        excludes,
    )


# ---------------------------------------------------------------------------------------------
# Finding and running the binary.


def repository_root() -> Path:
    """The checkout this package runs from (``src/whisper_speedtest/backends/swift`` → repository)."""
    return Path(__file__).resolve().parents[4]


def find_bridge(spec: BridgeSpec) -> Path | None:
    """``$<ENV_VAR>``, then ``tools/<name>/.build/release/<name>`` in the checkout, then PATH."""
    configured = os.environ.get(spec.env_var)
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_file() and os.access(path, os.X_OK) else None
    built = repository_root() / spec.package_path / ".build" / "release" / spec.name
    if built.is_file() and os.access(built, os.X_OK):
        return built
    on_path = shutil.which(spec.name)
    return Path(on_path) if on_path else None


def bridge_timeout_s() -> float:
    """``$WHISPER_SPEEDTEST_BRIDGE_TIMEOUT_S`` (docs/environment.md), else 900 s; a bad value is one line."""
    from ...errors import BadOption, check_seconds

    value = os.environ.get(TIMEOUT_ENV)
    if not value:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        raise BadOption(f"${TIMEOUT_ENV} must be a number of seconds (got {value!r})") from None
    return check_seconds(f"${TIMEOUT_ENV}", seconds)


def run_bridge(binary: Path, arguments: list[str], bridge: str, timeout_s: float, parse=parse_bridge_output):
    """Run the bridge once; a hang, a crash or bad output raises BridgeError with one line.

    ``parse(stdout, bridge)`` reads a successful run's stdout (``stream_events.parse_stream_output`` for ``--stream``)."""
    try:
        completed = subprocess.run(
            [str(binary), *arguments], capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise BridgeError(f"{bridge} did not finish within {timeout_s:g} s and was stopped") from None
    except OSError as exc:
        raise BridgeError(f"{bridge} could not be started: {one_line(str(exc))}") from None
    if completed.returncode == 0:
        return parse(completed.stdout, bridge)
    reason = _reported_error(completed.stdout) or _last_line(completed.stderr)
    raise BridgeError(f"{bridge} exited with code {completed.returncode}: {reason}")


def _reported_error(stdout: str) -> str | None:
    """The ``error`` a failing bridge printed on stdout, if it managed to print one."""
    try:
        document = json.loads(stdout)
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return one_line(error) if isinstance(error, str) and error.strip() else None


def _last_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return one_line(lines[-1]) if lines else "no message on stderr"


def write_wav(audio: np.ndarray, path: Path) -> None:
    """16 kHz mono 32-bit float WAV, so the bridge reads exactly the samples the others get."""
    import soundfile as sf

    sf.write(str(path), np.asarray(audio, dtype=np.float32), 16000, subtype="FLOAT")


def probe_audio(seconds: float = PROBE_SECONDS) -> np.ndarray:
    """Quiet noise for the load probe (some libraries refuse digital silence or very short input)."""
    return np.random.default_rng(0).normal(0.0, 1e-3, int(16000 * seconds)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The backend.


class SwiftBridgeBackend(Backend):
    """A backend whose library is Swift-only: each call runs the bridge binary on a temp WAV file."""

    bridge: ClassVar[BridgeSpec]
    platforms = ("darwin",)
    requires = ()

    def __init__(self) -> None:
        super().__init__()
        self._binary: Path | None = None
        self._model_argument: str | None = None
        self._bridge_runs: list[float] = []

    @classmethod
    def install_hint(cls) -> str:
        return cls.bridge.build_command

    @classmethod
    def for_this_platform(cls) -> bool:
        return sys.platform == "darwin" and platform.machine() == "arm64"

    @classmethod
    def missing_requirements(cls) -> list[str]:
        """The bridge binary is what must be installed (built) for this backend."""
        return [] if find_bridge(cls.bridge) is not None else [cls.bridge.name]

    @classmethod
    def available(cls) -> Availability:
        if sys.platform != "darwin" or platform.machine() != "arm64":
            return Availability(False, cls.bridge.unavailable_reason)
        if find_bridge(cls.bridge) is None:
            configured = os.environ.get(cls.bridge.env_var)
            if configured:
                return Availability(False, f"${cls.bridge.env_var} is {configured}, which is not an executable file")
            return Availability(False, cls.bridge.unavailable_reason)
        if not hasattr(Backend, "locate_model"):
            return Availability(False, "the benchmark planner cannot locate this backend's own models yet (Backend.locate_model)")
        return Availability(True)

    # Subclasses say how a ModelRef becomes the bridge's --model argument and what extra flags to pass.
    def model_argument(self, model: ModelRef) -> str:
        return model.path or model.name

    def decode_arguments(self, options: DecodeOptions) -> list[str]:
        return ["--language", options.language] if options.language else []

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        binary = find_bridge(self.bridge)
        if binary is None:
            raise BridgeError(self.bridge.unavailable_reason)
        self._binary, self._model_argument = binary, self.model_argument(model)
        self._bridge_runs = []
        probe = self._call(probe_audio(), self.decode_arguments(DecodeOptions()))  # loads (and compiles) once
        self._params = {
            "device": "coreml",
            "compute_units": probe.compute_units,
            "bridge": str(binary),
            "bridge_model": probe.model,
            "bridge_first_load_s": round(probe.timing.load_s, 4),  # includes Core ML compilation or download
            **dict(probe.settings),
        }
        return LoadResult(requested=options.quantization or "default", actual=model.dtype)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        if self._binary is None:
            raise BridgeError(f"{self.bridge.name}: transcribe() called before load()")
        output = self._call(audio, self.decode_arguments(options))
        self._bridge_runs.extend(output.timing.transcribe_s)
        self.record_params(**dict(output.settings))
        self.record_params(
            bridge_load_s=round(output.timing.load_s, 4),  # this call's load (every call is a new process)
            bridge_transcribe_s=[round(value, 4) for value in self._bridge_runs],
            bridge_timing_excludes=f"bridge {output.timing.excludes}; the harness's own times include both",
        )
        segments = tuple({"start": s.start, "end": s.end, "text": s.text} for s in output.segments)
        return Transcript(output.text, segments, output.language or options.language)

    def _call(self, audio: np.ndarray, extra_arguments: list[str], parse=parse_bridge_output):
        with tempfile.TemporaryDirectory(prefix="whisper-speedtest-bridge-") as tmp:
            wav = Path(tmp) / "audio.wav"
            write_wav(audio, wav)
            arguments = ["--model", str(self._model_argument), "--audio", str(wav), "--runs", "1", *extra_arguments]
            return run_bridge(self._binary, arguments, self.bridge.name, bridge_timeout_s(), parse)

    def close(self) -> None:
        self._binary = None
