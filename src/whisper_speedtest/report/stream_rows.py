"""A streaming run as flat rows, the terminal table, CSV, Markdown and JSON (the HTML page: ``stream_html``)."""

from __future__ import annotations

import csv
import io

from rich import box
from rich.console import Console
from rich.markup import escape

from ..bench.streaming.records import FILE_SOURCE, LIVE_SOURCE, REPLAY_SOURCE, LatencySummary, StreamRow, StreamRun, Streaming, stream_run_to_json
from .fit import FitColumn, FittedTable, fit_table

NOT_AVAILABLE = "—"


def _s(value: float | None, digits: int = 2) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.{digits}f}"


def _latency(summary: LatencySummary | None) -> tuple[str, str, str]:
    if summary is None:
        return NOT_AVAILABLE, NOT_AVAILABLE, NOT_AVAILABLE
    return _s(summary.median_s), _s(summary.p90_s), _s(summary.first_s)


def kept_up_text(row: StreamRow) -> str:
    f = row.figures
    if f is None or f.kept_up is None:
        return NOT_AVAILABLE
    if f.lag_end_s is not None:
        lag = f"lag {f.lag_start_s:.1f} → {f.lag_end_s:.1f} s"
        return f"yes ({lag})" if f.kept_up else f"no: fell behind ({lag})"
    return "yes" if f.kept_up else "no (RTF > 1)"


def row_label(row: StreamRow) -> str:
    """The backend, and how it streamed when that is not our policy on a file."""
    source = {LIVE_SOURCE: ["live"], REPLAY_SOURCE: ["replayed"]}.get(row.audio_source, [])
    marks = (["own streaming"] if row.streaming is Streaming.LIBRARY else []) + source
    return row.backend + (f" ({', '.join(marks)})" if marks else "")


def flat_stream_rows(run: StreamRun) -> list[dict[str, str]]:
    """One dict of display strings per row (CSV, Markdown and the table read the same)."""
    rows = []
    for row in run.rows:
        f = row.figures
        unaware = _latency(f.unaware if f else None)
        aware = _latency(f.aware if f else None)
        rows.append({
            "backend": row.backend,
            "status": row.status,
            "model": row.model,
            "policy": row.policy.split(",")[0] if row.policy else "",
            "chunk_s": f"{row.chunk_s:g}",
            "latency_median_s": unaware[0], "latency_p90_s": unaware[1], "latency_first_s": unaware[2],
            "aware_median_s": aware[0], "aware_p90_s": aware[1], "aware_first_s": aware[2],
            "words_timed": str(f.unaware.n if f and f.unaware else f.aware.n if f and f.aware else NOT_AVAILABLE),
            "words_unmatched": str(f.unaware.unmatched if f and f.unaware else f.aware.unmatched if f and f.aware else NOT_AVAILABLE),
            "rtf": _s(f.rtf if f else None),
            "kept_up": kept_up_text(row),
            "revisions_per_min": _s(f.revisions_per_min if f else None, 1),
            "final_wer": _s(f.final_wer if f else None, 4),
            "offline_wer": _s(f.offline_wer if f else None, 4),
            "wer_vs_offline": _s(f.wer_vs_offline if f else None, 4),
            "peak_rss_mb": _s(row.peak_rss_mb, 0),
            "word_timestamps": row.word_timestamps,
            "reason": row.reason,
            "committed_text": row.committed_text,
            "label": row_label(row),
            "streaming": row.streaming.value,
            "audio_source": row.audio_source,
            "word_ends": row.word_ends,
        })
    return rows


def settings_text(run: StreamRun) -> str:
    s = run.settings
    clocks = " + ".join(s["clocks"])
    return (f"{run.audio_name} ({run.audio_s:g} s) · {s['model']} · {s['policy']} · chunks {', '.join(f'{c:g}' for c in s['chunk_sizes'])} s · "
            f"{clocks} clock · beam {s['beam_size']} · temperature {s['temperature']:g} · language {s['language']}")


