"""The terminal summary table (rich)."""

from __future__ import annotations

from rich.console import Console
from rich import box
from rich.markup import escape
from rich.table import Table

from ..results import BenchmarkRun
from .rows import (
    NOT_AVAILABLE, cost_notes, dataset_split, decode_notes, flat_rows, interval_notes, quant_drift_notes, runs_notes, settings_line,
    warning_notes, weights_notes,
)

WIDE = 150  # below this width the transcripts go under the table instead of into a column
NARROW = 100  # below this width the model goes under the backend's name instead of into a column


def summary_table(run: BenchmarkRun, *, with_transcripts: bool, verbose: bool = False, model_column: bool = True) -> Table:
    rows = [row for row in flat_rows(run, preview_width=None if verbose else 60) if row["status"] != "skipped"]
    # No energy reading in any row (the note under the table says why): the column is left out, so that
    # the figures that were measured keep their room in an 80-column terminal.
    energy = any(row["status"] == "ok" and row["energy_wh_per_audio_h"] != NOT_AVAILABLE for row in rows)
    table = Table(title="whisper-speedtest results", box=box.SIMPLE_HEAVY, show_lines=with_transcripts, pad_edge=False)
    table.add_column("Backend", style="bold", overflow="fold", min_width=14)
    if model_column:
        table.add_column("Model", overflow="fold")
    table.add_column("Load s", justify="right", min_width=5)
    table.add_column("Median s ± sd ×N", justify="right", no_wrap=True)
    table.add_column("RTFx", justify="right", no_wrap=True)
    table.add_column("WER", justify="right", no_wrap=True)
    table.add_column("Peak MB", justify="right", no_wrap=True)
    table.add_column("CPU-s/h", justify="right", no_wrap=True)  # per hour of audio, as the note under the table says
    if energy:
        table.add_column("Wh/h", justify="right", no_wrap=True)
    priced = run.price_per_hour is not None
    if priced:
        table.add_column("Cost/h", justify="right", no_wrap=True)
    if with_transcripts:
        table.add_column("Params in effect", overflow="fold", ratio=1)
        table.add_column("Transcript", overflow="fold", ratio=2)
    for row in rows:  # skipped rows are listed under the table with the reason
        names = [escape(row["backend"]), escape(row["model"])] if model_column else [f"{escape(row['backend'])}\n[dim]{escape(row['model'])}[/dim]"]
        if row["status"] != "ok":
            cells = [*names, "", f"[red]{row['status']}[/red]", "", "", "", ""] + [""] * (energy + priced)
        else:
            peak = row["peak_rss_mb"] + (f" +{row['peak_vram_mb']} GPU" if row["peak_vram_mb"] else "")
            cells = [
                *names,
                row["load_s"] + (f" / {row['warm_load_s']}" if verbose and row["warm_load_s"] else ""),
                f"{row['median_s']} ± {row['stdev_s']} ×{row['n']}",
                row["rtfx"] + (f" (model {row['dataset_model_rtfx']})" if row["dataset_model_rtfx"] else ""),
                (row["wer"] or "–") + (f" ({row['wer_delta']})" if row["wer_delta"] else ""),
                peak,
                row["cpu_s_per_audio_h"],
            ] + [row["energy_wh_per_audio_h"]] * energy + [row["cost_per_audio_h"]] * priced
        if with_transcripts:
            cells.append(escape(row["params"]) if row["status"] == "ok" else "")
            cells.append(escape(row["transcript"]) if row["status"] == "ok" else f"[red]{escape(row['reason'])}[/red]")
        table.add_row(*cells)
    return table


def print_summary(run: BenchmarkRun, console: Console, *, verbose: bool = False) -> None:
    wide = console.width >= WIDE
    if all(r.status == "skipped" for r in run.results):
        console.print("[yellow]No backend ran: every one was skipped (reasons below).[/yellow]", highlight=False)
    else:
        console.print(summary_table(run, with_transcripts=wide, verbose=verbose, model_column=console.width >= NARROW))
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
