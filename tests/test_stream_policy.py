"""Streaming figures on scripted backends, whose words and times are fixed: known answers, in process."""

import json

import numpy as np
import pytest

from tests import stream_fakes
from tests.stream_fakes import ramp
from whisper_speedtest.audio import AudioClip
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench.streaming import metrics
from whisper_speedtest.bench.streaming.driver import play
from whisper_speedtest.bench.streaming.records import Alignment, Clock
from whisper_speedtest.bench.streaming.session import StreamRequest, run_stream
from whisper_speedtest.report.stream_rows import render_stream_json
from whisper_speedtest.results import DecodeOptions


def _transcriber(backend_class):
    backend = backend_class()
    return lambda buffer, prompt: backend.transcribe_words(buffer, DecodeOptions(), prompt)


def test_latency_of_a_perfect_scripted_stream_is_the_known_answer():
    stream = play(_transcriber(stream_fakes.ScriptedStreamBackend), ramp(), 1.0, Clock.SIMULATED)
    # A word ending at e is in the hypotheses of steps ceil(e) and ceil(e) + 1, and committed at the
    # second (clock ceil(e) + 1); "six" only at the end of the audio (clock 5).
    expected = {"one": 2 - 0.6, "two": 3 - 1.4, "three": 4 - 2.3, "four": 5 - 3.1, "five": 5 - 3.9, "six": 5 - 4.8}
    matched, unmatched = metrics.commit_latencies(stream, stream_fakes.alignment_words())
    assert {m.word: round(m.latency_s, 6) for m in matched} == pytest.approx(expected)
    assert unmatched == 0
    summary = metrics.latency_summary(stream, stream_fakes.alignment_words())
    assert summary.median_s == pytest.approx(1.5)  # of 0.2 1.1 1.4 1.6 1.7 1.9
    assert summary.p90_s == pytest.approx(1.8)
    assert summary.first_s == pytest.approx(1.4)
    assert metrics.revisions(stream) == 0
    assert metrics.committed_text(stream) == "one two three four five six"


def test_a_misheard_word_is_one_revision_and_commits_later():
    stream = play(_transcriber(stream_fakes.MishearsFirstBackend), ramp(), 1.0, Clock.SIMULATED)
    assert metrics.revisions(stream) == 1  # "won" shown after step 1, withdrawn at step 2
    matched, _ = metrics.commit_latencies(stream, stream_fakes.alignment_words())
    assert matched[0].word == "one" and matched[0].latency_s == pytest.approx(3 - 0.6)
    assert "won" not in metrics.committed_text(stream)


def test_silence_commits_hallucinations_that_get_no_latency():
    silence = AudioClip("silence.wav", "silence.wav", np.zeros(3 * 16_000, dtype=np.float32))
    request = StreamRequest("tiny.en", (stream_fakes.HallucinatingBackend,), DecodeOptions(), LoadOptions(), silence,
                            in_process=True, alignment=Alignment("no speech: no words", ()))
    (row,) = run_stream(request).rows
    assert row.status == "ok"
    assert row.figures.unaware is None  # nothing to measure: no latency, not a made-up one
    stream = row.passes[0]
    assert metrics.commit_latencies(stream, ())[1] > 0  # the hallucinated words are counted as unmatched


class FakeTime:
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += max(0.0, seconds)


def _slow(backend_class, compute_per_buffer_s, clock):
    """Each call costs ``compute_per_buffer_s`` seconds per second of buffer, on the fake clock."""
    inner = _transcriber(backend_class)

    def transcribe(buffer, prompt):
        clock.now += compute_per_buffer_s * len(buffer) / 16_000
        return inner(buffer, prompt)

    return transcribe


def test_on_the_real_clock_a_backend_slower_than_speech_falls_behind():
    clock = FakeTime()
    audio = np.arange(20 * 16_000, dtype=np.float32)  # the script's words, then 15 s more of (silent) stream
    stream = play(_slow(stream_fakes.ScriptedStreamBackend, 1.2, clock), audio, 1.0, Clock.REAL, now=lambda: clock.now, sleep=clock.sleep)
    lags = metrics.lags(stream)
    assert lags == sorted(lags) and lags[-1] > lags[0] + 5  # later and later: the buffer grows, and with it each step
    assert not metrics.kept_up(lags, 1.0)
    assert [s.clock_s for s in stream.steps] == sorted(s.clock_s for s in stream.steps)


