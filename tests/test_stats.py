import pytest

from whisper_speedtest.bench.stats import per_run_totals, rtfx, summarize


def test_summary_of_fixed_numbers():
    s = summarize([1.0, 2.0, 3.0, 4.0, 10.0])
    assert s.n == 5
    assert s.median == 3.0
    assert s.mean == 4.0
    assert s.min == 1.0 and s.max == 10.0
    assert s.stdev == pytest.approx(3.5355339, rel=1e-6)


def test_even_count_median_and_single_sample():
    assert summarize([4.0, 1.0, 3.0, 2.0]).median == 2.5
    single = summarize([0.25])
    assert (single.n, single.median, single.stdev) == (1, 0.25, 0.0)


def test_empty_samples_are_rejected():
    with pytest.raises(ValueError):
        summarize([])


def test_rtfx_and_run_totals():
    assert rtfx(11.0, 0.5) == 22.0
    assert rtfx(11.0, 0.0) is None
    assert per_run_totals([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]) == [1.5, 2.5, 3.5]


# ---- intervals and pairwise tests, against answers computed independently here ----

import math
from itertools import product

import numpy as np
from scipy import stats as scipy_stats

from whisper_speedtest.bench import compare_stats
from whisper_speedtest.bench.stats import (
    coefficient_of_variation, median_interval, outliers, rtfx_interval, sample_warnings, wer_interval,
)
from whisper_speedtest.results import WordErrors


def exact_bootstrap_median_quantiles(values, q_low=0.025, q_high=0.975):
    """The exact bootstrap distribution of the median of an odd-sized sample, by enumerating every resample."""
    n = len(values)
    medians = sorted(float(np.median(draw)) for draw in product(values, repeat=n))
    return float(np.quantile(medians, q_low)), float(np.quantile(medians, q_high))


def test_median_interval_matches_the_exact_bootstrap_distribution():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]  # 5**5 = 3125 resamples enumerated
    low, high = exact_bootstrap_median_quantiles(values)
    interval = median_interval(values)
    assert (interval.low, interval.high) == (low, high) == (1.0, 10.0)  # P(median = 10) = 5.8 % > 2.5 %
    assert interval.method == "bootstrap over 5 timed runs"


def test_median_interval_with_ties_n1_n2_and_all_equal():
    assert median_interval([0.5]) is None  # N=1: no interval
    two = median_interval([1.0, 3.0])  # resampled medians are 1, 2 or 3: the 95 % interval spans both runs
    assert (two.low, two.high) == (1.0, 3.0)
    same = median_interval([0.7, 0.7, 0.7, 0.7])
    assert (same.low, same.high) == (0.7, 0.7)
    ties = [2.0, 2.0, 2.0, 2.0, 9.0]
    assert (median_interval(ties).low, median_interval(ties).high) == exact_bootstrap_median_quantiles(ties) == (2.0, 9.0)


def test_intervals_are_reproducible():
    values = [0.51, 0.49, 0.55, 0.50, 0.62, 0.48, 0.53]
    assert median_interval(values) == median_interval(values)


def test_rtfx_interval_inverts_the_time_interval():
    interval = rtfx_interval(11.0, median_interval([1.0, 2.0, 3.0, 4.0, 10.0]))
    assert (interval.low, interval.high) == (11.0 / 10.0, 11.0 / 1.0)


def test_wer_interval_over_clips():
    assert wer_interval([WordErrors(1, 10)]) is None  # one clip: nothing to resample
    equal = wer_interval([WordErrors(1, 10)] * 5)
    assert (equal.low, equal.high) == pytest.approx((0.1, 0.1))
    spread = wer_interval([WordErrors(0, 10), WordErrors(5, 10), WordErrors(1, 10), WordErrors(0, 10), WordErrors(2, 10)])
    # every resampled corpus WER lies between the best and the worst clip, and the point estimate inside the interval
    assert 0.0 <= spread.low < 8 / 50 < spread.high <= 0.5


def test_outliers_follow_the_modified_z_score():
    values = [1.0, 1.01, 0.99, 1.0, 1.02, 5.0]
    median = float(np.median(values))
    mad = float(scipy_stats.median_abs_deviation(values))
    expected = [i for i, v in enumerate(values) if abs(0.6745 * (v - median) / mad) > 14]
    assert outliers(values) == expected == [5]
    assert outliers([1.0, 1.0, 1.0, 3.0]) == []  # MAD 0: nothing is called an outlier
    assert any("outliers" in w for w in sample_warnings(values))


def test_coefficient_of_variation_and_its_warning():
    values = [1.0, 1.5, 2.0]
    assert coefficient_of_variation(values) == pytest.approx(np.std(values, ddof=1) / np.mean(values))
    assert coefficient_of_variation([1.0]) is None
    assert any("coefficient of variation 33%" in w for w in sample_warnings(values))
    assert sample_warnings([1.0, 1.01, 0.99]) == []


