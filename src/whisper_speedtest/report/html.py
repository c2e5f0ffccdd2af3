"""One self-contained HTML page for one or several runs: table, charts, transcripts, provenance."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ..version import __version__
from ..results import BackendResult, BenchmarkRun, ClipResult
from .chart import timing_points
from .html_style import CSS
from .labels import machine_label, result_label, run_labels, weights_caveat
from .comparable import describe_audio, describe_decode, run_differences, run_groups
from .display_rows import cost_notes, median_cell, fallback_note, flat_row, settings_line, sort_results, warning_notes, weights_notes
from .svg import bar_chart_svg, cost_scatter_svg, scatter_svg
from .transcript_diff import changes_html, error_count, word_changes


def render_html(run: BenchmarkRun) -> str:
    """The page for a single run (the ``-o report.html`` writer)."""
    return render_page([run])


def render_page(runs: Sequence[BenchmarkRun], title: str = "whisper-speedtest results") -> str:
    """Several runs (machines) merge into one table with a machine column, one chart and one page."""
    runs = list(runs)
    labels = run_labels(runs)
    points = timing_points(runs)
    created = ", ".join(sorted({run.created for run in runs}))
    parts = [
        f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1><p class=\"sub\">{escape(_subtitle(runs, labels))} · {escape(created)}</p></header>",
        "<section id=\"results\"><h2>Results</h2>",
        _comparable_tables(runs, labels),
        "".join(f'<p class="note">{escape(label + ": ") if len(runs) > 1 else ""}{escape(settings_line(run))}</p>' for run, label in zip(runs, labels, strict=True)),
        _weights_note(runs),
        "".join(f'<p class="note warn">⚠ {escape(w)}</p>' for run in runs for w in warning_notes(run.results)),
        '<p class="note">Figures in brackets are 95 % intervals: bootstrap over the timed runs (or over clips), WER over clips.</p>',
        _cost_notes(runs, labels),
        "</section>",
        '<section id="charts" class="charts"><h2>Charts</h2>',
        f"<figure>{bar_chart_svg(points)}<figcaption>Median transcription time per backend; the whisker spans the fastest and slowest timed run. "
        "Bars striped in orange and labelled ⚠ ran synthetic or non-Whisper weights.</figcaption></figure>",
        _scatter_figure(points),
        cost_figure(points),
        "</section>",
        '<section id="transcripts"><h2>Transcripts</h2>',
        _diff_legend(runs),
        "".join(_transcripts(run, label if len(runs) > 1 else "") for run, label in zip(runs, labels, strict=True)),
        "</section>",
        '<section id="provenance"><h2>Provenance</h2>',
        "".join(_provenance(run, label) for run, label in zip(runs, labels, strict=True)),
        "</section>",
        f"<footer>Written by whisper-speedtest {escape(__version__)}. This page is self-contained: it loads nothing from the network.</footer>",
        "</body></html>\n",
    ]
    return "".join(parts)


def _scatter_figure(points) -> str:
    if not any(p.wer is not None for p in points):
        return f"<figure>{scatter_svg(points)}</figure>"
    caption = "Speed against accuracy, one point per backend and variant: lower left is fast and accurate."
    return f"<figure>{scatter_svg(points)}<figcaption>{caption}</figcaption></figure>"


def cost_figure(points) -> str:
    """The speed-vs-energy chart (speed vs CPU time where no energy counter could be read)."""
    svg, shows = cost_scatter_svg(points)
    captions = {
        "energy": "Speed against energy per hour of audio, timed runs only: lower right is fast and frugal.",
        "cpu": "Speed against CPU-seconds per hour of audio, timed runs only: no energy counter could be read "
        "(the reasons are under the results table). Lower right is fast and frugal.",
    }
    plotted = [p.wh_per_audio_h if shows == "energy" else p.cpu_s_per_audio_h for p in points]
    missing = sum(value is None for value in plotted)
    left_out = f" {missing} row(s) without this figure are left out." if shows and missing else ""
    caption = f"<figcaption>{captions[shows]}{left_out}</figcaption>" if shows else ""
    return f'<figure class="cost-chart">{svg}{caption}</figure>'


def _cost_notes(runs: Sequence[BenchmarkRun], labels: Sequence[str]) -> str:
    return "".join(
        f'<p class="note">{escape(label + ": ") if len(runs) > 1 else ""}{escape(line)}</p>'
        for run, label in zip(runs, labels, strict=True)
        for line in cost_notes(run)
    )


def _diff_legend(runs: Sequence[BenchmarkRun]) -> str:
    if not any(clip.reference for run in runs for clip in run.clips):
        return '<p class="note">No reference text, so the transcripts are shown as they are.</p>'
    return (
        '<p class="legend note">Words compared with the reference after the Whisper English normalizer: '
        '<span><mark class="sub">substituted</mark></span><span><ins>inserted</ins></span><span><del>missing</del></span></p>'
    )


def _subtitle(runs: Sequence[BenchmarkRun], labels: Sequence[str]) -> str:
    if len(runs) == 1:
        return f"run {runs[0].run_id} on {labels[0]}"
    return f"{len(runs)} runs: " + "; ".join(f"{run.run_id} on {label}" for run, label in zip(runs, labels, strict=True))


_HEADERS = ("Backend", "Model", "Load s", "Median s ± sd", "RTFx", "WER", "Peak MB")
_COST_HEADERS = ("CPU-s / audio h", "Wh / audio h")
_PRICE_HEADER = "Cost / audio h"


def _comparable_tables(runs: Sequence[BenchmarkRun], labels: Sequence[str]) -> str:
    """One table when every run had the same audio and decode settings; else one per group, saying what differs."""
    groups = run_groups(runs)
    if len(groups) == 1:
        return _results_table(runs, labels)
    parts = []
    for number, indices in enumerate(groups, 1):
        first = runs[indices[0]]
        others = [runs[g[0]] for g in groups if g is not indices]
        differs = sorted({line.split(":")[0] for other in others for line in run_differences(first, other)})
        parts.append(
            f"<h3>{number}. {escape(describe_audio(first))} · {escape(describe_decode(first.settings))}</h3>"
            f'<p class="note">Not in one table with the other runs: {escape(" and ".join(differs))}.</p>'
            + _results_table([runs[i] for i in indices], [labels[i] for i in indices])
        )
    return "".join(parts)


def _results_table(runs: Sequence[BenchmarkRun], labels: Sequence[str]) -> str:
    with_machine = len(runs) > 1
    priced = any(run.price_per_hour is not None for run in runs)
    headers = (("Machine",) if with_machine else ()) + _HEADERS + _COST_HEADERS + ((_PRICE_HEADER,) if priced else ()) + ("Params in effect", "Status")
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = []
    for run, label in zip(runs, labels, strict=True):
        machine_cell = f'<td class="machine" title="{escape(machine_label(run.provenance))}">{escape(label)}</td>' if with_machine else ""
        rows = [_result_row(result, machine_cell, run.price_per_hour, priced) for result in sort_results(run.results)]
        if rows and with_machine:
            rows[0] = rows[0].replace("<tr class=\"", "<tr class=\"run-start ", 1)
        body.extend(rows)
    return f"<div class=\"table-scroll\"><table class=\"results\"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def _result_row(result: BackendResult, machine_cell: str, price_per_hour: float | None, priced: bool) -> str:
    row = flat_row(result, preview_width=None, price_per_hour=price_per_hour)
    caveat = weights_caveat(result)
    classes = ("ok" if result.ok else "skipped" if result.status == "skipped" else "failed") + (" caveat" if caveat else "")
    badge = f'<span class="badge">⚠ {escape(caveat)}</span>' if caveat else ""
    fingerprint = result.model.fingerprint if result.model and result.model.fingerprint else "none"
    cells = [f'<td class="model" title="fingerprint {escape(fingerprint)}">{escape(row["model"])}</td>']
    if result.ok:
        cells += _measured_cells(result, row, priced)
        fallback = fallback_note(result) if result.did_fallback else ""
        status = '<span class="status-ok">ok</span>' + (f' <span class="note">({escape(fallback)})</span>' if fallback else "")
    else:
        cells.append(f'<td colspan="{8 + priced}" class="reason">{escape(result.reason)}</td>')
        status_class = "status-skip" if result.status == "skipped" else "status-bad"
        status = f'<span class="{status_class}">{escape(result.status)}</span>'
    return (
        f'<tr class="{classes}">{machine_cell}<td><strong>{escape(result_label(result))}</strong>{badge}</td>'
        f"{''.join(cells)}<td>{status}</td></tr>"
    )


def _measured_cells(result: BackendResult, row: dict[str, str], priced: bool) -> list[str]:
    t = result.transcribe
    spread = f"n={t.n}, min {t.min:.3f} s, max {t.max:.3f} s" if t else ""
    peak = row["peak_rss_mb"] + (f" + {row['peak_vram_mb']} GPU" if row["peak_vram_mb"] else "")
    wer = (row["wer"] + (f' <span class="note">CER {row["cer"]}</span>' if row["cer"] else "")) if row["wer"] else "–"
    params = "".join(f"<span>{escape(f'{k}={v}')}</span>" for k, v in result.params.items() if v is not None)
    return [
        f'<td class="num">{row["load_s"]}</td>',
        f'<td class="num" title="{escape(spread)}">{median_cell(row)}{_ci(row["median_ci_s"])}</td>',
        f'<td class="num">{row["rtfx"]}{_ci(row["rtfx_ci"])}</td>',
        f'<td class="num">{wer}{_ci(row["wer_ci"])}</td>',
        f'<td class="num">{escape(peak)}</td>',
        *_cost_cells(result, row, priced),
        f'<td class="params">{params}</td>',
    ]


def _ci(cell: str) -> str:
    """A 95 % interval under the figure, small ("" when there is none)."""
    return f'<br><span class="note" title="95 % interval">[{escape(cell)}]</span>' if cell else ""


def _cost_cells(result: BackendResult, row: dict[str, str], priced: bool) -> list[str]:
    """CPU-s and Wh per audio hour (and the price), with the load's cost and what was not read in the tooltips."""
    load = f"load (apart): {row['load_cpu_s']} CPU-s, {row['load_energy_j']} J"
    read = f"measured: {row['energy_domains']}" if row["energy_domains"] else ""
    why = "; ".join(x for x in (read, row["energy_unread"] and "not read: " + row["energy_unread"]) if x)
    cells = [
        f'<td class="num cost" title="{escape(load)}">{row["cpu_s_per_audio_h"]}</td>',
        f'<td class="num cost" title="{escape(why)}">{row["energy_wh_per_audio_h"]}</td>',
    ]
    if priced:
        cells.append(f'<td class="num cost">{row["cost_per_audio_h"] or "–"}</td>')
    return cells