def test_on_the_real_clock_a_fast_backend_keeps_up_and_waits_for_the_audio():
    clock = FakeTime()
    stream = play(_slow(stream_fakes.ScriptedStreamBackend, 0.05, clock), ramp(), 1.0, Clock.REAL, now=lambda: clock.now, sleep=clock.sleep)
    assert metrics.kept_up(metrics.lags(stream), 1.0)
    matched, _ = metrics.commit_latencies(stream, stream_fakes.alignment_words())
    assert matched[0].latency_s == pytest.approx(2 - 0.6 + 0.05 * 2)  # the simulated answer plus that step's compute (2 s buffer)


def test_a_run_of_punctuation_is_no_word_it_is_neither_committed_nor_a_revision():
    stream = play(_transcriber(stream_fakes.RunsAwayAtTheEndBackend), ramp(), 1.0, Clock.SIMULATED)
    assert metrics.committed_text(stream) == "one two three four five six"
    assert all(w.text.strip() != "." for step in stream.steps for w in (*step.committed, *step.tentative))
    assert metrics.revisions(stream) == 0


def test_one_slow_last_step_is_not_falling_behind():
    steady = [0.3, 0.28, 0.31, 0.3, 0.29, 0.3, 0.32, 0.3] * 4
    assert metrics.kept_up(steady + [2.7], 1.0)  # faster-whisper's real-clock pass on the long-form passage ended so
    assert metrics.lag_ends(steady + [2.7]) == (pytest.approx(0.3), pytest.approx(0.3))
    growing = [0.5 * i for i in range(33)]
    assert not metrics.kept_up(growing, 1.0)
    assert metrics.lag_ends(growing) == (pytest.approx(1.0), pytest.approx(15.0))  # medians of the first and last 5
    assert metrics.lag_ends([0.6, 0.9, 1.3]) == (0.6, 1.3)  # a short stream: its first and last steps
    assert metrics.lag_ends([]) is None


def test_json_events_reproduce_the_row_latencies():
    request = StreamRequest("tiny.en", (stream_fakes.MishearsFirstBackend,), DecodeOptions(), LoadOptions(),
                            AudioClip("ramp", "ramp", ramp(), "one two three four five six"), in_process=True,
                            alignment=Alignment("scripted", stream_fakes.alignment_words()))
    run = run_stream(request)
    data = json.loads(render_stream_json(run))
    ends = {w["text"]: w["end"] for w in data["alignment"]["words"]}  # words are unique in this script
    (row,) = data["rows"]
    latencies = [step["clock_s"] - ends[w["text"]] for step in row["passes"][0]["steps"] for w in step["committed"]]
    figures = row["figures"]["unaware"]
    assert figures["median_s"] == pytest.approx(float(np.median(latencies)))
    assert figures["p90_s"] == pytest.approx(float(np.percentile(latencies, 90)))
    assert figures["first_s"] == pytest.approx(latencies[0])
    assert row["figures"]["revisions_per_min"] == pytest.approx(1 / (5 / 60))
    assert row["figures"]["final_wer"] == 0.0


def test_local_agreement_3_waits_for_a_third_hypothesis():
    stream = play(_transcriber(stream_fakes.ScriptedStreamBackend), ramp(), 1.0, Clock.SIMULATED, agreement=3)
    matched, _ = metrics.commit_latencies(stream, stream_fakes.alignment_words())
    # in the hypotheses of steps ceil(e), +1 and +2: committed at clock ceil(e) + 2, or at the end (5 s)
    expected = {"one": 3 - 0.6, "two": 4 - 1.4, "three": 5 - 2.3, "four": 5 - 3.1, "five": 5 - 3.9, "six": 5 - 4.8}
    assert {m.word: round(m.latency_s, 6) for m in matched} == pytest.approx(expected)
    assert metrics.committed_text(stream) == "one two three four five six"


