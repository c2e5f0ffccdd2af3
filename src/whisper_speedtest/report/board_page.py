"""The board: one self-contained page over runs from many machines, one section per comparable group.

Rows are grouped by model × weights fingerprint × audio set × decode settings (``comparable``), so runs on
different weights, audio or settings never share a table or a chart; rows without a (well-formed)
fingerprint form their own "unverified" group. A group has one column per machine: repeat runs of one
machine merge into one cell, which shows the median RTFx over the runs, N and the spread (min–max).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from html import escape

from ..version import __version__
from ..results import BackendResult, BenchmarkRun
from .chart import timing_points
from .html import cost_figure
from .html_style import CSS
from .comparable import audio_keys, describe_audio, decode_key, describe_decode, row_name, row_variants
from .labels import machine_label, run_labels, short_machine_label
from .display_rows import flat_row
from .svg import xy_scatter_svg

UNVERIFIED = "unverified"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

BOARD_CSS = """
table.board td { white-space: nowrap; } table.board td.cell span { display: block; color: var(--muted); font-size: 12px; }
section.group { margin-bottom: 28px; }
"""


@dataclass(frozen=True)
class WeightsGroup:
    """Rows of one model on one set of weights, from every run that has them."""

    model: str
    fingerprint: str  # sha256 of the tensors, or UNVERIFIED
    runs: tuple[BenchmarkRun, ...]  # each run cut down to this group's rows
    audio: str = ""  # the audio set, described
    settings: str = ""  # the decode settings, described

    @property
    def title(self) -> str:
        weights = "weights unverified (no fingerprint)" if self.fingerprint == UNVERIFIED else f"weights {self.fingerprint[:16]}"
        return f"{self.model} · {weights}"

    @property
    def machines(self) -> list[str]:
        """One column per machine, in the order the runs came."""
        return list(dict.fromkeys(machine_label(run.provenance) for run in self.runs))


def well_formed_fingerprint(fingerprint: str | None) -> bool:
    """A sha256 of the tensors, as the store writes it."""
    return bool(fingerprint and _SHA256.match(fingerprint))


def group_key(result: BackendResult) -> tuple[str, str]:
    fp = result.model.fingerprint if result.model else None
    return (result.model.name if result.model else "unknown model", fp if well_formed_fingerprint(fp) else UNVERIFIED)


def weights_groups(runs: Sequence[BenchmarkRun]) -> list[WeightsGroup]:
    """One group per (model, fingerprint, audio set, decode settings); failed rows without a model are left out."""
    keys: dict[tuple, list[BenchmarkRun]] = {}
    described: dict[tuple, tuple[str, str]] = {}
    for run, audio_key in zip(runs, audio_keys(runs), strict=True):
        by_key: dict[tuple, list[BackendResult]] = {}
        for result in run.results:
            if result.model is not None and result.status != "skipped":
                by_key.setdefault((*group_key(result), audio_key, decode_key(run.settings)), []).append(result)
        for key, rows in by_key.items():
            keys.setdefault(key, []).append(replace(run, results=tuple(rows)))
            described.setdefault(key, (describe_audio(run), describe_decode(run.settings)))
    order = sorted(keys, key=lambda k: (k[0], k[1] == UNVERIFIED, k[1], described[k]))
    return [WeightsGroup(k[0], k[1], tuple(keys[k]), *described[k]) for k in order]


def apart_notes(groups: Sequence[WeightsGroup], index: int) -> list[str]:
    """Why this group is not in one table with another of the same model and weights: the key that differs."""
    group, notes = groups[index], []
    for other_index, other in enumerate(groups):
        if other_index == index or (other.model, other.fingerprint) != (group.model, group.fingerprint):
            continue
        differs = [f"audio ({group.audio} here, {other.audio} there)"] if other.audio != group.audio else []
        if other.settings != group.settings:
            differs.append(f"decode settings ({group.settings} here, {other.settings} there)")
        notes.append(f"Not in one table with group {other_index + 1}: same model and weights, different {' and '.join(differs)}.")
    return notes


def _cell(results: Sequence[BackendResult], price: float | None) -> str:
    """One machine's cell: a single run as before; repeat runs as the median RTFx, N and the spread."""
    if not results:
        return '<td class="empty">–</td>'
    ok = [r for r in results if r.ok and r.rtfx]
    if not ok:
        first = results[0]
        return f'<td class="failed" title="{escape(first.reason)}">{escape(first.status)}</td>'
    if len(results) > 1:
        speeds = [r.rtfx for r in ok]
        wers = sorted({f"{r.score.wer:.3f}" for r in ok if r.score})
        failed = len(results) - len(ok)
        facts = [f"N={len(ok)} runs" + (f" (+{failed} failed)" if failed else ""), f"spread {min(speeds):.1f}–{max(speeds):.1f}",
                 f"WER {' / '.join(wers)}" if wers else "no WER"]
        tip = "median RTFx over the runs of this machine; spread = slowest to fastest run"
        return (f'<td class="num cell" title="{escape(tip)}"><strong>RTFx {statistics.median(speeds):.1f}</strong>'
                + "".join(f"<span>{escape(f)}</span>" for f in facts) + "</td>")
    result = ok[0]
    row = flat_row(result, preview_width=None, price_per_hour=price)
    facts = [f"WER {row['wer']}" if row["wer"] else "no WER", f"{row['cpu_s_per_audio_h']} CPU-s/h", f"{row['energy_wh_per_audio_h']} Wh/h"]
    if row["rtfx_ci"]:
        facts.insert(0, f"95 % {row['rtfx_ci']}")
    if price is not None:
        facts.append(f"cost {row['cost_per_audio_h']}/h")
    tip = f"median {row['median_s']} s · " + (f"energy not read: {row['energy_unread']}" if row["energy_unread"] else "every energy counter read")
    return f'<td class="num cell" title="{escape(tip)}"><strong>RTFx {row["rtfx"]}</strong>' + "".join(f"<span>{escape(f)}</span>" for f in facts) + "</td>"


