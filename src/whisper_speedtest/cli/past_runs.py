"""Commands for results that already exist: ``history``, ``compare``, ``report``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .options import split_csv

from ..report.fit import print_fitted

from ..report.compare import FASTER, NOT_COMPARABLE, ONLY_IN_A, ONLY_IN_B, SLOWER, BackendComparison, RunComparison

MERGED_OUTPUTS = (".html", ".png")


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _wer(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _verdict_cell(row: BackendComparison) -> str:
    if row.verdict == SLOWER:
        return "[bold red]REGRESSION (slower)[/bold red]"
    if row.verdict == FASTER:
        return "[green]faster[/green]"
    if row.verdict in (NOT_COMPARABLE, ONLY_IN_A, ONLY_IN_B):  # the key that differs, in short; the note under the table says more
        short = ", ".join(dict.fromkeys(part.split(":")[0] for part in row.detail.split("; "))) if row.detail else ""
        return f"[yellow]{row.verdict}[/yellow]" + (f": {short}" if short else "")
    return row.verdict


def _delta_cell(row: BackendComparison) -> str:
    delta = row.wer_delta
    if delta is None:
        return "–"
    text = f"{delta:+.3f}"
    return f"[red]{text}[/red]" if row.wer_worse else f"[green]{text}[/green]" if delta < 0 else text


def _ratio_cell(row: BackendComparison) -> str:
    if row.ratio is None:
        return "–"
    interval = row.ratio_interval
    return f"{row.ratio:.2f}×" + (f" [{interval.low:.2f}–{interval.high:.2f}]" if interval else "")


def comparison_table(comparison: RunComparison, console):
    from ..report.fit import FitColumn, fit_table

    columns = [FitColumn("Row", wraps=True)] + [
        FitColumn(name, justify="right") for name in ("A median s", "B median s", "B/A", "A WER", "B WER", "ΔWER")
    ] + [FitColumn("Verdict", wraps=True)]
    rows = [[row.backend, _seconds(row.a_median_s), _seconds(row.b_median_s), _ratio_cell(row), _wer(row.a_wer), _wer(row.b_wer),
             _delta_cell(row), _verdict_cell(row)] for row in comparison.rows]
    return fit_table(console, "B compared with A", columns, rows,
                     caption="B/A = B's time / A's time [95 % interval]; above 1 means B is slower")


def pair_lines(comparison: RunComparison) -> list[str]:
    """One line per compared pair: ratio, its interval, the test and its p-value, the WER change and its interval."""
    lines = []
    for row in comparison.rows:
        if row.ratio is None:
            continue
        interval = row.ratio_interval
        speed = f"B/A {row.ratio:.3f}×" + (f" (95 % interval {interval.low:.3f}–{interval.high:.3f})" if interval else " (no interval)")
        p_value = f", p = {row.speed.p_value:.3g}" if row.speed and row.speed.p_value is not None else ""
        wer = ""
        if row.wer_change is not None:
            w = row.wer_change
            wer = f"; ΔWER {w.delta:+.4f}" + (f" (95 % interval {w.interval.low:+.4f} to {w.interval.high:+.4f}, {w.clips} clip(s))" if w.interval else f" ({w.clips} clip)")
        lines.append(f"{row.backend}: {row.verdict} — {speed}, {row.test}{p_value}{wer}")
    return lines


def register(app: typer.Typer) -> None:
    """Add ``history``, ``compare``, ``report`` and ``record`` to the application."""
    out, err = Console(), Console(stderr=True)

    @app.command("history")
    def history_command(
        limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs to show, newest first.")] = 20,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """List recorded runs: id, date, machine, model, backends and the fastest one."""
        from rich.markup import escape

        from ..report.fit import FitColumn, fit_table

        from .. import history
        from ..errors import BadOption
        from ..report.labels import history_line

        if limit < 1:
            raise BadOption(f"--limit must be at least 1 (got {limit})")
        lines = [history_line(entry) for entry in history.list_runs(limit)]
        if as_json:
            out.print_json(json.dumps(lines))
            return
        if not lines:
            err.print(f"no runs recorded yet (history: {history.database_path()})")
            return
        # The run id is what users copy into ``compare``: it never wraps (nor the date); the rest wraps between words.
        columns = [FitColumn("Run"), FitColumn("Date"), FitColumn("Machine", wraps=True), FitColumn("Model", wraps=True),
                   FitColumn("Backends", wraps=True), FitColumn("Best (median)", wraps=True)]
        rows = []
        for e in lines:
            best = (f"{escape(e['best_backend'])} ({e['best_median_s']:.3f} s)" if e["best_backend"] and e["best_median_s"] is not None
                    else "[red]none succeeded[/red]")
            rows.append([e["run_id"], e["created"].replace("T", " ")[:16], escape(e["machine"]), escape(e["model"]),
                         escape(", ".join(e["backends"])), best])
        print_fitted(out, fit_table(out, f"Results history ({history.database_path()})", columns, rows))

    @app.command("compare")
    def compare_command(
        run_a: Annotated[str, typer.Argument(help="Baseline: a run id (or prefix) from the history, or a results .json file.")],
        run_b: Annotated[Optional[str], typer.Argument(help="Candidate: a run id (or prefix), or a results .json file (not with --rows).")] = None,
        rows: Annotated[Optional[str], typer.Option("--rows", help="Compare two rows of RUN_A instead: A,B (e.g. faster-whisper,faster-whisper==1.2.0).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
        fail_on_regression: Annotated[bool, typer.Option("--fail-on-regression", help="Exit with status 1 when a backend regressed.")] = False,
    ) -> None:
        """Compare two runs backend by backend: ratio of medians, WER change, regressions flagged."""
        from ..history import load_run_ref
        from ..report.compare import MIN_RELATIVE_CHANGE, compare_runs, comparison_to_dict

        from ..errors import BadOption
        from ..report.compare import compare_rows_of_one_run

        if (rows is None) == (run_b is None):
            raise BadOption("compare takes RUN_A RUN_B, or one run with --rows A,B")
        if rows is not None:
            pair = [name.strip() for name in rows.split(",") if name.strip()]
            if len(pair) != 2:
                raise BadOption(f"--rows takes two row names, A,B (got {rows!r})")
            comparison = compare_rows_of_one_run(load_run_ref(run_a), *pair)
        else:
            comparison = compare_runs(load_run_ref(run_a), load_run_ref(run_b))
        if as_json:
            out.print_json(json.dumps(comparison_to_dict(comparison)))
        else:
            out.print(f"A: {comparison.a_label}", highlight=False, markup=False)
            out.print(f"B: {comparison.b_label}", highlight=False, markup=False)
            print_fitted(out, comparison_table(comparison, out))
            for line in pair_lines(comparison):
                out.print(line, highlight=False, markup=False)
            for note in comparison.notes:
                out.print(f"[yellow]note:[/yellow] {note}", highlight=False)
            out.print(
                f"[dim]Slower or faster: a test over the raw samples rejects equal speed at 5 %, the ratio's 95 % interval excludes 1 "
                f"and the change exceeds {MIN_RELATIVE_CHANGE:.0%}. Files before schema 1.4 keep no samples: for them B's median must be "
                f"over {MIN_RELATIVE_CHANGE:.0%} above A's with the measured ranges apart.[/dim]"
            )
            count = len(comparison.regressions)
            out.print(f"[bold red]{count} regression(s)[/bold red]" if count else "[green]no speed regression[/green]")
        if fail_on_regression and comparison.regressions:
            raise typer.Exit(1)

    @app.command("report")
    def report_command(
        results: Annotated[list[str], typer.Argument(help="Results .json files (from any machine) or run ids from the history.")],
        output: Annotated[list[str], typer.Option("-o", "--output", help="Where to write: .html (the full page) or .png (the bar chart).")],
        title: Annotated[Optional[str], typer.Option("--title", help="Page title.")] = None,
    ) -> None:
        """Merge results from several runs or machines into one page (one table with a machine column)."""
        from ..errors import BadOption
        from ..history import load_run_ref
        from ..report.writers import check_output_paths, write_output

        paths = check_output_paths(split_csv(output), MERGED_OUTPUTS, "report")
        runs = [load_run_ref(ref) for ref in results]
        seen: set[str] = set()
        duplicates = [r.run_id for r in runs if r.run_id in seen or seen.add(r.run_id)]
        if duplicates:
            raise BadOption(f"the same run was given twice: {', '.join(duplicates)}")
        for path in paths:
            write_output(Path(path), _render_merged(runs, path.suffix.lower(), title))
            err.print(f"wrote {path}")



def _render_merged(runs, suffix: str, title: str | None) -> str | bytes:
    if suffix == ".png":
        from ..report.chart import render_bar_png

        return render_bar_png(runs)
    from ..report.html import render_page

    return render_page(runs, title or ("whisper-speedtest results" if len(runs) == 1 else f"whisper-speedtest: {len(runs)} runs compared"))
