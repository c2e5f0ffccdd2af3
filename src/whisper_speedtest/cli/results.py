"""Commands for results that already exist: ``history``, ``compare``, ``report``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from .options import split_csv

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
    if row.verdict in (NOT_COMPARABLE, ONLY_IN_A, ONLY_IN_B):
        return f"[yellow]{row.verdict}[/yellow]" + (f": {row.detail}" if row.detail else "")
    return row.verdict


def _delta_cell(row: BackendComparison) -> str:
    delta = row.wer_delta
    if delta is None:
        return "–"
    text = f"{delta:+.3f}"
    return f"[red]{text}[/red]" if row.wer_worse else f"[green]{text}[/green]" if delta < 0 else text


def comparison_table(comparison: RunComparison):
    from rich.table import Table

    table = Table(title="B compared with A", caption="ratio = B median / A median; above 1 means B is slower")
    for column in ("Backend", "A median s", "B median s", "B/A", "A WER", "B WER", "ΔWER", "Verdict"):
        table.add_column(column, justify="left" if column in ("Backend", "Verdict") else "right", overflow="fold")
    for row in comparison.rows:
        ratio = "–" if row.ratio is None else f"{row.ratio:.2f}×"
        table.add_row(row.backend, _seconds(row.a_median_s), _seconds(row.b_median_s), ratio, _wer(row.a_wer), _wer(row.b_wer), _delta_cell(row), _verdict_cell(row))
    return table


def register(app: typer.Typer) -> None:
    """Add ``history``, ``compare``, ``report`` and ``record`` to the application."""
    out, err = Console(), Console(stderr=True)

    @app.command("history")
    def history_command(
        limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs to show, newest first.")] = 20,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """List recorded runs: id, date, machine, model, backends and the fastest one."""
        from rich.table import Table

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
        table = Table(title=f"Results history ({history.database_path()})")
        for column in ("Run", "Date", "Machine", "Model", "Backends", "Best (median)"):
            table.add_column(column, overflow="fold")
        for e in lines:
            best = f"{e['best_backend']} ({e['best_median_s']:.3f} s)" if e["best_backend"] and e["best_median_s"] is not None else "[red]none succeeded[/red]"
            table.add_row(e["run_id"], e["created"].replace("T", " ")[:16], e["machine"], e["model"], ", ".join(e["backends"]), best)
        out.print(table)

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
            out.print(comparison_table(comparison))
            for note in comparison.notes:
                out.print(f"[yellow]note:[/yellow] {note}", highlight=False)
            out.print(
                f"[dim]Regression: B's median is over {MIN_RELATIVE_CHANGE:.0%} above A's and B's fastest run is slower than A's slowest "
                "(the measured ranges do not overlap).[/dim]"
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

        paths = check_output_paths(split_csv(output))
        unsupported = [str(p) for p in paths if p.suffix.lower() not in MERGED_OUTPUTS]
        if unsupported:
            raise BadOption(f"report writes {' or '.join(MERGED_OUTPUTS)} files (got {', '.join(unsupported)})")
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