def test_a_long_stream_is_trimmed_at_segment_ends_and_prompted_with_what_left_the_buffer():
    from whisper_speedtest.backends.base import TimedWord, WordTranscript
    from whisper_speedtest.bench.streaming.policy import LocalAgreement

    words = [(f" w{i}", i * 0.5 + 0.05, i * 0.5 + 0.45) for i in range(80)]  # 40 s, a word every half second
    prompts, buffers = [], []

    def transcribe(buffer, prompt):
        start = float(buffer[0]) / 16_000
        end = start + len(buffer) / 16_000
        heard = [TimedWord(t, a - start, b - start) for t, a, b in words if a >= start - 1e-6 and b <= end + 1e-6]
        prompts.append(prompt)
        buffers.append(len(buffer) / 16_000)
        return WordTranscript(tuple(heard), tuple(w.end for w in heard[3::4]))  # a segment every four words

    policy = LocalAgreement(transcribe)
    samples = np.arange(40 * 16_000, dtype=np.float32)
    committed = []
    for start in range(0, len(samples), 16_000):
        committed += policy.step(samples[start:start + 16_000]).committed
    committed += policy.finish().committed
    assert [w.text for w in committed] == [t for t, _, _ in words]
    assert max(buffers) <= 16.0 + 1  # trimmed once past 15 s, at a segment end the commits reached
    assert policy.offset_s > 20
    assert prompts[-1].split()[-1] == [t for t, _, b in words if b <= policy.offset_s][-1].strip()


def test_every_writer_renders_a_scripted_run(tmp_path):
    from whisper_speedtest.report.stream_writers import STREAM_WRITERS

    request = StreamRequest("tiny.en", (stream_fakes.ScriptedStreamBackend, stream_fakes.NoWordTimesBackend), DecodeOptions(),
                            LoadOptions(), AudioClip("ramp", "ramp", ramp(), "one two three four five six"), in_process=True,
                            alignment=Alignment("scripted", stream_fakes.alignment_words()))
    run = run_stream(request)
    html = STREAM_WRITERS[".html"](run)
    assert html.count("<polyline") == 1 and "fake-stream · 1 s · simulated" in html
    assert "gives no word timestamps" in html
    csv_text = STREAM_WRITERS[".csv"](run)
    assert csv_text.splitlines()[1].startswith("fake-stream,ok,") and "1.50,1.80,1.40" in csv_text
    assert "| fake-stream | ok | 1 | 1.50 | 1.80 | 1.40 |" in STREAM_WRITERS[".md"](run)


@pytest.fixture(scope="module")
def two_backends_both_clocks():
    request = StreamRequest("tiny.en", (stream_fakes.ScriptedStreamBackend, stream_fakes.MishearsFirstBackend), DecodeOptions(),
                            LoadOptions(), AudioClip("ramp", "ramp", ramp(), "one two three four five six"), in_process=True,
                            alignment=Alignment("scripted", stream_fakes.alignment_words()), clocks=(Clock.SIMULATED, Clock.REAL))
    return run_stream(request)  # the real clock plays the 5 s in real time, once for every width


@pytest.mark.parametrize("width", [80, 100, 120])
def test_the_stream_table_keeps_every_backend_and_figure_whole_at_any_width(width, two_backends_both_clocks):
    from rich.console import Console

    from whisper_speedtest.cli.stream import print_stream
    from whisper_speedtest.report.stream_rows import flat_stream_rows

    run = two_backends_both_clocks
    console = Console(width=width, record=True, color_system=None)
    print_stream(run, console)
    screen = console.export_text()
    assert all(len(line) <= width for line in screen.splitlines())
    words = set(screen.split())
    for row in flat_stream_rows(run):
        assert row["label"] in screen  # the backend is never dropped, whatever the width
        latency = f"{row['latency_median_s']}/{row['latency_p90_s']}/{row['latency_first_s']}"
        assert latency in words and row["revisions_per_min"] in words and row["peak_rss_mb"] in words  # whole, never cut
