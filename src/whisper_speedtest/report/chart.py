"""Chart data (one point per successful backend row) and the PNG bar chart drawn with matplotlib."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import UserError
from ..results import BenchmarkRun
from .labels import result_label, run_labels, weights_caveat
from .display_rows import sort_results

BAR_COLOR = "#3f6fb0"  # plain Whisper weights (the first run's colour when several runs share a chart)
RUN_COLORS = (BAR_COLOR, "#2a9d8f", "#7b5ea7", "#c44e52", "#6b8e23", "#8c6d31")
CAVEAT_COLOR = "#d9822b"  # synthetic weights or a non-Whisper family: labelled, and drawn apart
SPREAD_COLOR = "#1d2733"


class ChartUnavailable(UserError):
    """matplotlib is missing, so the PNG chart cannot be drawn."""


@dataclass(frozen=True)
class TimingPoint:
    """One successful backend row (of one run) as the charts see it."""

    label: str
    series: str  # the run (machine) this point belongs to; "" when the chart shows one run
    color: str
    median_s: float
    min_s: float
    max_s: float
    n: int
    rtfx: float | None
    wer: float | None
    caveat: str = ""
    cpu_s_per_audio_h: float | None = None
    wh_per_audio_h: float | None = None


def timing_points(runs: Sequence[BenchmarkRun]) -> list[TimingPoint]:
    """Successful rows, fastest first; with several runs, one colour per run and each backend's bars together."""
    machines = run_labels(runs) if len(runs) > 1 else [""] * len(runs)
    points = []
    for index, (run, machine) in enumerate(zip(runs, machines, strict=True)):
        color = RUN_COLORS[index % len(RUN_COLORS)]
        for result in sort_results(run.results):
            if not result.ok or result.transcribe is None:
                continue
            t = result.transcribe
            wer = result.score.wer if result.score else None
            cost = result.cost
            points.append(TimingPoint(
                result_label(result), machine, color, t.median, t.min, t.max, t.n, result.rtfx, wer, weights_caveat(result),
                cost.cpu_s_per_audio_hour if cost else None, cost.wh_per_audio_hour if cost else None,
            ))
    fastest = {}
    for point in points:
        fastest[point.label] = min(fastest.get(point.label, point.median_s), point.median_s)
    order = {m: i for i, m in enumerate(machines)}
    return sorted(points, key=lambda p: (fastest[p.label], p.label, order[p.series]))


def series_legend(points: Sequence[TimingPoint]) -> list[tuple[str, str]]:
    """(run label, colour) pairs, in first-seen order; empty for a single run."""
    legend: dict[str, str] = {}
    for point in points:
        if point.series:
            legend.setdefault(point.series, point.color)
    return list(legend.items())


def nice_ticks(upper: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``upper`` (steps of 1, 2, 2.5 or 5 × 10^k)."""
    if not math.isfinite(upper) or upper <= 0:
        return [0.0, 1.0]
    raw = upper / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < upper - 1e-12:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def render_bar_png(runs: Sequence[BenchmarkRun]) -> bytes:
    """The median-time bar chart, with min–max whiskers, as a PNG image."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure
    except ImportError:
        raise ChartUnavailable("writing a .png chart needs matplotlib: pip install 'whisper-speedtest[report]'") from None
    points = timing_points(runs)
    height = 1.4 + 0.45 * max(1, len(points))
    figure = Figure(figsize=(9, height), dpi=110)
    axes = figure.add_subplot()
    if not points:
        axes.text(0.5, 0.5, "no successful backend rows", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
    else:
        labels = [p.label + (f"  [{p.caveat}]" if p.caveat else "") + (f" — {p.series}" if p.series else "") for p in points]
        rows = list(range(len(points)))
        medians = [p.median_s for p in points]
        spread = [[max(0.0, p.median_s - p.min_s) for p in points], [max(0.0, p.max_s - p.median_s) for p in points]]  # a file may disagree
        bars = axes.barh(rows, medians, color=[p.color for p in points], height=0.6)
        for bar, point in zip(bars, points, strict=True):
            if point.caveat:  # orange stripes over the bar, as on the HTML page
                bar.set_hatch("//")
                bar.set_edgecolor(CAVEAT_COLOR)
        axes.errorbar(medians, rows, xerr=spread, fmt="none", ecolor=SPREAD_COLOR, capsize=4, linewidth=1.2)
        for row, point in zip(rows, points, strict=True):
            axes.text(point.max_s, row, f"  {point.median_s:.3f} s", va="center", fontsize=9)
        axes.set_yticks(rows, labels)
        axes.invert_yaxis()
        axes.set_xlim(0, max(p.max_s for p in points) * 1.25)
        axes.set_xlabel("median transcription time (s); whiskers: min–max of the timed runs")
        axes.grid(axis="x", alpha=0.3)
        axes.set_axisbelow(True)
    axes.set_title("whisper-speedtest: transcription time per backend")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