def notes(run: StreamRun) -> list[str]:
    lines = [
        "latency = clock when a word was committed − its end in the audio; simulated clock: computation-unaware "
        "(the audio time of the chunk that brought the commit), real clock: computation-aware (wall time)",
        run.alignment_note,
        "revisions/min: words shown (committed or tentative) later changed or withdrawn, per minute of audio",
    ]
    if any(row.streaming is Streaming.LIBRARY for row in run.rows):
        lines.append("own streaming: the library's streaming API decides what is committed (its confirmed words) and shown "
                     "(its unconfirmed ones); the same figures as for our policy")
    if any(row.audio_source != FILE_SOURCE for row in run.rows):
        lines.append("microphone: the live row heard the microphone as it spoke (real clock from the moment its first audio "
                     "arrived; the device's own input latency is not in it); every other row heard the recording replayed on "
                     "the real clock, one backend at a time")
    if run.interrupted:
        lines.append("interrupted: the rows and steps measured before Ctrl-C are kept")
    return lines


def stream_table(run: StreamRun, console: Console) -> FittedTable:
    """The rows that ran, laid out to fit ``console`` (report/fit.py): no figure is dropped or cut."""
    real = "real" in run.settings["clocks"]
    simulated = "simulated" in run.settings["clocks"]
    columns = [FitColumn("Backend", wraps=True, style="bold"), FitColumn("Chunk\ns", justify="right")]
    if simulated:
        columns.append(FitColumn("Latency s\nmed/p90/1st", justify="right"))
    if real:
        columns.append(FitColumn("Real clock s\nmed/p90/1st", justify="right"))
    columns += [FitColumn(header, justify="right") for header in ("RTF\nkept up", "Rev/\nmin", "WER\nstream/off", "Peak\nMB")]
    cells = []
    for row in flat_stream_rows(run):
        if row["status"] != "ok":  # listed under the table with the reason (``not_run_lines``)
            continue
        line = [escape(row["label"]), row["chunk_s"]]
        if simulated:
            line.append(f"{row['latency_median_s']}/{row['latency_p90_s']}/{row['latency_first_s']}")
        if real:
            line.append(f"{row['aware_median_s']}/{row['aware_p90_s']}/{row['aware_first_s']}")
        kept = row["kept_up"].split(" ")[0].rstrip(":")
        wer = "/".join(NOT_AVAILABLE if v == NOT_AVAILABLE else f"{float(v):.3f}" for v in (row["final_wer"], row["offline_wer"]))
        line += [f"{row['rtf']} {kept}", row["revisions_per_min"], wer, row["peak_rss_mb"]]
        cells.append(line)
    return fit_table(console, "whisper-speedtest streaming", columns, cells, keys=1, box=box.SIMPLE_HEAVY, pad_edge=False)


def not_run_lines(run: StreamRun) -> list[str]:
    """One line per row without figures (what it is and why), and one per row that fell behind the speech."""
    lines = [f"{row_label(row)} @ {row.chunk_s:g} s: {row.status} — {row.reason}" for row in run.rows if row.status != "ok"]
    return lines + [f"{row_label(row)} @ {row.chunk_s:g} s: kept up {kept_up_text(row)}" for row in run.rows
                    if row.figures is not None and row.figures.kept_up is False]


def render_stream_json(run: StreamRun) -> str:
    return stream_run_to_json(run) + "\n"


def render_stream_csv(run: StreamRun) -> str:
    rows = flat_stream_rows(run)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["backend"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


_MD_COLUMNS = ["label", "status", "chunk_s", "latency_median_s", "latency_p90_s", "latency_first_s", "aware_median_s",
               "aware_p90_s", "rtf", "kept_up", "revisions_per_min", "final_wer", "offline_wer", "peak_rss_mb", "word_timestamps"]


def render_stream_markdown(run: StreamRun) -> str:
    lines = [f"# whisper-speedtest streaming ({run.created})", "", f"- Settings: {settings_text(run)}",
             *(f"- {line}" for line in notes(run)), ""]
    lines += ["| " + " | ".join(_MD_COLUMNS) + " |", "|" + "---|" * len(_MD_COLUMNS)]
    for row in flat_stream_rows(run):
        if row["status"] != "ok":
            row["word_timestamps"] = row["reason"]
        lines.append("| " + " | ".join(row[c].replace("|", "\\|") for c in _MD_COLUMNS) + " |")
    return "\n".join(lines) + "\n"
