"""Recording: a fake input device drives the real recording code; no device gives one line, exit 2."""

import itertools
import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import JFK
from whisper_speedtest.cli import record as cli_record
from whisper_speedtest.recorder import LEVEL_FLOOR_DB, Level, MeterReading, Recorder, level_of, save_recording


class FakeInputDevice:
    """Plays ``samples`` in blocks through the callback, like sounddevice.InputStream, then presses Enter."""

    def __init__(self, samples: np.ndarray, samplerate: int = 16_000, block: int = 1024, press_enter: bool = True):
        self.samples = samples if samples.ndim == 2 else samples[:, None]
        self.samplerate, self.channels, self.block = samplerate, self.samples.shape[1], block
        self.enter = threading.Event()
        self.press_enter = press_enter
        self.opened_with: dict = {}

    def __call__(self, *, samplerate, channels, callback, device=None):
        self.opened_with = {"samplerate": samplerate, "channels": channels, "device": device}
        self.callback = callback
        return self

    def __enter__(self):
        self.thread = threading.Thread(target=self._play)
        self.thread.start()
        return self

    def _play(self):
        buffer = np.zeros((self.block, self.channels), dtype=np.float32)  # reused, as a real device does
        for start in range(0, len(self.samples), self.block):
            chunk = self.samples[start : start + self.block]
            buffer[: len(chunk)] = chunk
            self.callback(buffer[: len(chunk)], len(chunk), None, None)
        if self.press_enter:
            self.enter.set()

    def __exit__(self, *exc):
        self.thread.join()


def jfk_samples() -> np.ndarray:
    samples, rate = sf.read(JFK, dtype="float32")
    assert rate == 16_000
    return samples


def test_recorded_samples_equal_what_the_device_delivered():
    device = FakeInputDevice(jfk_samples(), block=1000)
    readings = []
    recording = Recorder(stream_factory=device, poll_s=0.01).record(device.enter, on_meter=readings.append)
    assert np.array_equal(recording.samples, jfk_samples())
    assert recording.duration_s == pytest.approx(11.0)
    assert (recording.capture_rate, recording.capture_channels, recording.overflows) == (16_000, 1, 0)
    assert device.opened_with == {"samplerate": 16_000, "channels": 1, "device": None}
    assert readings[-1].elapsed_s == pytest.approx(11.0)
    assert all(a.elapsed_s <= b.elapsed_s for a, b in itertools.pairwise(readings))
    speech = [r.level.rms_db for r in readings if r.elapsed_s > 0]
    assert speech and all(-70 < db < 0 for db in speech)  # a speech recording reads tens of dB below full scale


def test_stereo_48k_device_is_mixed_down_and_resampled():
    mono = jfk_samples()[:16_000 * 2]
    import soxr

    at_48k = soxr.resample(mono, 16_000, 48_000).astype(np.float32)
    device = FakeInputDevice(np.stack([at_48k, at_48k], axis=1), samplerate=48_000)
    recording = Recorder(stream_factory=device, poll_s=0.01).record(device.enter)
    assert (recording.capture_rate, recording.capture_channels) == (48_000, 2)
    assert len(recording.samples) == pytest.approx(32_000, abs=2)
    assert np.corrcoef(recording.samples[100:31_000], mono[100:31_000])[0, 1] > 0.99


def test_max_seconds_stops_without_enter():
    device = FakeInputDevice(jfk_samples(), press_enter=False)
    recording = Recorder(stream_factory=device, poll_s=0.01).record(threading.Event(), max_seconds=2.0)
    assert np.array_equal(recording.samples, jfk_samples()[:32_000])


def test_level_meter_in_dbfs():
    t = np.arange(16_000) / 16_000
    sine = np.sin(2 * math.pi * 440 * t).astype(np.float32)
    full = level_of(sine)
    assert full.rms_db == pytest.approx(-3.01, abs=0.02) and full.peak_db == pytest.approx(0.0, abs=0.01) and full.clipping
    half = level_of(sine / 2)
    assert half.rms_db == pytest.approx(-9.03, abs=0.02) and half.peak_db == pytest.approx(-6.02, abs=0.01) and not half.clipping
    assert level_of(np.zeros(1600, dtype=np.float32)) == Level(LEVEL_FLOOR_DB, LEVEL_FLOOR_DB)
    assert level_of(np.zeros(0, dtype=np.float32)).rms_db == LEVEL_FLOOR_DB


def test_meter_line_shows_time_bar_and_level():
    line = cli_record.render_meter(MeterReading(65.25, Level(-20.0, -8.0))).plain
    assert "01:05.2" in line and "-20.0 dB" in line and "press Enter" in line
    assert line.count("█") == 20 and line.count("░") == 10  # -20 dB on a -60..0 dB bar of 30
    assert "CLIPPING" in cli_record.render_meter(MeterReading(1.0, Level(-1.0, 0.0))).plain
    assert "-inf dB" in cli_record.render_meter(MeterReading(0.0, Level(LEVEL_FLOOR_DB, LEVEL_FLOOR_DB))).plain