def welch_p_by_hand(a, b):
    """Welch's t-test from its formula (Welch–Satterthwaite degrees of freedom)."""
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    t = (np.mean(a) - np.mean(b)) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return 2 * scipy_stats.t.sf(abs(t), df)


def test_welch_on_runs_calls_a_doubled_time_slower():
    a = [1.00, 1.02, 0.98, 1.01, 0.99]
    b = [2.00, 2.05, 1.96, 2.02, 1.99]
    result = compare_stats.compare_speed(a, b)
    assert result.test == "welch t-test over 5 and 5 timed runs"
    assert result.p_value == pytest.approx(welch_p_by_hand(a, b))
    assert result.ratio == pytest.approx(2.0 / 1.0)
    assert result.interval.low > 1.9 and result.interval.high < 2.1
    assert result.verdict == compare_stats.SLOWER
    assert compare_stats.compare_speed(b, a).verdict == compare_stats.FASTER


def test_overlapping_runs_are_no_clear_difference():
    a = [1.00, 1.10, 0.95, 1.05, 0.98]
    b = [1.02, 0.97, 1.08, 1.00, 1.03]
    result = compare_stats.compare_speed(a, b)
    assert result.p_value == pytest.approx(welch_p_by_hand(a, b))
    assert result.interval.low < 1 < result.interval.high
    assert result.verdict == compare_stats.NO_CLEAR_DIFFERENCE


def test_one_run_each_has_no_test_and_all_equal_is_the_same():
    single = compare_stats.compare_speed([1.0], [2.0])
    assert (single.interval, single.p_value, single.verdict) == (None, None, compare_stats.NO_CLEAR_DIFFERENCE)
    assert "-n 3" in single.test
    equal = compare_stats.compare_speed([1.0, 1.0], [1.0, 1.0])
    assert (equal.ratio, equal.p_value, equal.verdict) == (1.0, 1.0, compare_stats.NO_CLEAR_DIFFERENCE)
    assert (equal.interval.low, equal.interval.high) == (1.0, 1.0)


def test_paired_over_clips_uses_wilcoxon_on_log_ratios():
    a_clips = [0.5, 1.0, 2.0, 0.8, 1.5, 0.6, 1.2, 0.9]
    factors = [1.30, 1.25, 1.35, 1.28, 1.32, 1.27, 1.31, 1.29]
    b_clips = [x * f for x, f in zip(a_clips, factors)]
    result = compare_stats.compare_speed([sum(a_clips)], [sum(b_clips)], a_clips, b_clips)
    assert result.test == "wilcoxon signed-rank over 8 clips"
    # every clip slower: the exact two-sided signed-rank p-value is 2 / 2**8
    assert result.p_value == pytest.approx(2 / 2**8)
    assert result.ratio == pytest.approx(sum(b_clips) / sum(a_clips))
    assert 1.25 <= result.interval.low < result.ratio < result.interval.high <= 1.35
    assert result.verdict == compare_stats.SLOWER


def test_paired_with_ties_and_identical_clips():
    a_clips = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    same = compare_stats.compare_speed([21.0], [21.0], a_clips, list(a_clips))
    assert (same.p_value, same.verdict, same.ratio) == (1.0, compare_stats.NO_CLEAR_DIFFERENCE, 1.0)
    b_clips = [1.0, 2.2, 3.0, 4.4, 5.0, 6.6]  # three ties (zero differences), three 10 % slower
    tied = compare_stats.compare_speed([21.0], [sum(b_clips)], a_clips, b_clips)
    logs = [math.log(b / a) for a, b in zip(a_clips, b_clips)]
    assert tied.p_value == pytest.approx(scipy_stats.wilcoxon(logs).pvalue)
    assert tied.verdict == compare_stats.NO_CLEAR_DIFFERENCE  # three clips cannot reach 5 %


def test_too_few_clips_fall_back_to_welch():
    result = compare_stats.compare_speed([1.0, 1.1, 0.9], [1.0, 1.1, 0.9], [0.5, 0.5], [0.5, 0.5])
    assert result.test.startswith("welch")


def test_wer_difference_is_paired_over_clips():
    a = [WordErrors(1, 10), WordErrors(0, 10), WordErrors(2, 10), None]
    b = [WordErrors(2, 10), WordErrors(1, 10), WordErrors(3, 10), WordErrors(1, 10)]
    diff = compare_stats.wer_difference(a, b)
    assert diff.clips == 3  # the clip A did not score is left out of both
    assert diff.delta == pytest.approx(6 / 30 - 3 / 30)
    # every clip is one error worse in B: each resample's difference is exactly 0.1
    assert (diff.interval.low, diff.interval.high) == pytest.approx((0.1, 0.1))
    assert compare_stats.wer_difference([None], [WordErrors(1, 2)]) is None
