import json

import numpy as np
import pytest
import soundfile as sf

from whisper_speedtest.audio import SAMPLE_RATE, collect_clips, load_clip, read_audio
from whisper_speedtest.errors import AudioError, BadOption
from tests.conftest import DATA, JFK


def test_bundled_sample_is_16k_mono_with_sidecar_reference():
    clip = load_clip(JFK)
    assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
    assert clip.duration_s == pytest.approx(11.0, abs=0.01)
    assert clip.reference.startswith("And so my fellow Americans")


@pytest.mark.parametrize("rate,subtype,fmt", [(44100, "PCM_24", "WAV"), (8000, "PCM_U8", "WAV"), (48000, "PCM_16", "FLAC")])
def test_any_rate_depth_and_channels_become_16k_mono(tmp_path, rate, subtype, fmt):
    seconds = 0.5
    t = np.arange(int(rate * seconds)) / rate
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.25 * np.sin(2 * np.pi * 440 * t)], axis=1)
    path = tmp_path / f"tone.{fmt.lower()}"
    sf.write(path, stereo, rate, subtype=subtype, format=fmt)
    samples, original_rate, channels = read_audio(path)
    assert (original_rate, channels) == (rate, 2)
    assert len(samples) == pytest.approx(SAMPLE_RATE * seconds, abs=2)
    assert samples.dtype == np.float32
    assert 0.3 < np.abs(samples).max() < 0.45  # the mean of the two channels, not one of them


def _file(name, content):
    def make(directory):
        path = directory / name
        path.write_bytes(content)
        return path

    return make


def _truncated_copy(tmp_path):
    data = JFK.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: d / "nope.wav", "not found"),
        (_file("empty.wav", b""), "empty"),
        (_file("text.wav", b"not audio at all " * 50), "cannot decode"),
        (_file("head.wav", JFK.read_bytes()[:30]), "cannot decode"),
        (_truncated_copy, "truncated"),
    ],
)
def test_bad_audio_is_one_clear_error(tmp_path, make, message):
    with pytest.raises(AudioError, match=message):
        read_audio(make(tmp_path))


def test_zero_sample_and_nan_files(tmp_path):
    sf.write(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="no samples"):
        read_audio(tmp_path / "zero.wav")
    sf.write(tmp_path / "nan.wav", np.full(100, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        read_audio(tmp_path / "nan.wav")


def test_directory_manifest_and_reference_option(tmp_path):
    clips = collect_clips([str(DATA / "utterances")])
    assert len(clips) == 12 and all(c.reference is None for c in clips)
    manifest = collect_clips([str(DATA / "utterances" / "manifest.jsonl")])
    assert len(manifest) == 12 and manifest[0].reference.startswith("The quick brown fox")
    literal = collect_clips([str(JFK)], reference="hello there")
    assert literal[0].reference == "hello there"
    ref_file = tmp_path / "ref.txt"
    ref_file.write_text("from a file\n")
    assert collect_clips([str(JFK)], reference=str(ref_file))[0].reference == "from a file"
    with pytest.raises(BadOption):
        collect_clips([str(DATA / "utterances")], reference="one text for many clips")


def test_broken_manifest_line(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"text": "no audio key"}) + "\n")
    with pytest.raises(AudioError, match="m.jsonl:1"):
        collect_clips([str(manifest)])


def test_default_is_the_bundled_sample():
    (clip,) = collect_clips(None)
    assert clip.name == "jfk.wav" and clip.reference