def _weights_note(runs: Sequence[BenchmarkRun]) -> str:
    notes = weights_notes([r for run in runs for r in run.results])
    return "".join(
        f'<p class="note">{"<strong>" if level == "warn" else ""}{escape(text)}{"</strong>" if level == "warn" else ""}</p>'
        for level, text in notes
    )


def _clip_result(result: BackendResult, index: int, name: str) -> ClipResult | None:
    if index < len(result.clips) and result.clips[index].clip == name:
        return result.clips[index]
    return next((c for c in result.clips if c.clip == name), None)


def _transcripts(run: BenchmarkRun, run_label: str) -> str:
    ok_results = [r for r in sort_results(run.results) if r.ok]
    parts = [f"<h3>{escape(run_label)}</h3>"] if run_label else []
    if not ok_results:
        return "".join(parts) + '<p class="empty">No backend produced a transcript.</p>'
    for index, clip in enumerate(run.clips):
        cards = []
        if clip.reference:
            cards.append(f'<div class="card reference"><h4>Reference</h4><div class="words">{escape(clip.reference)}</div></div>')
        for result in ok_results:
            clip_result = _clip_result(result, index, clip.name)
            if clip_result is not None:
                cards.append(_transcript_card(result, clip_result, clip.reference))
        parts.append(f"<h4>{escape(clip.name)} <span class=\"note\">({clip.duration_s:.1f} s)</span></h4><div class=\"transcripts\">{''.join(cards)}</div>")
    return "".join(parts)


