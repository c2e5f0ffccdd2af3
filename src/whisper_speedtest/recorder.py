"""Recording from an audio input device (sounddevice), with a level meter, into a 16 kHz clip.

The input stream is injectable: ``Recorder(stream_factory=...)`` takes any callable that accepts
``samplerate``, ``channels``, ``callback`` and ``device`` keywords and returns a context manager with
``samplerate`` and ``channels`` attributes that calls ``callback(block, frames, time, status)`` while
open, the way ``sounddevice.InputStream`` does. Tests pass a fake device that plays known blocks.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .audio import SAMPLE_RATE, AudioClip
from .atomic import unwritable_reason
from .errors import AudioError, BadOption, OutputError, UserError

LEVEL_FLOOR_DB = -90.0
StreamFactory = Callable[..., Any]
INSTALL_PORTAUDIO = "install PortAudio (Debian/Ubuntu: apt-get install libportaudio2; Fedora: dnf install portaudio; macOS: brew install portaudio)"


class NoInputDevice(UserError):
    """No audio input can be opened: no device, PortAudio missing, or the device refused the settings."""


class RecordingUnavailable(UserError):
    """The optional ``sounddevice`` package is not installed."""


@dataclass(frozen=True)
class Level:
    """Loudness of a block in dB relative to full scale: 0 dBFS is the loudest a sample can be."""

    rms_db: float
    peak_db: float

    @property
    def clipping(self) -> bool:
        return self.peak_db >= -0.1


SILENCE = Level(LEVEL_FLOOR_DB, LEVEL_FLOOR_DB)


def level_of(block: np.ndarray) -> Level:
    """RMS and peak level of ``block`` in dBFS, floored at ``LEVEL_FLOOR_DB`` (silence, empty blocks)."""
    if block.size == 0:
        return SILENCE
    data = np.asarray(block, dtype=np.float64)
    rms = math.sqrt(float(np.mean(data * data)))
    peak = float(np.max(np.abs(data)))

    def to_db(value: float) -> float:
        return max(LEVEL_FLOOR_DB, 20 * math.log10(value)) if value > 0 else LEVEL_FLOOR_DB

    return Level(to_db(rms), to_db(peak))


@dataclass(frozen=True)
class MeterReading:
    """What the live display shows: seconds captured so far, the latest level, dropped-data count."""

    elapsed_s: float
    level: Level
    overflows: int = 0


@dataclass(frozen=True, eq=False)
class Recording:
    """Captured audio, already mixed to mono and resampled to 16 kHz."""

    samples: np.ndarray = field(repr=False)
    capture_rate: int
    capture_channels: int
    overflows: int = 0

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    def to_clip(self, name: str, path: str, reference: str | None = None) -> AudioClip:
        return AudioClip(name, path, self.samples, reference, self.capture_rate, self.capture_channels)


def import_sounddevice():
    """The sounddevice module, or a one-line ``UserError`` saying what to install."""
    try:
        import sounddevice
    except ImportError:
        raise RecordingUnavailable("recording needs the sounddevice package: pip install 'whisper-speedtest[record]'") from None
    except OSError:  # sounddevice raises OSError at import when the PortAudio library is missing
        raise NoInputDevice(f"no audio input: the PortAudio library is not installed; {INSTALL_PORTAUDIO}") from None
    return sounddevice


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def input_device_info(sd: Any, device: int | str | None) -> dict:
    """The device's description from PortAudio; ``NoInputDevice`` when there is none to record from."""
    try:
        info = sd.query_devices(device, kind="input")
    except (sd.PortAudioError, ValueError) as exc:
        if device is None:
            message = f"no default audio input device ({_one_line(exc)}); connect a microphone, or pick one with --input-device"
        else:
            message = f"audio input device {device!r} not found ({_one_line(exc)}); `python -m sounddevice` lists the devices"
        raise NoInputDevice(message) from None
    if int(info.get("max_input_channels", 0)) < 1:
        raise NoInputDevice(f"audio device {info.get('name', device)!r} has no input channels")
    return info


def sounddevice_stream_factory(*, samplerate: int, channels: int, callback: Callable, device: int | str | None = None):
    """A ``sounddevice.InputStream``: at ``samplerate`` if the device takes it, else at its own default rate."""
    sd = import_sounddevice()
    info = input_device_info(sd, device)
    channels = min(channels, int(info["max_input_channels"]))
    try:
        sd.check_input_settings(device=device, samplerate=samplerate, channels=channels, dtype="float32")
    except (sd.PortAudioError, ValueError):
        samplerate = int(info["default_samplerate"])  # resampled to 16 kHz after recording
    try:
        return sd.InputStream(samplerate=samplerate, channels=channels, dtype="float32", callback=callback, device=device)
    except (sd.PortAudioError, ValueError) as exc:
        raise NoInputDevice(f"cannot open audio input device {info.get('name', device)!r}: {_one_line(exc)}") from None


def _drain(blocks: queue.SimpleQueue) -> list[np.ndarray]:
    items = []
    while True:
        try:
            items.append(blocks.get_nowait())
        except queue.Empty:
            return items


def _to_mono(block: np.ndarray) -> np.ndarray:
    block = np.asarray(block, dtype=np.float32)
    return block.mean(axis=1, dtype=np.float32) if block.ndim == 2 and block.shape[1] > 1 else block.reshape(-1)


