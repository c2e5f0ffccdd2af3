"""The terminal summary table (rich)."""

from __future__ import annotations

from rich.console import Console
from rich import box
from rich.markup import escape

from ..results import BenchmarkRun
from .fit import FitColumn, FittedTable, fit_table, print_fitted
from .display_rows import (
    NOT_AVAILABLE, cost_notes, median_cell, dataset_split, decode_notes, flat_rows, interval_notes, quant_drift_notes, runs_notes, settings_line,
    warning_notes, weights_notes,
)

WIDE = 150  # below this width the transcripts go under the table instead of into a column
NARROW = 100  # below this width the model goes under the backend's name instead of into a column


def _median_cell(row: dict[str, str]) -> str:
    return median_cell(row, with_count=True)


def summary_columns(run: BenchmarkRun, rows: list[dict[str, str]], *, with_transcripts: bool, verbose: bool = False,
                    model_column: bool = True) -> tuple[list[FitColumn], list[list[str]]]:
    """The table's columns and cells; a column added here is laid out like the others (report/fit.py)."""
    # No energy reading in any row (the note under the table says why): the column is left out, so that
    # the figures that were measured keep their room in an 80-column terminal.
    energy = any(row["status"] == "ok" and row["energy_wh_per_audio_h"] != NOT_AVAILABLE for row in rows)
    priced = run.price_per_hour is not None
    columns = [FitColumn("Backend", wraps=True, style="bold")]
    if model_column:
        columns.append(FitColumn("Model", wraps=True))
    columns += [FitColumn(name, justify="right") for name in ("Load s", "Median s ± sd ×N", "RTFx", "WER", "Peak MB", "CPU-s/h")]
    if energy:
        columns.append(FitColumn("Wh/h", justify="right"))
    if priced:
        columns.append(FitColumn("Cost/h", justify="right"))
    if with_transcripts:
        columns += [FitColumn("Params in effect", wraps=True), FitColumn("Transcript", wraps=True)]
    cells = []
    for row in rows:
        names = [escape(row["backend"]), escape(row["model"])] if model_column else [f"{escape(row['backend'])}\n[dim]{escape(row['model'])}[/dim]"]
        if row["status"] != "ok":
            figures = ["", f"[red]{row['status']}[/red]", "", "", "", ""] + [""] * (energy + priced)
        else:
            peak = row["peak_rss_mb"] + (f" +{row['peak_vram_mb']} GPU" if row["peak_vram_mb"] else "")
            figures = [
                row["load_s"] + (f" / {row['warm_load_s']}" if verbose and row["warm_load_s"] else ""),
                _median_cell(row),
                row["rtfx"] + (f" (model {row['dataset_model_rtfx']})" if row["dataset_model_rtfx"] else ""),
                (row["wer"] or "–") + (f" ({row['wer_delta']})" if row["wer_delta"] else ""),
                peak,
                row["cpu_s_per_audio_h"],
            ] + [row["energy_wh_per_audio_h"]] * energy + [row["cost_per_audio_h"]] * priced
        if with_transcripts:
            figures.append(escape(row["params"]) if row["status"] == "ok" else "")
            figures.append(escape(row["transcript"]) if row["status"] == "ok" else f"[red]{escape(row['reason'])}[/red]")
        cells.append(names + figures)
    return columns, cells


def summary_table(run: BenchmarkRun, console: Console, *, with_transcripts: bool, verbose: bool = False, model_column: bool = True) -> FittedTable:
    rows = [row for row in flat_rows(run, preview_width=None if verbose else 60) if row["status"] != "skipped"]
    columns, cells = summary_columns(run, rows, with_transcripts=with_transcripts, verbose=verbose, model_column=model_column)
    return fit_table(console, "whisper-speedtest results", columns, cells, keys=2 if model_column else 1,
                     box=box.SIMPLE_HEAVY, show_lines=with_transcripts, pad_edge=False, show_edge=False)


