"""Loading audio for benchmarking: any format soundfile reads, mixed to mono, resampled to 16 kHz."""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import AudioError, BadOption

SAMPLE_RATE = 16_000
_SHORT_CHUNK = re.compile(r"^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be", re.MULTILINE)
_STREAMING_SIZES = {0xFFFFFFFF, 0x7FFFFFFF}  # "size unknown", left by writers that stream to a pipe: not a promise


@dataclass(frozen=True, eq=False)
class AudioClip:
    """One clip, ready for every backend: float32 mono samples at 16 kHz."""

    name: str
    path: str
    samples: np.ndarray = field(repr=False)
    reference: str | None = None
    original_sample_rate: int = SAMPLE_RATE
    original_channels: int = 1

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def bundled_sample() -> Path:
    """The JFK sample shipped with the package (11 s, public domain)."""
    return Path(str(resources.files("whisper_speedtest") / "data" / "jfk.wav"))


def read_audio(path: str | Path) -> tuple[np.ndarray, int, int]:
    """Decode ``path`` to float32 mono 16 kHz; returns (samples, original_rate, original_channels).

    Raises :class:`AudioError` with one line for missing, empty, truncated or non-audio files.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError(f"audio file not found: {p}")
    if not p.is_file():
        raise AudioError(f"not a file: {p}")
    if p.stat().st_size == 0:
        raise AudioError(f"audio file is empty (0 bytes): {p}")
    return _decode(str(p), str(p))


def read_audio_bytes(data: bytes, name: str) -> tuple[np.ndarray, int, int]:
    """:func:`read_audio` for encoded audio held in memory (a dataset row's bytes); ``name`` is for messages."""
    import io

    if not data:
        raise AudioError(f"audio is empty (0 bytes): {name}")
    return _decode(io.BytesIO(data), name)


def audio_seconds(source, name: str) -> float:
    """A clip's length from its header only (a path or a file object); a one-line ``AudioError`` when unreadable."""
    import soundfile as sf

    try:
        with _silenced_native_stderr():
            info = sf.info(source)
    except Exception as exc:
        raise AudioError(f"cannot decode audio {name}: {_libsndfile_detail(exc)}") from None
    if info.frames == 0:
        raise AudioError(f"audio file holds no samples: {name}")
    return info.frames / info.samplerate


def _decode(source, name: str) -> tuple[np.ndarray, int, int]:
    import soundfile as sf
    import soxr

    try:
        with _silenced_native_stderr():
            info = sf.info(source)
            promised = _SHORT_CHUNK.search(info.extra_info or "")
            if promised and int(promised.group(1)) not in _STREAMING_SIZES:
                raise AudioError(f"audio file is truncated (its header promises more data than the file holds): {name}")
            if hasattr(source, "seek"):
                source.seek(0)
            data, rate = sf.read(source, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError/TypeError for junk
        raise AudioError(f"cannot decode audio {name}: not a supported audio format, or the data is corrupt ({_libsndfile_detail(exc)})") from None
    if data.size == 0:
        raise AudioError(f"audio file holds no samples: {name}")
    if not np.isfinite(data).all():
        raise AudioError(f"audio file holds NaN or infinite samples: {name}")
    channels = data.shape[1]
    mono = data.mean(axis=1, dtype=np.float32) if channels > 1 else data[:, 0]
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    return np.ascontiguousarray(mono, dtype=np.float32), int(rate), int(channels)


def _libsndfile_detail(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.rsplit(": ", 1)[-1].strip() or type(exc).__name__


@contextmanager
def _silenced_native_stderr():
    """Decoders such as libmpg123 print notes straight to file descriptor 2; keep them off the terminal."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def decode_utf8(data: bytes, where: str, error: type[Exception] = AudioError) -> str:
    """``data`` as text, or ``error`` naming ``where`` and the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8") from None


def read_text_file(path: Path, what: str, error: type[Exception] = AudioError) -> str:
    """A UTF-8 text file's content, stripped; unreadable or binary files raise ``error`` with one line."""
    from .safe_read import read_regular_file

    data = read_regular_file(path, what, error)
    return decode_utf8(data, f"{what} {path}", error).strip()


def load_clip(path: str | Path, reference: str | None = None, name: str | None = None) -> AudioClip:
    """Load one clip; a ``.txt`` beside the audio is used as its reference when none is given."""
    p = Path(path)
    samples, rate, channels = read_audio(p)
    if reference is None:
        sidecar = p.with_suffix(".txt")
        if sidecar.is_file():
            reference = read_text_file(sidecar, "reference file") or None
    return AudioClip(name or p.name, str(p), samples, reference, rate, channels)


def audio_files_in(directory: Path) -> list[Path]:
    import soundfile as sf

    extensions = {f".{ext.lower()}" for ext in sf.available_formats()} | {".wav", ".flac", ".ogg", ".mp3"}
    files = sorted(f for f in directory.iterdir() if f.is_file() and f.suffix.lower() in extensions)
    if not files:
        raise AudioError(f"no audio files found in directory {directory}")
    return files


def _manifest_reference(entry: dict, where: str) -> str | None:
    """The entry's ``text`` (or ``reference``): a string, or absent/null."""
    for key in ("text", "reference"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise AudioError(f"{where}: {key!r} must be a string (got {type(value).__name__} {json.dumps(value)[:40]})")
    return entry.get("text") or entry.get("reference")


def manifest_pairs(manifest: Path) -> list[tuple[Path, str | None]]:
    """(audio path, reference) per JSONL line; relative paths are relative to the manifest."""
    from .safe_read import check_depth, read_regular_file

    data = read_regular_file(manifest, "manifest", AudioError)
    pairs = []
    for number, raw_line in enumerate(data.splitlines(), start=1):
        where = f"{manifest}:{number}"
        line = decode_utf8(raw_line, where)
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            check_depth(entry, where, AudioError)
            audio = Path(entry["audio"])
        except RecursionError:
            raise AudioError(f"{where}: JSON nested too deeply to read") from None
        except (json.JSONDecodeError, KeyError, TypeError):
            raise AudioError(f"{where}: expected a JSON object with an 'audio' path") from None
        pairs.append((audio if audio.is_absolute() else manifest.parent / audio, _manifest_reference(entry, where)))
    if not pairs:
        raise AudioError(f"manifest has no entries: {manifest}")
    return pairs


def _clips_from_manifest(manifest: Path) -> list[AudioClip]:
    return [load_clip(audio, reference) for audio, reference in manifest_pairs(manifest)]


def resolve_reference(reference: str | None) -> str | None:
    """``--reference`` is either literal text or the path of a .txt file."""
    if reference is None:
        return None
    if reference.endswith(".txt"):
        path = Path(reference)
        if path.is_dir():
            raise BadOption(f"--reference {path} is a folder; give a .txt file, or the reference text itself")
        if not path.exists():
            raise BadOption(f"reference file not found: {path}")
        return read_text_file(path, "--reference file", BadOption)
    return reference


def collect_clips(inputs: list[str] | None, reference: str | None = None) -> list[AudioClip]:
    """Expand files, directories and JSONL manifests into clips (the bundled sample when empty)."""
    reference_text = resolve_reference(reference)
    if not inputs:
        return [load_clip(bundled_sample(), reference_text)]
    clips: list[AudioClip] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            clips.extend(load_clip(f) for f in audio_files_in(path))
        elif path.suffix.lower() == ".jsonl":
            if not path.exists():
                raise AudioError(f"manifest not found: {path}")
            clips.extend(_clips_from_manifest(path))
        else:
            clips.append(load_clip(path))
    if reference_text is not None:
        if len(clips) != 1:
            raise BadOption("--reference applies to a single audio file; use a JSONL manifest for several")
        clip = clips[0]
        clips = [AudioClip(clip.name, clip.path, clip.samples, reference_text, clip.original_sample_rate, clip.original_channels)]
    return clips