def test_save_writes_a_readable_16k_wav(tmp_path):
    device = FakeInputDevice(jfk_samples())
    recording = Recorder(stream_factory=device, poll_s=0.01).record(device.enter)
    path = save_recording(tmp_path / "take.wav", recording)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (16_000, 1, len(jfk_samples()), "PCM_16")
    data, _ = sf.read(path, dtype="float32")
    assert np.abs(data - jfk_samples()).max() <= 1 / 32768 + 1e-6
    assert [p.name for p in tmp_path.iterdir()] == ["take.wav"]


@pytest.fixture
def fake_echo():
    from tests.fake_backends import EchoBackend
    from whisper_speedtest.backends import register, unregister

    register(EchoBackend)
    try:
        yield EchoBackend.name
    finally:
        unregister(EchoBackend.name)


def test_record_command_benchmarks_the_recording(tmp_path, monkeypatch, fake_echo):
    import typer
    from typer.testing import CliRunner

    from whisper_speedtest.results import load_run

    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "store"))
    device = FakeInputDevice(jfk_samples())
    monkeypatch.setattr(cli_record, "stream_factory", device)
    monkeypatch.setattr(cli_record, "stop_signal", lambda: device.enter)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # a group, so that the command is named as on the real command line
        pass

    cli_record.register(app)
    args = ["record", "-b", fake_echo, "-n", "1", "--warmup", "0", "--save", str(tmp_path / "take.wav"), "-o", str(tmp_path / "run.json"), "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    run = load_run(tmp_path / "run.json")
    assert [(c.name, c.duration_s, c.reference) for c in run.clips] == [("take.wav", 11.0, None)]
    row = run.results[0]
    assert row.ok and row.score is None  # no reference, no WER
    assert sf.info(tmp_path / "take.wav").samplerate == 16_000
    from whisper_speedtest import history

    assert [e.run_id for e in history.list_runs()] == [run.run_id]


def record_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "whisper_speedtest", "record", "-q", "--max-seconds", "1", *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def _has_input_device() -> bool:
    try:
        import sounddevice

        sounddevice.query_devices(kind="input")
        return True
    except Exception:
        return False


@pytest.mark.skipif(_has_input_device(), reason="this machine has an audio input device")
def test_no_input_device_is_one_line():
    line = one_error_line(record_cli())
    assert "no default audio input device" in line or "PortAudio library is not installed" in line


def require_real_sounddevice():
    """Skip, with the reason, where sounddevice or the PortAudio system library it loads is missing."""
    try:
        import sounddevice  # noqa: F401
    except ImportError:
        pytest.skip("sounddevice not installed: pip install 'whisper-speedtest[record]'")
    except OSError as exc:  # sounddevice raises OSError at import when libportaudio is missing
        pytest.skip(f"PortAudio system library missing ({exc}): apt-get install libportaudio2")


def test_unknown_input_device_is_one_line():
    require_real_sounddevice()
    line = one_error_line(record_cli("--input-device", "9999"))
    assert "9999" in line and "not found" in line


def test_missing_portaudio_library_is_one_line_with_the_install_hint(tmp_path):
    (tmp_path / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    line = one_error_line(record_cli(env={"PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()])}))
    assert "PortAudio library is not installed" in line and "libportaudio2" in line


def test_missing_sounddevice_package_names_the_extra(tmp_path):
    (tmp_path / "sounddevice.py").write_text("raise ImportError('No module named sounddevice')\n")
    line = one_error_line(record_cli(env={"PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()])}))
    assert "pip install 'whisper-speedtest[record]'" in line


def test_bad_options_fail_before_the_microphone_opens(tmp_path):
    (tmp_path / "sounddevice.py").write_text("raise AssertionError('the microphone must not be touched')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()])}
    assert "--runs" in one_error_line(record_cli("-n", "0", env=env))
    assert "--save" in one_error_line(record_cli("--save", str(tmp_path / "take.xyz"), env=env))


def test_live_audio_is_handed_on_as_it_arrives_and_is_the_recording():
    """stream --mic: each new stretch goes to on_audio at 16 kHz (resampled as it comes), and the recording is exactly those."""
    import soxr

    mono = jfk_samples()[:16_000 * 3]
    at_48k = soxr.resample(mono, 16_000, 48_000).astype(np.float32)
    device = FakeInputDevice(np.stack([at_48k, at_48k], axis=1), samplerate=48_000, block=4800)
    handed: list[np.ndarray] = []
    recording = Recorder(stream_factory=device, poll_s=0.01).record(device.enter, on_audio=handed.append)
    assert len(handed) > 1 and all(block.dtype == np.float32 and block.ndim == 1 for block in handed)
    assert np.array_equal(np.concatenate(handed), recording.samples)
    assert len(recording.samples) == pytest.approx(48_000, abs=2)
    offline = soxr.resample(at_48k, 48_000, 16_000, quality="HQ")
    assert np.abs(recording.samples[: len(offline)] - offline[: len(recording.samples)]).max() < 1e-3  # the stream resampler agrees


def test_live_audio_stops_at_max_seconds():
    device = FakeInputDevice(jfk_samples(), press_enter=False)
    handed: list[np.ndarray] = []
    recording = Recorder(stream_factory=device, poll_s=0.01).record(threading.Event(), max_seconds=2.0, on_audio=handed.append)
    assert sum(len(b) for b in handed) == len(recording.samples) == 32_000
