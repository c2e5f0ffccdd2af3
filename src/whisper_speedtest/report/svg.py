"""Hand-built inline SVG charts for the HTML page: no dependency, crisp text, hover tooltips."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .chart import CAVEAT_COLOR, SPREAD_COLOR, TimingPoint, nice_ticks, series_legend

WIDTH = 880
CHAR_PX = 6.8  # rough width of one 12 px character, for layout only


def _tick_text(value: float) -> str:
    return f"{value:.4g}"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{escape(title)}">' + "".join(body) + "</svg>"
    )


def _stripes(pattern_id: str) -> str:
    """Orange diagonal stripes, laid over a bar whose weights need a caveat."""
    return (
        f'<defs><pattern id="{pattern_id}" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        f'<rect width="4" height="8" fill="{CAVEAT_COLOR}"/></pattern></defs>'
    )


def _legend(points: Sequence[TimingPoint], x: float, y: float) -> tuple[list[str], float]:
    """Colour swatches naming each run (machine); returns the elements and the height used."""
    body = []
    for row, (series, color) in enumerate(series_legend(points)):
        top = y + row * 18
        body.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="12" height="12" fill="{color}"/>')
        body.append(f'<text x="{x + 18:.1f}" y="{top + 10:.1f}" class="label">{escape(series)}</text>')
    return body, 18.0 * len(series_legend(points)) + (6 if body else 0)


def _tooltip(point: TimingPoint, detail: str) -> str:
    text = point.label + (f" on {point.series}" if point.series else "") + ": " + detail
    return escape(text + (f" — {point.caveat}" if point.caveat else ""))


def bar_chart_svg(points: Sequence[TimingPoint], pattern_id: str = "caveat-stripes") -> str:
    """Horizontal bars of the median time, a min–max whisker on each, fastest on top."""
    if not points:
        return '<p class="empty">No successful backend rows to chart.</p>'
    labels = [p.label + (" ⚠" if p.caveat else "") for p in points]
    left = min(380.0, max(len(t) for t in labels) * CHAR_PX + 18)
    right, row_h = 90.0, 30.0
    legend, top = _legend(points, left, 4)
    top += 12
    plot_w = WIDTH - left - right
    height = top + row_h * len(points) + 46
    ticks = nice_ticks(max(p.max_s for p in points) * 1.05)
    scale = plot_w / ticks[-1]
    body = [_stripes(pattern_id), *legend]
    axis_y = top + row_h * len(points)
    for tick in ticks:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{top - 4:.1f}" x2="{x:.1f}" y2="{axis_y:.1f}" class="grid"/>')
        body.append(f'<text x="{x:.1f}" y="{axis_y + 16:.1f}" text-anchor="middle" class="tick">{_tick_text(tick)}</text>')
    for row, (point, label) in enumerate(zip(points, labels, strict=True)):
        y = top + row * row_h
        mid = y + row_h / 2
        tip = _tooltip(point, f"median {point.median_s:.3f} s (min {point.min_s:.3f}, max {point.max_s:.3f}, n={point.n})")
        x_min, x_med, x_max = (left + v * scale for v in (point.min_s, point.median_s, point.max_s))
        bar = f'x="{left:.1f}" y="{y + 6:.1f}" width="{max(x_med - left, 1):.1f}" height="{row_h - 12:.1f}"'
        stripes = f'<rect {bar} fill="url(#{pattern_id})"/>' if point.caveat else ""
        body.append(
            f'<g class="bar"><title>{tip}</title>'
            f'<text x="{left - 8:.1f}" y="{mid + 4:.1f}" text-anchor="end" class="{"label caveat" if point.caveat else "label"}">{escape(label)}</text>'
            f'<rect {bar} fill="{point.color}"/>{stripes}'
            f'<line x1="{x_min:.1f}" y1="{mid:.1f}" x2="{x_max:.1f}" y2="{mid:.1f}" stroke="{SPREAD_COLOR}" stroke-width="1.5"/>'
            f'<line x1="{x_min:.1f}" y1="{mid - 6:.1f}" x2="{x_min:.1f}" y2="{mid + 6:.1f}" stroke="{SPREAD_COLOR}" stroke-width="1.5"/>'
            f'<line x1="{x_max:.1f}" y1="{mid - 6:.1f}" x2="{x_max:.1f}" y2="{mid + 6:.1f}" stroke="{SPREAD_COLOR}" stroke-width="1.5"/>'
            f'<text x="{x_max + 6:.1f}" y="{mid + 4:.1f}" class="value">{point.median_s:.3f} s</text></g>'
        )
    body.append(f'<line x1="{left:.1f}" y1="{axis_y:.1f}" x2="{left + plot_w:.1f}" y2="{axis_y:.1f}" class="axis"/>')
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 36:.1f}" text-anchor="middle" class="axis-title">'
        "median transcription time (s) · whiskers: min–max of the timed runs</text>"
    )
    return _svg(WIDTH, height, "Median transcription time per backend", body)


Box = tuple[float, float, float, float]


def _overlaps(box: Box, others: Sequence[Box]) -> bool:
    return any(not (box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3]) for b in others)


def _place_label(x: float, y: float, width: float, area: Box, taken: list[Box]) -> tuple[float, float, str]:
    """Where to write a point's label: right or left of it, nudged up or down until it is clear.

    Returns the text's x, baseline y and anchor; the chosen box is added to ``taken``.
    """
    for dy in (0, -13, 13, -26, 26, -39, 39):
        for anchor in ("start", "end"):
            x0 = x + 9 if anchor == "start" else x - 9 - width
            box = (x0, y + dy - 8, x0 + width, y + dy + 5)
            inside = box[0] >= area[0] and box[2] <= area[2] and box[1] >= area[1] and box[3] <= area[3]
            if inside and not _overlaps(box, taken):
                taken.append(box)
                return (x + 9 if anchor == "start" else x - 9), y + dy + 4, anchor
    return x + 9, y + 4, "start"


def scatter_svg(points: Sequence[TimingPoint]) -> str:
    """Median time (x) against WER (y): lower-left is fast and accurate."""
    scored = [(p, p.median_s, p.wer) for p in points if p.wer is not None]
    if not scored:
        return '<p class="empty">No WER to plot: the audio had no reference text.</p>'
    return xy_scatter_svg(
        scored,
        x_title="median transcription time (s) — further left is faster",
        y_title="WER — lower is better",
        tip=lambda p: f"median {p.median_s:.3f} s, WER {p.wer:.3f}",
        y_floor=0.05,
        aria="Speed against word error rate",
    )


def xy_scatter_svg(
    placed: Sequence[tuple[TimingPoint, float, float]],
    *,
    x_title: str,
    y_title: str,
    tip,
    y_floor: float = 0.0,
    aria: str,
) -> str:
    """One labelled point per (point, x, y), both axes from 0; labels are placed clear of each other."""
    left, right, bottom = 64.0, 40.0, 52.0
    points = [p for p, _, _ in placed]
    legend, legend_h = _legend(points, left, 4)
    top = 16.0 + legend_h
    height = top + 312 + bottom
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    x_ticks = nice_ticks(max(x for _, x, _ in placed) * 1.1)
    y_ticks = nice_ticks(max(max(y for _, _, y in placed) * 1.15, y_floor))
    sx, sy = plot_w / x_ticks[-1], plot_h / y_ticks[-1]
    body = list(legend)
    for tick in x_ticks:
        x = left + tick * sx
        body.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + plot_h:.1f}" class="grid"/>')
        body.append(f'<text x="{x:.1f}" y="{top + plot_h + 16:.1f}" text-anchor="middle" class="tick">{_tick_text(tick)}</text>')
    for tick in y_ticks:
        y = top + plot_h - tick * sy
        body.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" class="grid"/>')
        body.append(f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_tick_text(tick)}</text>')
    body.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{plot_w:.1f}" height="{plot_h:.1f}" class="frame"/>')
    area = (left + 2, top, WIDTH - 2.0, top + plot_h)
    positions = [(left + x * sx, top + plot_h - y * sy) for _, x, y in placed]
    taken: list[Box] = [(x - 6, y - 6, x + 6, y + 6) for x, y in positions]  # labels keep off the markers
    for (point, vx, vy), (x, y) in sorted(zip(placed, positions, strict=True), key=lambda item: (item[0][2], item[0][1])):
        text = point.label + (f" ⚠ {point.caveat}" if point.caveat else "")
        text_x, text_y, anchor = _place_label(x, y, len(text) * CHAR_PX, area, taken)
        marker = (
            f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" transform="rotate(45 {x:.1f} {y:.1f})" '
            f'fill="{point.color}" stroke="{CAVEAT_COLOR}" stroke-width="2.5"/>'
            if point.caveat
            else f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.5" fill="{point.color}"/>'
        )
        body.append(
            f'<g class="point"><title>{_tooltip(point, tip(point))}</title>{marker}'
            f'<text x="{text_x:.1f}" y="{text_y:.1f}" text-anchor="{anchor}" '
            f'class="{"label caveat" if point.caveat else "label"}">{escape(text)}</text></g>'
        )
    body.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 12:.1f}" text-anchor="middle" class="axis-title">{escape(x_title)}</text>')
    body.append(
        f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" transform="rotate(-90 14 {top + plot_h / 2:.1f})" class="axis-title">{escape(y_title)}</text>'
    )
    return _svg(WIDTH, height, aria, body)


_SPEED_AXIS = "RTFx (seconds of audio per second) — further right is faster"
# (what the y axis shows, the point's field, its axis title, its tooltip format, the chart's name), in order of preference
_COST_AXES = (
    ("energy", "wh_per_audio_h", "Wh per hour of audio — lower is cheaper", "{:.3g} Wh per audio hour", "Speed against energy"),
    ("cpu", "cpu_s_per_audio_h", "CPU-seconds per hour of audio — lower is cheaper", "{:.0f} CPU-s per audio hour", "Speed against CPU time"),
)


def cost_scatter_svg(points: Sequence[TimingPoint]) -> tuple[str, str]:
    """Speed (RTFx, x) against energy per audio hour (y), or CPU-seconds per audio hour where no energy was read.

    Returns the SVG and what the y axis shows ("energy", "cpu" or "" when nothing could be plotted).
    """
    for shows, field, y_title, tip, aria in _COST_AXES:
        placed = [(p, p.rtfx, getattr(p, field)) for p in points if p.rtfx and getattr(p, field) is not None]
        if placed:
            svg = xy_scatter_svg(
                placed, x_title=_SPEED_AXIS, y_title=y_title, aria=aria,
                tip=lambda p, field=field, tip=tip: f"RTFx {p.rtfx:.1f}, " + tip.format(getattr(p, field)),
            )
            return svg, shows
    return '<p class="empty">No cost to plot: no successful row has a measured cost (results written before schema 1.1 have none).</p>', ""