def _transcript_card(result: BackendResult, clip: ClipResult, reference: str | None) -> str:
    caveat = weights_caveat(result)
    badge = f'<span class="badge">⚠ {escape(caveat)}</span>' if caveat else ""
    if reference:
        changes = word_changes(reference, clip.text)
        errors = error_count(changes)
        wer = f" · WER {clip.score.wer:.3f}" if clip.score else ""
        heading = f'{escape(result_label(result))}{badge} <span class="note">{errors} word error(s){wer}</span>'
        words = changes_html(changes)
        raw = f"<details><summary>raw text</summary>{escape(clip.text)}</details>"
    else:
        heading = f"{escape(result_label(result))}{badge}"
        words, raw = escape(clip.text), ""
    return f'<div class="card"><h4>{heading}</h4><div class="words">{words or "<em>(empty)</em>"}</div>{raw}</div>'


def _facts(items: Sequence[tuple[str, str]]) -> str:
    return '<dl class="facts">' + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in items if v) + "</dl>"


def _provenance(run: BenchmarkRun, label: str) -> str:
    p, s = run.provenance, run.settings
    machine = [
        ("Run", f"{run.run_id} · {run.created} · schema {run.schema}"),
        ("Tool", f"whisper-speedtest {p.tool_version}" + (f" ({p.git_commit[:10]})" if p.git_commit else "")),
        ("Machine", machine_label(p)),
        ("CPU", f"{p.cpu} ({p.machine}), {p.cores_physical} physical / {p.cores_logical} logical cores"),
        ("Memory", f"{p.ram_gb} GiB"),
        ("GPU", ", ".join(p.gpus) or "none"),
        ("GPU driver / CUDA", " / ".join(x for x in (p.gpu_driver, p.cuda) if x)),
        ("OS", p.os),
        ("Python", p.python),
    ]
    settings = [
        ("Decode", f"language={s.language or 'auto'}, beam={s.beam_size}, temperature={s.temperature:g}, "
                   f"previous-text={'on' if s.condition_on_previous_text else 'off'}"),
        ("Runs", f"{s.runs_described()}, timeout {s.timeout_s:g} s per backend"),
        ("Audio", "; ".join(f"{c.name} {c.duration_s:.1f} s (from {c.original_sample_rate} Hz, {c.original_channels} ch)"
                            + ("" if c.reference else ", no reference") for c in run.clips)),
    ]
    models = "".join(
        f"<tr><td>{escape(result_label(r))}</td><td>{escape(f'{r.model.name} {r.model.format}/{r.model.dtype}')}"
        f"{' <span class=badge>⚠ ' + escape(weights_caveat(r)) + '</span>' if weights_caveat(r) else ''}</td>"
        f"<td><code>{escape(r.model.fingerprint or '–')}</code></td><td>{escape(r.model.source or '')}</td></tr>"
        for r in sort_results(run.results) if r.model is not None
    )
    packages = dict(p.packages)
    for r in run.results:
        packages.update(r.packages)
    package_rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in sorted(packages.items()))
    return (
        f"<h3>{escape(label)}</h3><div class=\"columns\"><div>{_facts(machine)}</div><div>{_facts(settings)}</div></div>"
        f"<h4>Model per backend</h4><table class=\"models\"><thead><tr><th>Backend</th><th>Weights</th><th>Fingerprint (sha256 of tensors)</th><th>Source</th></tr></thead><tbody>{models}</tbody></table>"
        f"<h4>Packages</h4><table class=\"packages\"><thead><tr><th>Package</th><th>Version</th></tr></thead><tbody>{package_rows}</tbody></table>"
    )
