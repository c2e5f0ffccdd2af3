"""The stream command's bad input (one line, exit 2) and its isolation: a hung backend is a failed row
with the steps it streamed, the others go on."""

import numpy as np
import pytest
import soundfile as sf

from tests import stream_fakes
from whisper_speedtest.audio import AudioClip
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench.streaming.records import Alignment
from whisper_speedtest.bench.streaming.session import StreamRequest, run_stream
from whisper_speedtest.cli.app import main
from whisper_speedtest.results import DecodeOptions


def _one_line_error(capsys, argv, expected):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err
    assert "Traceback" not in err


@pytest.mark.parametrize("chunk, expected", [("0", "positive number of seconds"), ("-1", "positive"), ("abc", "must be seconds")])
def test_a_chunk_of_zero_or_less_is_one_line(capsys, chunk, expected):
    _one_line_error(capsys, ["stream", "--chunk", chunk], expected)


def test_a_file_shorter_than_one_chunk_is_one_line(capsys, tmp_path):
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(8_000, dtype=np.float32), 16_000)
    _one_line_error(capsys, ["stream", "-a", str(short), "--chunk", "0.5,1"], "shorter than one chunk (1 s)")


def test_an_output_stream_cannot_write_is_one_line(capsys, tmp_path):
    _one_line_error(capsys, ["stream", "-o", str(tmp_path / "chart.png")], "stream writes")


def test_a_backend_without_word_times_is_skipped_with_the_reason():
    clip = AudioClip("ramp", "ramp", stream_fakes.ramp())
    request = StreamRequest("tiny.en", (stream_fakes.NoWordTimesBackend,), DecodeOptions(), LoadOptions(), clip, in_process=True,
                            alignment=Alignment("scripted", stream_fakes.alignment_words()))
    (row,) = run_stream(request).rows
    assert row.status == "skipped" and "gives no word timestamps" in row.reason and row.figures is None


def test_a_backend_that_hangs_mid_stream_times_out_and_keeps_its_steps():
    clip = AudioClip("ramp", "ramp", stream_fakes.ramp())
    request = StreamRequest("tiny.en", (stream_fakes.HangsMidStreamBackend, stream_fakes.ScriptedStreamBackend), DecodeOptions(),
                            LoadOptions(), clip, timeout_s=20, alignment=Alignment("scripted", stream_fakes.alignment_words()))
    hung, fine = run_stream(request).rows
    assert hung.status == "timeout" and "--timeout 20" in hung.reason
    assert [s.index for s in hung.passes[0].steps] == [0, 1] and not hung.passes[0].completed
    assert fine.status == "ok" and fine.figures.unaware.median_s == pytest.approx(1.5)


def test_what_a_library_prints_in_the_child_stays_off_the_screen_and_is_kept_in_the_row(capfd):
    clip = AudioClip("ramp", "ramp", stream_fakes.ramp())
    request = StreamRequest("tiny.en", (stream_fakes.PrintsWhileLoadingBackend,), DecodeOptions(), LoadOptions(), clip, timeout_s=60,
                            alignment=Alignment("scripted", stream_fakes.alignment_words()))
    (row,) = run_stream(request).rows
    printed = capfd.readouterr()
    assert row.status == "ok" and row.figures.unaware.median_s == pytest.approx(1.5)
    assert "Loading weights: 100%" in row.library_log and "native: kernel cache warmed" in row.library_log
    assert "Loading weights" not in printed.out + printed.err and "kernel cache" not in printed.out + printed.err


def test_ctrl_c_keeps_the_steps_measured_and_marks_the_rest():
    from whisper_speedtest.bench.streaming.session import StreamInterrupted

    clip = AudioClip("ramp", "ramp", stream_fakes.ramp())
    request = StreamRequest("tiny.en", (stream_fakes.InterruptedMidStreamBackend, stream_fakes.ScriptedStreamBackend), DecodeOptions(),
                            LoadOptions(), clip, in_process=True, alignment=Alignment("scripted", stream_fakes.alignment_words()))
    with pytest.raises(StreamInterrupted) as caught:
        run_stream(request)
    interrupted, never_ran = caught.value.run.rows
    assert caught.value.run.interrupted
    assert interrupted.status == "skipped" and interrupted.reason == "interrupted by the user"
    assert len(interrupted.passes[0].steps) == 2 and not interrupted.passes[0].completed
    assert never_ran.status == "skipped" and not never_ran.passes


def test_the_command_writes_what_was_measured_after_ctrl_c(tmp_path, monkeypatch, capsys):
    from whisper_speedtest.bench.streaming import session

    clip = AudioClip("ramp", "ramp", stream_fakes.ramp())
    request = StreamRequest("tiny.en", (stream_fakes.InterruptedMidStreamBackend,), DecodeOptions(), LoadOptions(), clip,
                            in_process=True, alignment=Alignment("scripted", stream_fakes.alignment_words()))
    real_run = session.run_stream
    monkeypatch.setattr(session, "run_stream", lambda _request, **callbacks: real_run(request, **callbacks))
    out = tmp_path / "partial.json"
    code = main(["stream", "-b", "faster-whisper", "-o", str(out), "-q"])
    assert code == 130
    assert "kept what was measured" in capsys.readouterr().err
    import json

    (row,) = json.loads(out.read_text())["rows"]
    assert row["status"] == "skipped" and len(row["passes"][0]["steps"]) == 2


def test_the_live_transcript_shows_committed_then_tentative_words():
    import io

    from rich.console import Console

    from whisper_speedtest.bench.streaming.driver import play
    from whisper_speedtest.bench.streaming.records import Clock
    from whisper_speedtest.cli.stream import LiveTranscript

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    backend = stream_fakes.ScriptedStreamBackend()
    shown = []
    with LiveTranscript(console, enabled=True) as live:
        def step(s):
            live.on_step("fake-stream@1s", s)
            shown.append(live.line.plain)

        play(lambda buffer, prompt: backend.transcribe_words(buffer, DecodeOptions(), prompt), stream_fakes.ramp(), 1.0, Clock.SIMULATED, step)
    assert shown[0] == "fake-stream@1s · 1.0 s:  one"  # nothing committed yet, "one" tentative
    assert shown[2] == "fake-stream@1s · 3.0 s: one two three"  # "one two" committed, "three" tentative
    assert shown[-1] == "fake-stream@1s · 5.0 s: one two three four five six"