class Recorder:
    """Captures from an input stream until a stop event is set or ``max_seconds`` of audio arrived."""

    def __init__(self, stream_factory: StreamFactory | None = None, device: int | str | None = None, poll_s: float = 0.1) -> None:
        self.stream_factory = stream_factory or sounddevice_stream_factory
        self.device = device
        self.poll_s = poll_s

    def record(
        self,
        stop: threading.Event,
        *,
        on_meter: Callable[[MeterReading], None] = lambda reading: None,
        max_seconds: float | None = None,
        on_audio: Callable[[np.ndarray], None] | None = None,
    ) -> Recording:
        """Capture until ``stop`` is set or ``max_seconds`` of audio arrived.

        ``on_audio``: called (in this thread, every poll) with each new stretch of audio as 16 kHz mono
        float32, resampled as it comes (soxr's stream resampler) when the device runs at another rate;
        the recording returned is then exactly what ``on_audio`` was given (the live ``stream --mic``)."""
        blocks: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        overflows = [0]

        def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            if status:
                overflows[0] += 1
            blocks.put(_to_mono(indata).copy())  # the device reuses its buffer

        chunks: list[np.ndarray] = []
        delivered: list[np.ndarray] = []
        captured, level = 0, SILENCE
        with self.stream_factory(samplerate=SAMPLE_RATE, channels=1, callback=callback, device=self.device) as stream:
            rate, channels = int(stream.samplerate), int(getattr(stream, "channels", 1))
            limit = int(max_seconds * rate) if max_seconds else None
            live = _LiveResampler(rate, on_audio, delivered, limit) if on_audio is not None else None
            while True:
                fresh = _drain(blocks)
                if fresh:
                    chunks.extend(fresh)
                    captured += sum(len(c) for c in fresh)
                    level = level_of(np.concatenate(fresh)[-max(1, rate // 10):])
                    if live is not None:
                        live.deliver(np.concatenate(fresh))
                on_meter(MeterReading(captured / rate, level, overflows[0]))
                if stop.is_set() or (limit is not None and captured >= limit):
                    break
                stop.wait(self.poll_s)
        late = _drain(blocks)  # blocks that arrived after the last poll or while the stream was closing
        if late:
            chunks.extend(late)
            captured += sum(len(c) for c in late)
            on_meter(MeterReading(captured / rate, level_of(np.concatenate(late)[-max(1, rate // 10):]), overflows[0]))
        if live is not None:
            live.deliver(np.concatenate(late) if late else np.zeros(0, dtype=np.float32), last=True)
            samples = np.concatenate(delivered) if delivered else np.zeros(0, dtype=np.float32)
            return Recording(np.ascontiguousarray(samples, dtype=np.float32), rate, channels, overflows[0])
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        if limit is not None:
            samples = samples[:limit]
        if rate != SAMPLE_RATE and samples.size:
            import soxr

            samples = soxr.resample(samples, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
        return Recording(np.ascontiguousarray(samples, dtype=np.float32), rate, channels, overflows[0])


class _LiveResampler:
    """Hands each new stretch of device audio to ``on_audio`` at 16 kHz, up to ``limit`` device samples."""

    def __init__(self, rate: int, on_audio: Callable[[np.ndarray], None], delivered: list[np.ndarray], limit: int | None) -> None:
        self._on_audio, self._delivered, self._limit, self._taken = on_audio, delivered, limit, 0
        self._stream = None
        if rate != SAMPLE_RATE:
            import soxr

            self._stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")

    def deliver(self, block: np.ndarray, last: bool = False) -> None:
        if self._limit is not None:
            block = block[: max(0, self._limit - self._taken)]
        self._taken += len(block)
        out = self._stream.resample_chunk(block, last=last) if self._stream is not None else block
        if len(out):
            out = np.ascontiguousarray(out, dtype=np.float32)
            self._delivered.append(out)
            self._on_audio(out)


def enter_pressed(stream: TextIO | None = None) -> threading.Event:
    """An event set when a line (Enter) is read from ``stream`` (stdin); end of input never sets it."""
    source = stream or sys.stdin
    event = threading.Event()

    def wait() -> None:
        try:
            if source.readline():
                event.set()
        except (OSError, ValueError):
            pass

    threading.Thread(target=wait, name="wait-for-enter", daemon=True).start()
    return event


def check_save_path(path: Path) -> Path:
    """``--save`` must name a file in a format soundfile writes (checked before recording starts)."""
    import soundfile as sf

    if path.is_dir():
        raise BadOption(f"--save path is a directory: {path}")
    if path.suffix.lstrip(".").upper() not in sf.available_formats():
        raise BadOption(f"--save needs an audio file name such as recording.wav or recording.flac (got {path})")
    problem = unwritable_reason(path)
    if problem:
        raise BadOption(f"cannot write --save {path}: {problem}")
    return path


def save_recording(path: Path, recording: Recording) -> Path:
    """Write the 16 kHz mono recording (16-bit PCM for .wav) atomically."""
    import soundfile as sf

    from .atomic import atomic_target

    if recording.samples.size == 0:
        raise AudioError("nothing was recorded, so nothing was saved")
    subtype = "PCM_16" if path.suffix.lower() in (".wav", ".flac", ".aiff", ".aif") else None
    try:
        with atomic_target(path, suffix=path.suffix, make_parents=False) as tmp:
            sf.write(str(tmp), np.clip(recording.samples, -1.0, 1.0), SAMPLE_RATE, subtype=subtype)
    except OSError as exc:
        raise OutputError(f"cannot write --save {path}: {exc.strerror or exc}") from None
    return path


def recording_name() -> str:
    return time.strftime("recording-%Y%m%d-%H%M%S.wav")