def _named_rows(run: BenchmarkRun) -> list[tuple[str, BackendResult]]:
    return [(row_name(r.display_name, v), r) for r, v in zip(run.results, row_variants(run.results), strict=True)]


def _group_table(group: WeightsGroup) -> str:
    backends: list[str] = []
    for run in group.runs:
        for name, _ in _named_rows(run):
            if name not in backends:
                backends.append(name)
    machines = group.machines
    head = "<th>Backend</th>" + "".join(f'<th title="{escape(m)}">{escape(_machine_heading(group, m))}</th>' for m in machines)
    body = []
    for backend in backends:
        cells = []
        for machine in machines:
            runs = [run for run in group.runs if machine_label(run.provenance) == machine]
            found = [r for run in runs for name, r in _named_rows(run) if name == backend]
            cells.append(_cell(found, runs[0].price_per_hour if len(runs) == 1 else None))
        body.append(f"<tr><td><strong>{escape(backend)}</strong></td>{''.join(cells)}</tr>")
    return f'<div class="table-scroll"><table class="results board"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _machine_heading(group: WeightsGroup, machine: str) -> str:
    runs = [run for run in group.runs if machine_label(run.provenance) == machine]
    return short_machine_label(runs[0].provenance) + (f" · {len(runs)} runs" if len(runs) > 1 else "")


def _group_section(groups: Sequence[WeightsGroup], index: int) -> str:
    group = groups[index]
    points = timing_points(group.runs)
    scored = [(p, p.rtfx, p.wer) for p in points if p.rtfx and p.wer is not None]
    wer_chart = (
        xy_scatter_svg(scored, x_title="RTFx — further right is faster", y_title="WER — lower is better",
                       tip=lambda p: f"RTFx {p.rtfx:.1f}, WER {p.wer:.3f}", y_floor=0.05, aria="Speed against word error rate")
        if scored else '<p class="empty">No WER: these runs had no reference text.</p>'
    )
    return (
        f'<section class="group" id="group-{index}"><h2>{index + 1}. {escape(group.title)}</h2>'
        f'<p class="note">Audio: {escape(group.audio)} · {escape(group.settings)}.</p>'
        f'<p class="note">Machines × backends: RTFx (seconds of audio per second), WER, and the cost per hour of audio over the timed runs; '
        f'repeat runs of one machine share its column. Fingerprint <code>{escape(group.fingerprint)}</code>.</p>'
        + "".join(f'<p class="note">{escape(n)}</p>' for n in apart_notes(groups, index))
        + f"{_group_table(group)}"
        f'<div class="charts">{cost_figure(points)}<figure>{wer_chart}<figcaption>Speed against accuracy: lower right is fast and accurate.</figcaption></figure></div>'
        "</section>"
    )


def _machines(runs: Sequence[BenchmarkRun]) -> str:
    labels = run_labels(runs)
    rows = "".join(
        f"<tr><td>{escape(label)}</td><td>{escape(machine_label(run.provenance))}</td><td>{escape(run.provenance.os)}</td>"
        f"<td><code>{escape(run.run_id)}</code></td><td>{escape(run.created)}</td><td>{escape(run.schema)}</td>"
        f"<td>{'' if run.price_per_hour is None else f'{run.price_per_hour:g}/h'}</td></tr>"
        for run, label in zip(runs, labels, strict=True)
    )
    return (
        '<section id="machines"><h2>Runs</h2><table class="models"><thead><tr><th>Label</th><th>Machine</th><th>OS</th>'
        f"<th>Run</th><th>Created</th><th>Schema</th><th>Price</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def render_board(runs: Sequence[BenchmarkRun], notes: Sequence[str], title: str) -> str:
    """The whole board page: notes on skipped files, one section per model and weights, the runs."""
    groups = weights_groups(runs)
    machines = {machine_label(run.provenance) for run in runs}
    note_html = "".join(f'<p class="note"><strong>{escape(n)}</strong></p>' for n in notes)
    sections = "".join(_group_section(groups, i) for i in range(len(groups))) or '<p class="empty">No runs to show.</p>'
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}{BOARD_CSS}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><p class="sub">{len(runs)} run(s) from {len(machines)} machine(s), '
        f"{len(groups)} group(s) of model × weights × audio × settings. Runs on different weights, audio or settings are never put in one table.</p>{note_html}</header>"
        f"{sections}{_machines(runs) if runs else ''}"
        f"<footer>Written by whisper-speedtest {escape(__version__)}. This page is self-contained: it loads nothing from the network.</footer>"
        "</body></html>\n"
    )
