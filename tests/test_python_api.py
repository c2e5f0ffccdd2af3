"""The Python API (``whisper_speedtest.benchmark``, ``backends``, ``load``): built and checked as the command
line builds it, so a bad argument raises the very line the command prints."""

import numpy as np
import pytest

import whisper_speedtest as ws
from tests.conftest import JFK
from whisper_speedtest.cli import main

BAD_ARGUMENTS = [
    ({"runs": 0}, ["-n", "0"]),
    ({"budget": float("nan")}, ["--budget", "nan"]),
    ({"warmup": -1}, ["--warmup", "-1"]),
    ({"beam_size": 0}, ["--beam-size", "0"]),
    ({"device": "tpu"}, ["--device", "tpu"]),
    ({"weights": "community"}, ["--weights", "community"]),
    ({"weights": "native", "synthetic": True}, ["--weights", "native", "--synthetic-weights"]),
    ({"quant": ["int3"]}, ["--quant", "int3"]),
    ({"model": "huge"}, ["-m", "huge"]),
    ({"language": "fr"}, ["--language", "fr"]),
    ({"backends": ["no-such-backend"]}, ["-b", "no-such-backend"]),
    ({"max_clips": 3}, ["--max-clips", "3"]),
    ({"ray_actors": 2}, ["--ray-actors", "2"]),
    ({"threads": 0}, ["--threads", "0"]),
    ({"price_per_hour": -1.0}, ["--price-per-hour", "-1"]),
]


@pytest.mark.parametrize(("arguments", "flags"), BAD_ARGUMENTS, ids=[" ".join(f) for _, f in BAD_ARGUMENTS])
def test_a_bad_argument_raises_the_line_the_command_prints(arguments, flags, capsys):
    with pytest.raises(ws.UserError) as raised:
        ws.benchmark(audio=str(JFK), **arguments)
    assert main(["benchmark", "--no-history", "-a", str(JFK), *flags]) == 2
    assert capsys.readouterr().err == f"error: {raised.value}\n"


def test_arguments_are_checked_before_any_audio_is_read(tmp_path):
    with pytest.raises(ws.BadOption, match="--runs must be a positive integer"):
        ws.benchmark(audio=str(tmp_path / "missing.wav"), runs=0)
    with pytest.raises(ws.AudioError, match="audio file not found"):
        ws.benchmark(audio=str(tmp_path / "missing.wav"), backends=["faster-whisper"])


def test_an_unknown_argument_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="unknown benchmark argument.*beams"):
        ws.benchmark(beams=5)


def test_audio_and_a_dataset_do_not_combine():
    with pytest.raises(ws.BadOption, match="does not combine with --dataset"):
        ws.benchmark(audio=str(JFK), dataset=str(JFK.parent))


def test_arrays_must_be_mono(fakes):
    with pytest.raises(ws.BadOption, match="16 kHz mono"):
        ws.benchmark(audio=np.zeros((2, 16000), dtype=np.float32), backends=["fake-echo"])


def test_backends_lists_the_runnable_ones_and_with_a_flag_the_others_with_why(fakes):
    runnable = {b.name for b in ws.backends()}
    everything = {b.name: b for b in ws.backends(include_unavailable=True)}
    assert "fake-echo" in runnable and "fake-mac" not in runnable
    mac_only = everything["fake-mac"]
    assert not mac_only.available and mac_only.reason
    assert runnable == {name for name, b in everything.items() if b.available}


def test_a_run_from_an_array_with_a_fake_backend_has_rows_and_records(fakes):
    samples = ws.read_audio(JFK)[0]
    run = ws.benchmark(audio=samples, backends="fake-echo", runs=1, warmup=0, reference="and so my fellow americans")
    (row,) = run.rows
    assert row.ok and row.transcribe.n == 1 and row.score.wer == 0.0
    (record,) = run.to_records()
    assert record["backend"] == "fake-echo" and record["n"] == 1 and record["wer"] == 0.0
    assert run.clips[0].duration_s == pytest.approx(11.0, abs=0.01)  # the record's attributes read through


@pytest.mark.integration
def test_benchmark_in_process_with_real_faster_whisper(tmp_path):
    """The README's notebook example, as written, on real tiny.en weights."""
    pandas = pytest.importorskip("pandas")
    run = ws.benchmark(audio=str(JFK), backends=["faster-whisper"], runs=2)
    frame = run.to_pandas()
    assert isinstance(frame, pandas.DataFrame) and len(frame) == 1
    row = frame.iloc[0]
    assert row["backend"] == "faster-whisper" and row["status"] == "ok", row["reason"]
    assert row["model"].startswith("tiny.en") and row["n"] == 2 and row["median_s"] > 0
    assert row["wer"] < 0.1 and "ask not what your country" in row["transcript"].lower()
    assert run.rows[0].params["beam_size"] == 1  # read back from the library, as in the table
    (written,) = run.write(tmp_path / "run.json")
    from whisper_speedtest.results import load_run

    assert load_run(written).results[0].transcribe.n == 2


@pytest.mark.integration
def test_load_is_a_context_manager():
    clip = ws.load_clip(JFK)
    with ws.load("faster-whisper", "tiny.en") as session:
        assert session.ready
        text = session.transcribe(clip.samples).text
    assert "ask not what your country" in text.lower()
