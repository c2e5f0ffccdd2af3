"""The board: one self-contained page over runs from many machines, one section per model and weights.

Rows are grouped by model name and weights fingerprint, so runs on different weights never share
a table column or a chart; rows without a (well-formed) fingerprint form their own "unverified" group.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from html import escape

from ..version import __version__
from ..results import BackendResult, BenchmarkRun
from .chart import timing_points
from .html import cost_figure
from .html_style import CSS
from .labels import machine_label, result_label, run_labels
from .rows import flat_row
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

    @property
    def title(self) -> str:
        weights = "weights unverified (no fingerprint)" if self.fingerprint == UNVERIFIED else f"weights {self.fingerprint[:16]}"
        return f"{self.model} · {weights}"


def well_formed_fingerprint(fingerprint: str | None) -> bool:
    """A sha256 of the tensors, as the store writes it."""
    return bool(fingerprint and _SHA256.match(fingerprint))


def group_key(result: BackendResult) -> tuple[str, str]:
    fp = result.model.fingerprint if result.model else None
    return (result.model.name if result.model else "unknown model", fp if well_formed_fingerprint(fp) else UNVERIFIED)


def weights_groups(runs: Sequence[BenchmarkRun]) -> list[WeightsGroup]:
    """One group per (model, fingerprint); failed rows without a model are left out."""
    keys: dict[tuple[str, str], list[BenchmarkRun]] = {}
    for run in runs:
        by_key: dict[tuple[str, str], list[BackendResult]] = {}
        for result in run.results:
            if result.model is not None and result.status != "skipped":
                by_key.setdefault(group_key(result), []).append(result)
        for key, rows in by_key.items():
            keys.setdefault(key, []).append(replace(run, results=tuple(rows)))
    order = sorted(keys, key=lambda k: (k[0], k[1] == UNVERIFIED, k[1]))
    return [WeightsGroup(model, fp, tuple(keys[(model, fp)])) for model, fp in order]


def _cell(result: BackendResult | None, price: float | None) -> str:
    if result is None:
        return '<td class="empty">–</td>'
    if not result.ok:
        return f'<td class="failed" title="{escape(result.reason)}">{escape(result.status)}</td>'
    row = flat_row(result, preview_width=None, price_per_hour=price)
    facts = [f"WER {row['wer']}" if row["wer"] else "no WER", f"{row['cpu_s_per_audio_h']} CPU-s/h", f"{row['energy_wh_per_audio_h']} Wh/h"]
    if price is not None:
        facts.append(f"cost {row['cost_per_audio_h']}/h")
    tip = f"median {row['median_s']} s · " + (f"energy not read: {row['energy_unread']}" if row["energy_unread"] else "every energy counter read")
    return f'<td class="num cell" title="{escape(tip)}"><strong>RTFx {row["rtfx"]}</strong>' + "".join(f"<span>{escape(f)}</span>" for f in facts) + "</td>"


def _group_table(group: WeightsGroup, labels: Sequence[str]) -> str:
    backends: list[str] = []
    for run in group.runs:
        for result in run.results:
            if result_label(result) not in backends:
                backends.append(result_label(result))
    head = "<th>Backend</th>" + "".join(f'<th title="{escape(machine_label(r.provenance))}">{escape(l)}</th>' for r, l in zip(group.runs, labels, strict=True))
    body = []
    for backend in backends:
        cells = "".join(_cell(next((r for r in run.results if result_label(r) == backend), None), run.price_per_hour) for run in group.runs)
        body.append(f"<tr><td><strong>{escape(backend)}</strong></td>{cells}</tr>")
    return f'<div class="table-scroll"><table class="results board"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _group_section(group: WeightsGroup, index: int) -> str:
    labels = run_labels(group.runs)
    points = timing_points(group.runs)
    scored = [(p, p.rtfx, p.wer) for p in points if p.rtfx and p.wer is not None]
    wer_chart = (
        xy_scatter_svg(scored, x_title="RTFx — further right is faster", y_title="WER — lower is better",
                       tip=lambda p: f"RTFx {p.rtfx:.1f}, WER {p.wer:.3f}", y_floor=0.05, aria="Speed against word error rate")
        if scored else '<p class="empty">No WER: these runs had no reference text.</p>'
    )
    return (
        f'<section class="group" id="group-{index}"><h2>{escape(group.title)}</h2>'
        f'<p class="note">Machines × backends: RTFx (seconds of audio per second), WER, and the cost per hour of audio over the timed runs. '
        f'Fingerprint <code>{escape(group.fingerprint)}</code>.</p>'
        f"{_group_table(group, labels)}"
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
    sections = "".join(_group_section(g, i) for i, g in enumerate(groups)) or '<p class="empty">No runs to show.</p>'
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}{BOARD_CSS}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><p class="sub">{len(runs)} run(s) from {len(machines)} machine(s), '
        f"{len(groups)} model/weights group(s). Runs on different weights are never put in one column.</p>{note_html}</header>"
        f"{sections}{_machines(runs) if runs else ''}"
        f"<footer>Written by whisper-speedtest {escape(__version__)}. This page is self-contained: it loads nothing from the network.</footer>"
        "</body></html>\n"
    )
