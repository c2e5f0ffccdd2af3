"""Only like beside like: rows matched by backend and variant, compared from their raw samples, and kept
apart (with the reason) when audio, settings or weights differ; the board merges repeat runs of a machine."""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from whisper_speedtest.report.board_page import render_board, weights_groups
from whisper_speedtest.report.compare import FASTER, NOT_COMPARABLE, SAME, SLOWER, compare_runs
from whisper_speedtest.report.comparable import precision_of, row_variants
from whisper_speedtest.results import AudioSet, ClipInfo

from .run_fixtures import make_run

JFK = AudioSet("1f" * 32, 1, 11.0)
VARIED = AudioSet("2e" * 32, 77, 577.3)
NOISE = [1.00, 1.03, 0.98, 1.01, 0.99, 1.02, 0.97, 1.04, 1.00, 0.99]


def with_samples(run, samples_by_backend, audio_set=JFK):
    """``run`` with raw samples (schema 1.4) on the rows named, and its audio set."""
    rows = []
    for row in run.results:
        samples = samples_by_backend.get((row.backend, row.variant))
        if samples and row.ok:
            median = statistics.median(samples)
            stats = replace(row.transcribe, n=len(samples), median=median, min=min(samples), max=max(samples))
            row = replace(row, samples=tuple(samples), transcribe=stats, rtfx=11.0 / median)
        rows.append(row)
    return replace(run, results=tuple(rows), audio_set=audio_set)


def by_name(comparison):
    return {r.backend: r for r in comparison.rows}


def test_two_runs_of_the_same_noise_are_no_clear_difference_with_overlapping_intervals():
    a = with_samples(make_run("a"), {("faster-whisper", "default"): NOISE})
    b = with_samples(make_run("b"), {("faster-whisper", "default"): [x * 1.01 for x in reversed(NOISE)]})
    row = by_name(compare_runs(a, b))["faster-whisper@float16"]
    assert row.verdict == SAME and row.test == "welch t-test over 10 and 10 timed runs"
    assert row.ratio_interval.low < 1 < row.ratio_interval.high and row.speed.p_value > 0.05


def test_a_run_twice_as_slow_is_slower_with_the_factor_inside_the_interval():
    a = with_samples(make_run("a"), {("faster-whisper", "default"): NOISE})
    b = with_samples(make_run("b"), {("faster-whisper", "default"): [2 * x for x in NOISE[::-1]]})
    row = by_name(compare_runs(a, b))["faster-whisper@float16"]
    assert row.verdict == SLOWER and row.regressed
    assert row.ratio_interval.low <= 2.0 <= row.ratio_interval.high
    assert by_name(compare_runs(b, a))["faster-whisper@float16"].verdict == FASTER


def test_runs_on_different_audio_are_never_one_comparison_and_say_why():
    a = with_samples(make_run("a"), {("faster-whisper", "default"): NOISE}, JFK)
    b = with_samples(make_run("b"), {("faster-whisper", "default"): [2 * x for x in NOISE]}, VARIED)
    comparison = compare_runs(a, b)
    ok_rows = [r for r in comparison.rows if r.a_median_s is not None]
    assert ok_rows == []  # no ratio, no verdict: nothing is put side by side
    row = by_name(comparison)["faster-whisper@float16"]
    assert row.verdict == NOT_COMPARABLE and "different audio" in row.detail and "77 clip(s)" in row.detail
    assert any("different audio" in n for n in comparison.notes)


def test_different_decode_settings_or_weights_are_named():
    a = make_run("a")
    beam5 = replace(make_run("b"), settings=replace(a.settings, beam_size=5))
    assert "different decode settings" in by_name(compare_runs(a, beam5))["faster-whisper@float16"].detail
    other = make_run("c")
    other = replace(other, results=tuple(replace(r, model=replace(r.model, fingerprint="cd" * 32)) if r.model else r for r in other.results))
    assert "different weights" in by_name(compare_runs(a, other))["faster-whisper@float16"].detail


def test_a_default_row_is_the_same_row_as_the_sweeps_row_of_the_precision_that_ran():
    default = make_run("d")
    default = replace(default, results=tuple(r for r in default.results if r.variant == "default"))
    fw = next(r for r in default.results if r.backend == "faster-whisper")
    sweep_rows = (replace(fw, variant="float16", actual_variant="float32"), replace(fw, variant="int8", actual_variant="int8"))
    sweep = replace(make_run("s"), results=sweep_rows)
    # a default load of float16 weights in float16 or float32 is the sweep's float16 row
    as_f16 = replace(default, results=tuple(replace(r, actual_variant="float16") if r.backend == "faster-whisper" else r for r in default.results))
    row = by_name(compare_runs(as_f16, sweep))["faster-whisper@float16"]
    assert row.verdict == SAME and row.ratio == pytest.approx(1.0)
    # faster-whisper's CPU default computes in int8: its default row is the sweep's int8 row
    as_int8 = replace(default, results=tuple(replace(r, actual_variant="int8_float32") if r.backend == "faster-whisper" else r for r in default.results))
    names = by_name(compare_runs(as_int8, sweep))
    assert names["faster-whisper@int8"].ratio == pytest.approx(1.0) and names["faster-whisper@float16"].verdict == "only in B"
    assert [precision_of(x) for x in ("int8_float32", "q4_0", "float32", "f16", "mlx-4bit", "")] == ["int8", "int4", "float16", "float16", "int4", None]
    # a run with an explicit int8 row keeps its default row apart
    assert row_variants((replace(fw, actual_variant="int8"), replace(fw, variant="int8"))) == ["default", "int8"]


