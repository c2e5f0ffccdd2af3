"""The run budget: at least a minimum of timed runs, no more once the budget is spent, N always shown;
a backend slower than real time gets one run and a note, or is stopped when its first pass overruns."""

from dataclasses import replace

import numpy as np
import pytest

from whisper_speedtest.audio import AudioClip
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench.run_policy import RunCount, RunPolicy
from whisper_speedtest.bench.session import BenchmarkRequest, run_benchmark, select_backends
from whisper_speedtest.cli.benchmark import BenchmarkOptions, prepare
from whisper_speedtest.errors import BadOption
from whisper_speedtest.progress import eta_s
from whisper_speedtest.results import TOO_SLOW, DecodeSettings


def test_policy_counts_runs_like_hyperfine():
    policy = RunPolicy(budget_s=3.0, min_runs=3, max_runs=10)
    assert policy.count(pass_s=0.1, audio_s=11.0) == RunCount(10)  # 30 would fit: capped at the maximum
    assert policy.count(pass_s=0.5, audio_s=11.0) == RunCount(6)
    assert policy.count(pass_s=2.0, audio_s=11.0) == RunCount(3)  # only 1 fits: the minimum still runs
    slow = policy.count(pass_s=22.0, audio_s=11.0)
    assert slow.runs == 1 and "slower than real time here (RTFx 0.50" in slow.note
    assert RunPolicy(exact=5).count(pass_s=22.0, audio_s=11.0) == RunCount(5)  # -n is obeyed, however slow


def test_first_pass_limit_is_past_the_audio_and_the_budget():
    policy = RunPolicy(budget_s=3.0)
    assert policy.first_pass_limit(11.0) == 11.0
    assert policy.first_pass_limit(1.0) == 3.0
    assert RunPolicy(exact=1).first_pass_limit(11.0) is None


def test_options_choose_budget_or_exact_count():
    budgeted = prepare(BenchmarkOptions()).request.settings
    assert (budgeted.budget_s, budgeted.runs, budgeted.max_runs) == (3.0, 3, 10)
    exact = prepare(BenchmarkOptions(runs=4)).request.settings
    assert (exact.budget_s, exact.runs) == (None, 4)
    assert RunPolicy.of(exact) == RunPolicy(exact=4)
    assert "4 timed run(s)" in exact.runs_described()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (BenchmarkOptions(budget=0.0), "--budget must be a positive number of seconds"),
        (BenchmarkOptions(budget=float("nan")), "--budget must be a positive number of seconds"),
        (BenchmarkOptions(runs=0), "--runs must be a positive integer"),
        (BenchmarkOptions(weights="community"), "--weights must be same or native"),
        (BenchmarkOptions(weights="native", synthetic=True), "does not combine with --synthetic-weights"),
    ],
)
def test_bad_budget_runs_and_weights_are_one_line_errors(options, message):
    with pytest.raises(BadOption, match=message):
        prepare(options)


def test_eta_is_the_mean_backend_time_for_those_left():
    assert eta_s([], 3, 0.0) is None
    assert eta_s([10.0, 20.0], 2, 5.0) == 25.0
    assert eta_s([10.0], 1, 30.0) == 0.0  # never negative


def _half_second_clip():
    samples = np.zeros(8000, dtype=np.float32)
    return (AudioClip("half-second", "(generated)", samples, "and so my fellow americans"),)


def _budget_request(backends, budget_s=1.0):
    settings = DecodeSettings("en", 1, 0.0, runs=3, warmup=1, timeout_s=60.0, budget_s=budget_s, max_runs=10)
    return BenchmarkRequest("tiny.en", select_backends(backends), settings, LoadOptions(), clips=_half_second_clip())


def test_a_fast_backend_runs_until_the_budget_and_a_real_time_slow_one_once(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_SLOW_S", "0.8")  # 0.8 s per 0.5 s of audio: slower than real time, within the 1 s budget
    run = run_benchmark(_budget_request(("fake-echo", "fake-slow")))
    echo, slow = run.results
    assert echo.ok and echo.transcribe.n == 10 and echo.runs_note == ""  # an instant backend: the maximum
    assert slow.ok and slow.transcribe.n == 1
    assert "slower than real time here" in slow.runs_note and "-n sets an exact count" in slow.runs_note


def test_a_backend_whose_first_pass_overruns_is_stopped_with_a_note(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_SLOW_S", "60")
    run = run_benchmark(_budget_request(("fake-slow",)))
    (row,) = run.results
    assert row.status == TOO_SLOW
    assert row.reason.startswith("loaded in ") and "one pass over 0.5 s of audio was still running after 1." in row.reason
    assert "-n 1 or --budget" in row.reason


def test_exact_runs_are_not_cut_by_the_budget(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_SLOW_S", "1.2")  # past the first-pass limit a budget would set
    settings = DecodeSettings("en", 1, 0.0, runs=1, warmup=0, timeout_s=60.0)
    run = run_benchmark(BenchmarkRequest("tiny.en", select_backends(("fake-slow",)), settings, LoadOptions(), clips=_half_second_clip()))
    (row,) = run.results
    assert row.ok and row.transcribe.n == 1 and row.runs_note == ""


def test_no_row_of_a_sweep_is_stopped_and_each_names_what_loaded(fakes, monkeypatch):
    """--quant float16,int8 on a backend slower than real time: float16 (the baseline every other variant's WER
    change is measured against) and int8 each get one timed run and a note, and int8 says it fell back."""
    monkeypatch.setenv("FAKE_SLOW_S", "1.0")  # 2 x real time on the half-second clip, past the 0.5 s budget
    settings = DecodeSettings("en", 1, 0.0, runs=3, warmup=1, timeout_s=60.0, budget_s=0.5, max_runs=10)
    request = BenchmarkRequest("tiny.en", select_backends(("fake-slow",)), settings, LoadOptions(), clips=_half_second_clip(),
                               quantizations=("float16", "int8"))
    baseline, int8 = run_benchmark(request).results
    for row in (baseline, int8):
        assert (row.status, row.transcribe.n) == ("ok", 1)
        assert row.runs_note.startswith("measured to the end, as every row of a --quant sweep: slower than real time here")
    assert (baseline.variant, int8.variant) == ("float16", "int8")
    assert int8.did_fallback and int8.actual_variant == "float16" and "no int8 variant" in int8.fallback_reason


def test_a_row_stopped_as_too_slow_names_the_variant_that_loaded(fakes, monkeypatch):
    monkeypatch.setenv("FAKE_SLOW_S", "60")
    request = replace(_budget_request(("fake-slow",)), quantizations=("int8",))  # one variant: no sweep, so the budget stops it
    (row,) = run_benchmark(request).results
    assert row.status == TOO_SLOW and row.variant == "int8"
    assert row.did_fallback and row.actual_variant == "float16" and "no int8 variant" in row.fallback_reason


def test_the_sweep_policy_has_no_first_pass_limit():
    policy = RunPolicy(budget_s=3.0).for_sweep()
    assert policy.first_pass_limit(11.0) is None
    assert policy.count(pass_s=22.0, audio_s=11.0).runs == 1
