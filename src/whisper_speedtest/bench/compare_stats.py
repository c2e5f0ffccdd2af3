"""Pure pairwise statistics: is row B faster or slower than row A on the same audio, and is its WER different?

Speed:
- both rows ran the same clips (at least ``MIN_CLIPS_FOR_CLIP_BOOTSTRAP``, each with timed samples): a paired
  test over clips — the Wilcoxon signed-rank test on each clip's log ratio of median times, and the ratio of
  total times with a paired bootstrap interval over clips;
- otherwise: Welch's t-test on the timed passes (hyperfine's ``--export-json`` + ``welch_ttest.py``), and the
  ratio of medians with a bootstrap interval resampling each row's passes.

The verdict is "slower" or "faster" only when the test rejects "same speed" at 5 %, the ratio's interval
excludes 1, and the ratio is beyond ``MIN_RELATIVE_CHANGE`` (5 %): smaller changes between two runs are
within what a machine's state drifts by. Anything else is "no clear difference".
WER: the difference of corpus WERs (errors / words) with a paired bootstrap over the clips both rows scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..results import Interval, WordErrors
from .stats import MIN_CLIPS_FOR_CLIP_BOOTSTRAP, bootstrap_interval

ALPHA = 0.05
MIN_RELATIVE_CHANGE = 0.05
SLOWER, FASTER, NO_CLEAR_DIFFERENCE = "slower", "faster", "no clear difference"


@dataclass(frozen=True)
class SpeedComparison:
    """B against A: ``ratio`` = B's time / A's time (above 1: B is slower), its interval, the test and verdict."""

    ratio: float
    interval: Interval | None
    test: str  # "wilcoxon signed-rank over 77 clips", "welch t-test over 10 and 10 runs", or why none
    p_value: float | None
    verdict: str


@dataclass(frozen=True)
class WerDifference:
    """B's WER minus A's over the clips both scored, with a paired bootstrap interval."""

    delta: float
    interval: Interval | None
    clips: int


def _verdict(ratio: float, interval: Interval | None, p_value: float | None) -> str:
    if interval is None or p_value is None or not p_value < ALPHA:
        return NO_CLEAR_DIFFERENCE
    if interval.low > 1 and ratio > 1 + MIN_RELATIVE_CHANGE:
        return SLOWER
    if interval.high < 1 and ratio < 1 - MIN_RELATIVE_CHANGE:
        return FASTER
    return NO_CLEAR_DIFFERENCE


def _ratio_of_totals(a, b, axis=-1):
    return b.sum(axis=axis) / a.sum(axis=axis)


def ratio_of_medians(a, b, axis=-1):
    """median(b) / median(a), along ``axis`` (bootstrap statistics take it vectorized)."""
    import numpy as np

    return np.median(b, axis=axis) / np.median(a, axis=axis)


def paired_over_clips(a_clip_medians: Sequence[float], b_clip_medians: Sequence[float]) -> SpeedComparison:
    """Same clips in the same order: Wilcoxon on log(b_i / a_i), ratio of totals with a paired bootstrap."""
    from scipy import stats as scipy_stats

    if len(a_clip_medians) != len(b_clip_medians):
        raise ValueError("paired comparison needs the same clips in both rows")
    n = len(a_clip_medians)
    ratio = sum(b_clip_medians) / sum(a_clip_medians)
    logs = [math.log(b / a) for a, b in zip(a_clip_medians, b_clip_medians, strict=True)]
    test = f"wilcoxon signed-rank over {n} clips"
    if all(d == 0 for d in logs):
        p_value = 1.0
    else:
        p_value = float(scipy_stats.wilcoxon(logs).pvalue)
    low, high = bootstrap_interval([a_clip_medians, b_clip_medians], _ratio_of_totals, paired=True)
    interval = Interval(low, high, f"paired bootstrap over {n} clips")
    return SpeedComparison(ratio, interval, test, p_value, _verdict(ratio, interval, p_value))


def welch_over_runs(a_runs: Sequence[float], b_runs: Sequence[float]) -> SpeedComparison:
    """Independent timed passes: Welch's t-test, ratio of medians with a two-sample bootstrap."""
    import statistics

    from scipy import stats as scipy_stats

    ratio = statistics.median(b_runs) / statistics.median(a_runs)
    if min(len(a_runs), len(b_runs)) < 2:
        return SpeedComparison(ratio, None, f"no test: {len(a_runs)} and {len(b_runs)} timed run(s); -n 3 or more compares", None,
                               NO_CLEAR_DIFFERENCE)
    test = f"welch t-test over {len(a_runs)} and {len(b_runs)} timed runs"
    if statistics.pvariance(a_runs) == 0 and statistics.pvariance(b_runs) == 0:
        p_value = 1.0 if statistics.fmean(a_runs) == statistics.fmean(b_runs) else 0.0
    else:
        p_value = float(scipy_stats.ttest_ind(a_runs, b_runs, equal_var=False).pvalue)
    low, high = bootstrap_interval([a_runs, b_runs], ratio_of_medians, paired=False)
    interval = Interval(low, high, f"bootstrap over {len(a_runs)} and {len(b_runs)} timed runs")
    return SpeedComparison(ratio, interval, test, p_value, _verdict(ratio, interval, p_value))


def compare_speed(
    a_runs: Sequence[float], b_runs: Sequence[float],
    a_clip_medians: Sequence[float] | None = None, b_clip_medians: Sequence[float] | None = None,
) -> SpeedComparison:
    """The paired test over clips where both rows timed the same (enough) clips, else Welch over the runs."""
    if (
        a_clip_medians and b_clip_medians and len(a_clip_medians) == len(b_clip_medians)
        and len(a_clip_medians) >= MIN_CLIPS_FOR_CLIP_BOOTSTRAP
        and all(t > 0 for t in (*a_clip_medians, *b_clip_medians))
    ):
        return paired_over_clips(a_clip_medians, b_clip_medians)
    return welch_over_runs(a_runs, b_runs)


def _wer_delta(errors_a, words_a, errors_b, words_b, axis=-1):
    return errors_b.sum(axis=axis) / words_b.sum(axis=axis) - errors_a.sum(axis=axis) / words_a.sum(axis=axis)


def wer_difference(a: Sequence[WordErrors | None], b: Sequence[WordErrors | None]) -> WerDifference | None:
    """B's WER minus A's over the clips (same order) that both scored; None when none did."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None and x.words > 0 and y.words > 0]
    if not pairs:
        return None
    columns = ([x.errors for x, _ in pairs], [x.words for x, _ in pairs], [y.errors for _, y in pairs], [y.words for _, y in pairs])
    delta = sum(columns[2]) / sum(columns[3]) - sum(columns[0]) / sum(columns[1])
    interval = None
    if len(pairs) >= 2:
        low, high = bootstrap_interval(columns, _wer_delta, paired=True)
        interval = Interval(low, high, f"paired bootstrap over {len(pairs)} clips")
    return WerDifference(delta, interval, len(pairs))