def print_summary(run: BenchmarkRun, console: Console, *, verbose: bool = False) -> None:
    wide = console.width >= WIDE
    if all(r.status == "skipped" for r in run.results):
        console.print("[yellow]No backend ran: every one was skipped (reasons below).[/yellow]", highlight=False)
    else:
        print_fitted(console, summary_table(run, console, with_transcripts=wide, verbose=verbose, model_column=console.width >= NARROW))
    console.print(f"[dim]{settings_line(run)}[/dim]", highlight=False)
    for line in cost_notes(run):
        console.print(f"[dim]{escape(line)}[/dim]", highlight=False)
    for result in run.results:
        if split := dataset_split(result):
            console.print(f"[bold]{escape(result.display_name)}[/bold] [dim]{escape(split)}[/dim]", highlight=False)
    not_installed = []
    for row in flat_rows(run, preview_width=None if verbose else max(40, console.width - 4)):
        if row["status"] == "ok" and not wide:
            console.print(f"[bold]{escape(row['backend'])}[/bold] [dim]{escape(row['params'])}[/dim]", highlight=False)
            console.print(f"  {row['transcript']}", highlight=False, markup=False)
        elif row["status"] == "skipped" and "not installed" in row["reason"] and not verbose:
            not_installed.append(row["backend"])
        elif row["status"] != "ok" and (not wide or row["status"] == "skipped"):
            console.print(f"[bold]{escape(row['backend'])}[/bold] [red]{row['status']}[/red]: {escape(row['reason'])}", highlight=False)
    if not_installed:
        console.print(f"[dim]Not installed: {', '.join(not_installed)} (see `whisper-speedtest backends` for the extras).[/dim]", highlight=False)
    for row in flat_rows(run):
        if row["did_fallback"] == "true":
            console.print(f"[yellow]{escape(row['backend'])} {row['variant']}: {escape(row['reason'])}[/yellow]", highlight=False)
    for message in quant_drift_notes(run.results):
        console.print(f"[yellow]{escape(message)}[/yellow]", highlight=False)
    for message in runs_notes(run.results) + decode_notes(run.results):
        console.print(f"[dim]{escape(message)}[/dim]", highlight=False)
    for level, message in weights_notes(run.results):
        console.print(f"[{'green' if level == 'ok' else 'yellow'}]{escape(message)}[/]", highlight=False)
    print_intervals_and_warnings(run, console, verbose=verbose)
    print_library_logs([(r.display_name, r.library_log) for r in run.results], console, verbose=verbose)


def print_intervals_and_warnings(run: BenchmarkRun, console: Console, *, verbose: bool) -> None:
    """The table has no room for intervals: -v prints them here; hyperfine's warnings always."""
    intervals = interval_notes(run.results)
    if verbose:
        for line in intervals:
            console.print(f"[dim]{escape(line)}[/dim]", highlight=False)
    elif intervals:
        console.print("[dim]95 % intervals of the median, RTFx and WER: -v shows them; they are in the JSON, HTML and Markdown outputs.[/dim]",
                      highlight=False)
    for message in warning_notes(run.results):
        console.print(f"[yellow]Warning: {escape(message)}[/yellow]", highlight=False)


def print_library_logs(logs: list[tuple[str, str]], console: Console, *, verbose: bool) -> None:
    """What the backends' libraries printed in their children, as (row name, log): whole with -v, else one
    line naming whose (benchmark and stream rows alike)."""
    logged = [(name, log) for name, log in logs if log]
    if not logged:
        return
    if not verbose:
        names = ", ".join(f"{name} ({len(log.splitlines())} lines)" for name, log in logged)
        console.print(f"[dim]Library output kept in the JSON (library_log), -v shows it: {escape(names)}[/dim]", highlight=False)
        return
    for name, log in logged:
        console.print(f"[bold]{escape(name)}[/bold] [dim]library output:[/dim]", highlight=False)
        for line in log.splitlines():
            console.print(f"  {line}", markup=False, highlight=False)
