"""Pure statistics over timed samples: summaries, 95 % bootstrap intervals, and hyperfine's warnings.

Everything here works from the raw samples the results keep, so a reader can compute the same again.
Bootstraps use scipy.stats.bootstrap (percentile method: it stays defined for two samples and for ties)
with a fixed seed, so the same samples always give the same interval.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from ..results import Interval, Stats, WordErrors

CONFIDENCE = 0.95
RESAMPLES = 9999
SEED = 24  # fixed: the same samples give the same interval on every run and machine
MIN_CLIPS_FOR_CLIP_BOOTSTRAP = 6  # below this, resampling clips says little
OUTLIER_Z = 14.0  # hyperfine's threshold on the modified Z-score (Iglewicz and Hoaglin), deliberately conservative
HIGH_CV = 0.10  # coefficient of variation above which the spread is called high


def summarize(samples: Sequence[float]) -> Stats:
    """Median, mean, min, max and sample stdev (0 for a single sample)."""
    if not samples:
        raise ValueError("no samples to summarize")
    values = [float(s) for s in samples]
    stdev = statistics.stdev(values) if len(values) > 1 else 0.0
    return Stats(
        n=len(values),
        median=statistics.median(values),
        mean=statistics.fmean(values),
        min=min(values),
        max=max(values),
        stdev=stdev,
    )


def rtfx(audio_seconds: float, transcribe_seconds: float) -> float | None:
    """Real-time factor: seconds of audio per second of transcription (``None`` if undefined)."""
    if transcribe_seconds <= 0:
        return None
    return audio_seconds / transcribe_seconds


def per_run_totals(per_clip_samples: Sequence[Sequence[float]]) -> list[float]:
    """Sum the i-th timed run over all clips, giving one total per run."""
    if not per_clip_samples:
        return []
    runs = min(len(s) for s in per_clip_samples)
    return [sum(clip[i] for clip in per_clip_samples) for i in range(runs)]


def bootstrap_interval(data: Sequence[Sequence[float]], statistic, *, paired: bool) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic(*samples, axis)`` over ``data``, with the fixed seed.

    When every resample gives the same value (all samples equal) the interval is that value.
    """
    import numpy as np
    from scipy import stats as scipy_stats

    arrays = tuple(np.asarray(d, dtype=float) for d in data)
    result = scipy_stats.bootstrap(
        arrays, statistic, paired=paired, vectorized=True, n_resamples=RESAMPLES, confidence_level=CONFIDENCE,
        method="percentile", rng=np.random.default_rng(SEED),
    )
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    if np.isnan(low) or np.isnan(high):  # a degenerate distribution: every resample the same
        value = float(statistic(*(a[np.newaxis, :] for a in arrays), axis=-1)[0])
        return value, value
    return low, high


def _median(x, axis=-1):
    import numpy as np

    return np.median(x, axis=axis)


def median_interval(samples: Sequence[float]) -> Interval | None:
    """95 % interval of the median over the timed runs; None for fewer than two runs."""
    if len(samples) < 2:
        return None
    low, high = bootstrap_interval([samples], _median, paired=False)
    return Interval(low, high, f"bootstrap over {len(samples)} timed runs")


def _ratio_of_sums(numerator, denominator, axis=-1):
    return numerator.sum(axis=axis) / denominator.sum(axis=axis)


def clip_total_interval(clip_medians: Sequence[float]) -> Interval | None:
    """95 % interval of the total time over all clips, resampling clips (one median time each)."""
    if len(clip_medians) < MIN_CLIPS_FOR_CLIP_BOOTSTRAP:
        return None

    def total(x, axis=-1):
        return x.sum(axis=axis)

    low, high = bootstrap_interval([clip_medians], total, paired=False)
    return Interval(low, high, f"bootstrap over {len(clip_medians)} clips")


def rtfx_over_clips(audio_s: Sequence[float], clip_medians: Sequence[float]) -> Interval | None:
    """95 % interval of RTFx = audio / time, resampling clips with their own durations and median times."""
    if len(clip_medians) < MIN_CLIPS_FOR_CLIP_BOOTSTRAP:
        return None
    low, high = bootstrap_interval([audio_s, clip_medians], _ratio_of_sums, paired=True)
    return Interval(low, high, f"bootstrap over {len(clip_medians)} clips")


def rtfx_interval(audio_s: float, time_interval: Interval | None) -> Interval | None:
    """RTFx bounds from a time interval: audio / time is monotone, so the percentile bounds carry over."""
    if time_interval is None or time_interval.low <= 0:
        return None
    return Interval(audio_s / time_interval.high, audio_s / time_interval.low, time_interval.method)


def wer_interval(word_errors: Sequence[WordErrors | None]) -> Interval | None:
    """95 % interval of the corpus WER (errors / reference words), resampling the clips that have words."""
    scored = [w for w in word_errors if w is not None and w.words > 0]
    if len(scored) < 2:
        return None
    errors = [w.errors for w in scored]
    words = [w.words for w in scored]
    low, high = bootstrap_interval([errors, words], _ratio_of_sums, paired=True)
    return Interval(low, high, f"bootstrap over {len(scored)} clips")


def outliers(samples: Sequence[float]) -> list[int]:
    """Indices of samples whose modified Z-score exceeds ``OUTLIER_Z`` (none when the MAD is 0)."""
    if len(samples) < 3:
        return []
    middle = statistics.median(samples)
    mad = statistics.median(abs(s - middle) for s in samples)
    if mad == 0:
        return []
    return [i for i, s in enumerate(samples) if abs(0.6745 * (s - middle) / mad) > OUTLIER_Z]


def coefficient_of_variation(samples: Sequence[float]) -> float | None:
    """Sample stdev / mean; None for fewer than two samples or a zero mean."""
    if len(samples) < 2:
        return None
    mean = statistics.fmean(samples)
    return statistics.stdev(samples) / mean if mean > 0 else None


def sample_warnings(samples: Sequence[float]) -> list[str]:
    """hyperfine's warnings about the timed runs themselves: outliers and a high spread."""
    warnings = []
    found = outliers(samples)
    if found:
        warnings.append(
            f"statistical outliers: {len(found)} of {len(samples)} timed runs (modified Z-score > {OUTLIER_Z:g}); "
            "other programs or caches may have interfered"
        )
    cv = coefficient_of_variation(samples)
    if cv is not None and cv > HIGH_CV:
        warnings.append(f"high spread: coefficient of variation {cv:.0%} over {len(samples)} timed runs")
    return warnings
