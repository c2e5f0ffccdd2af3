"""Pure statistics over timed samples."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from ..results import Stats


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