def test_board_merges_repeat_runs_of_a_machine_into_one_column_with_n_and_spread():
    epyc = [with_samples(make_run(f"e{i}", created=f"2026-01-0{i + 1}T10:00:00+0000"), {("faster-whisper", "default"): [x * (1 + i / 10) for x in NOISE]})
            for i in range(4)]
    mac = [with_samples(make_run(f"m{i}", cpu="Apple M2"), {("faster-whisper", "default"): [x / 2 for x in NOISE]}) for i in range(2)]
    groups = [g for g in weights_groups(epyc + mac) if g.fingerprint != "unverified"]
    assert len(groups) == 1 and len(groups[0].machines) == 2
    page = render_board(epyc + mac, [], "board")
    assert "6 run(s) from 2 machine(s)" in page
    head = page.split('<section class="group"')[1].split("</thead>")[0]
    assert head.count("</th>") == 3 and "AMD EPYC · 4 runs" in head and "Apple M2 · 2 runs" in head
    speeds = sorted(11.0 / statistics.median([x * (1 + i / 10) for x in NOISE]) for i in range(4))
    assert f"N=4 runs" in page and f"spread {speeds[0]:.1f}–{speeds[-1]:.1f}" in page and "N=2 runs" in page


def test_board_keeps_jfk_and_the_varied_set_apart_and_says_why():
    jfk = with_samples(make_run("j"), {}, JFK)
    varied = replace(with_samples(make_run("v"), {}, VARIED), clips=(ClipInfo("clip-000.flac", "/x", 7.5, "hello", 16000, 1),))
    groups = [g for g in weights_groups([jfk, varied]) if g.fingerprint != "unverified"]
    assert len(groups) == 2 and {g.audio.split(",")[0] for g in groups} == {"1 clip(s)", "77 clip(s)"}
    page = render_board([jfk, varied], [], "board")
    assert "Not in one table with group" in page and "different audio" in page


def test_report_page_puts_runs_on_different_audio_in_separate_tables():
    from whisper_speedtest.report.html import render_page

    jfk = with_samples(make_run("j"), {}, JFK)
    varied = with_samples(make_run("v", cpu="Apple M2"), {}, VARIED)
    page = render_page([jfk, varied])
    assert page.count('<table class="results">') == 2 and "Not in one table with the other runs: different audio" in page
    assert render_page([jfk, with_samples(make_run("k", cpu="Apple M2"), {}, JFK)]).count('<table class="results">') == 1


def test_rows_that_timed_the_same_clips_are_compared_clip_by_clip_with_a_paired_wer_change():
    from whisper_speedtest.results import ClipResult, Stats, WordErrors

    def clips(factor, errors):
        out = []
        for i in range(8):
            runs = tuple(factor * (0.2 + 0.1 * i) * (1 + j / 100) for j in range(3))
            stats = Stats(3, statistics.median(runs), statistics.fmean(runs), min(runs), max(runs), statistics.stdev(runs))
            out.append(ClipResult(f"c{i}.flac", 2.0, stats, 2.0 / stats.median, "x", samples=runs, word_errors=WordErrors(errors[i], 10)))
        return tuple(out)

    def run(run_id, factor, errors):
        base = make_run(run_id)
        fw = replace(base.results[0], clips=clips(factor, errors))
        totals = tuple(sum(c.samples[j] for c in fw.clips) for j in range(3))
        return replace(base, results=(replace(fw, samples=totals),), audio_set=VARIED)

    a = run("a", 1.0, [0, 1, 0, 2, 1, 0, 0, 1])
    b = run("b", 1.3, [1, 2, 1, 3, 2, 1, 1, 2])  # every clip 30 % slower and one error worse
    row = by_name(compare_runs(a, b))["faster-whisper@float16"]
    assert row.test == "wilcoxon signed-rank over 8 clips" and row.verdict == SLOWER
    assert row.ratio == pytest.approx(1.3) and row.ratio_interval.low == pytest.approx(1.3) == row.ratio_interval.high
    assert row.wer_change.clips == 8 and row.wer_change.delta == pytest.approx(0.1)
    assert (row.wer_change.interval.low, row.wer_change.interval.high) == pytest.approx((0.1, 0.1))
