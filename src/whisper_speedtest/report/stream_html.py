"""The HTML page of a streaming run: settings, the table, and a timeline chart (audio time against the
clock at commit, one line per backend and clock; the diagonal is zero latency)."""

from __future__ import annotations

from html import escape

from ..bench.streaming import metrics
from ..bench.streaming.records import StreamRun
from .chart import RUN_COLORS, nice_ticks
from .html_style import CSS
from .stream_rows import flat_stream_rows, notes, row_label, settings_text

WIDTH, HEIGHT = 880, 460
LEFT, RIGHT, TOP, BOTTOM = 64, 220, 20, 48


def timeline_series(run: StreamRun) -> list[tuple[str, list[tuple[float, float]]]]:
    """(label, [(reference word end, clock at commit)]) per row and pass with matched words."""
    words = run.alignment.words if run.alignment else ()
    series = []
    for row in run.rows:
        for stream in row.passes:
            matched, _ = metrics.commit_latencies(stream, words)
            if matched:
                label = f"{row_label(row)} · {row.chunk_s:g} s · {stream.clock.value}"
                series.append((label, [(m.reference_end_s, m.clock_s) for m in matched]))
    return series


def timeline_svg(run: StreamRun) -> str:
    series = timeline_series(run)
    if not series:
        return '<p class="empty">No committed word matched the reference alignment: no timeline.</p>'
    x_max = max(run.audio_s, 1.0)
    y_max = max([x_max] + [c for _, points in series for _, c in points])
    xt, yt = nice_ticks(x_max), nice_ticks(y_max)
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(v: float) -> float:
        return LEFT + pw * v / xt[-1]

    def y(v: float) -> float:
        return TOP + ph - ph * v / yt[-1]

    body = [f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(min(xt[-1], yt[-1])):.1f}" y2="{y(min(xt[-1], yt[-1])):.1f}" '
            'stroke="#9aa5b1" stroke-dasharray="4 4"/>']
    for t in xt:
        body.append(f'<line x1="{x(t):.1f}" y1="{y(0):.1f}" x2="{x(t):.1f}" y2="{y(0) + 4:.1f}" stroke="#5b6775"/>'
                    f'<text x="{x(t):.1f}" y="{y(0) + 16:.1f}" text-anchor="middle" class="label">{t:g}</text>')
    for t in yt:
        body.append(f'<line x1="{x(0):.1f}" y1="{y(t):.1f}" x2="{x(xt[-1]):.1f}" y2="{y(t):.1f}" stroke="#eef1f5"/>'
                    f'<text x="{x(0) - 6:.1f}" y="{y(t) + 4:.1f}" text-anchor="end" class="label">{t:g}</text>')
    body.append(f'<text x="{LEFT + pw / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle" class="label">word end in the audio (s)</text>')
    body.append(f'<text x="14" y="{TOP + ph / 2:.1f}" text-anchor="middle" class="label" '
                f'transform="rotate(-90 14 {TOP + ph / 2:.1f})">clock at commit (s)</text>')
    for index, (label, points) in enumerate(series):
        color = RUN_COLORS[index % len(RUN_COLORS)]
        path = " ".join(f"{x(a):.1f},{y(c):.1f}" for a, c in points)
        body.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.6" points="{path}"><title>{escape(label)}</title></polyline>')
        top = TOP + 18 * index
        body.append(f'<rect x="{WIDTH - RIGHT + 12}" y="{top}" width="12" height="12" fill="{color}"/>'
                    f'<text x="{WIDTH - RIGHT + 30}" y="{top + 10}" class="label">{escape(label)}</text>')
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
            f'aria-label="streaming timeline">' + "".join(body) + "</svg>")


COLUMNS = [("label", "Backend"), ("status", "Status"), ("chunk_s", "Chunk s"), ("latency_median_s", "Latency median s"),
           ("latency_p90_s", "p90 s"), ("latency_first_s", "First word s"), ("aware_median_s", "Real-clock median s"),
           ("aware_p90_s", "Real-clock p90 s"), ("rtf", "RTF"), ("kept_up", "Kept up"), ("revisions_per_min", "Revisions/min"),
           ("final_wer", "WER streamed"), ("offline_wer", "WER offline"), ("peak_rss_mb", "Peak MB"), ("word_timestamps", "Word times")]


def _table(run: StreamRun) -> str:
    head = "".join(f"<th>{escape(title)}</th>" for _, title in COLUMNS)
    lines = []
    for row in flat_stream_rows(run):
        if row["status"] != "ok":
            row["word_timestamps"] = row["reason"]
        cells = "".join(f"<td>{escape(row[key])}</td>" for key, _ in COLUMNS)
        lines.append(f'<tr class="{"ok" if row["status"] == "ok" else "failed"}">{cells}</tr>')
    return f'<div class="table-scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(lines)}</tbody></table></div>'


def _transcripts(run: StreamRun) -> str:
    cards = []
    for row in run.rows:
        if row.status == "ok":
            cards.append(f"<h3>{escape(row.backend)} · {row.chunk_s:g} s</h3><p><b>streamed:</b> {escape(row.committed_text)}</p>"
                         f"<p class='note'><b>offline:</b> {escape(row.offline_text)}</p>")
    return "".join(cards)


def render_stream_page(run: StreamRun) -> str:
    note_items = "".join(f"<li>{escape(line)}</li>" for line in notes(run))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>whisper-speedtest streaming</title>"
        f"<style>{CSS}</style></head><body><h1>whisper-speedtest streaming</h1>"
        f"<p class='sub'>{escape(settings_text(run))} · {escape(run.created)}</p>"
        f"<h2>Results</h2>{_table(run)}<ul class='note'>{note_items}</ul>"
        f"<h2>Timeline</h2>{timeline_svg(run)}<h2>Transcripts</h2>{_transcripts(run)}</body></html>\n"
    )
