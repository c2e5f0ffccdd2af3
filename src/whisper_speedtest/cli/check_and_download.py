"""The ``check-models`` and ``download`` commands: what is cached where, and fetching what is not."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any, Optional

import typer

from ..models.cache_check import KIND_NAMES
from ..models.verify import CacheStatus
from ..child_messages import ChildMessage
from ..models.weights_mode import WeightsMode
from .output import confirm, human_bytes, leftovers_line, print_notes, say_offline
from .options import ImplementationsOption, ModelsOption, WeightsOption, backend_choice, check_weights, split_csv

_STYLE = {"complete": "green", "missing": "yellow", "incomplete": "yellow", "corrupt": "red", "not-applicable": "dim"}


def _short_upstream(upstream: str) -> str:
    """URLs named by host and file for the table, both whole (JSON keeps the URL)."""
    if "://" not in upstream:
        return upstream
    host, _, path = upstream.split("://", 1)[1].partition("/")
    return f"{host} · {path.rsplit('/', 1)[-1]}"


def _resolve_models(values: list[str] | None) -> list[str]:
    from ..models import catalog

    return list(dict.fromkeys(catalog.resolve(name) for name in (split_csv(values) or [catalog.DEFAULT_MODEL])))


def _backend_classes(backends: list[str] | None, implementations: list[str] | None, *, only_available: bool) -> dict[str, Any]:
    """Backend classes by name: the ones named (unknown names raise UnknownBackend), or all of them.

    mac-whisper-speedtest's names and ``--implementations`` are accepted, with one note each on stderr.
    """
    from rich.console import Console

    classes, notes = backend_choice(backends or (), implementations or ())
    print_notes(notes, Console(stderr=True))
    named = bool(split_csv(backends) or split_csv(implementations))
    if only_available and not named:
        classes = tuple(c for c in classes if c.available().ok)
    return {c.name: c for c in classes}


def _status_cell(status: CacheStatus | str, suffix: str = "") -> str:
    value = str(status)
    shown = "—" if value == "not-applicable" else value
    return f"[{_STYLE[value]}]{shown}{suffix}[/]" if value in _STYLE else f"{shown}{suffix}"


# ---------------------------------------------------------------- --deep: load in a child process
def _model_ref(backend_class: Any, row):
    """The weights the benchmark would run for ``row``: the backend's own model, or what ``locate`` picks."""
    from ..models import sources

    if row.own_model:
        return backend_class.locate_model(row.model)
    return sources.locate(row.model, row.format, convert_if_missing=False)


def _load_check(backend_class: Any, row, timeout_s: float):
    """Load the row's weights through its backend in a spawned child, as a benchmark does; never raises."""
    from ..bench.child import run_child
    from ..bench.job import WorkerJob
    from ..errors import UserError
    from ..models.cache_check import LoadCheck

    if not row.available:
        return LoadCheck("skipped", "backend not available here")
    if row.runs is None:
        return LoadCheck("skipped", "converted on first use, not by a check" if row.ready else f"weights {row.status}")
    try:
        ref = _model_ref(backend_class, row)
    except UserError as exc:
        return LoadCheck("skipped", str(exc))
    kind, payload = run_child(WorkerJob.load_only(backend_class, ref), timeout_s, lambda kind, payload: None, f"load:{row.backend}")
    if kind == ChildMessage.RESULT:
        result = LoadCheck("loaded", payload.load.actual, round(payload.load_s, 3))
    elif kind == ChildMessage.ERROR:
        result = LoadCheck("failed", payload.reason)
    elif kind == ChildMessage.TIMEOUT:
        result = LoadCheck("timeout", f"no answer within {timeout_s:g} s")
    else:
        result = LoadCheck("failed", str(payload))
    return result


LOAD_FAILURES = ("failed", "timeout")


def _with_load(row, load):
    """A row with its --deep load result; weights that failed to load or timed out are not ready."""
    if load.status in LOAD_FAILURES:
        return dataclasses.replace(row, load=load, ready=False, ready_from=f"not ready: load {load.status} ({load.detail})")
    return dataclasses.replace(row, load=load)


def _failed_loads(rows) -> list:
    return [r for r in rows if r.load is not None and r.load.status in LOAD_FAILURES]


# ---------------------------------------------------------------- rendering
WIDE_TABLE = 140  # columns needed for one column per cache location


def _print_table(console, rows, deep: bool) -> None:
    if console.width < WIDE_TABLE:
        _print_compact_table(console, rows, deep)
        return
    from rich.markup import escape

    from ..report.fit import FitColumn, fit_table, print_fitted

    columns = [FitColumn(name) for name in ("Backend", "Available", "Model", "Format")]
    columns += [FitColumn("Status", wraps=True), FitColumn("Size")]
    columns += [FitColumn(name, wraps=True) for name in ("Hub cache", "Store", "Package", "Backend cache")]
    columns += [FitColumn("Upstream", wraps=True)] + ([FitColumn("Load", wraps=True)] if deep else [])
    cells = []
    for row in rows:
        status = _status_cell(row.status, " (convertible)" if row.ready and row.status is not CacheStatus.COMPLETE else "")
        line = [row.backend, "yes" if row.available else "[dim]no[/]", row.model, row.format, status,
                human_bytes(row.size_bytes), *_location_cells(row), escape(_short_upstream(row.upstream))]
        if deep:
            seconds = f" in {row.load.seconds:.2f} s" if row.load and row.load.seconds is not None else ""
            line.append(escape(f"{row.load.status} {row.load.detail}{seconds}".strip()) if row.load else "")
        cells.append(line)
    print_fitted(console, fit_table(console, "Model caches", columns, cells))
    if any("://" in row.upstream for row in rows):
        console.print("[dim]Upstream URLs are named by host · file; --json gives each URL whole.[/]")
    if any(loc.complete for row in rows for loc in row.more_hub):
        console.print("[dim]Hub cache +N: N more Hub caches hold a complete copy too; --json lists each one.[/]")


def _location_cells(row) -> list[str]:
    """One status per location column; the Hub cell counts the other Hub caches' complete copies."""
    more = sum(loc.complete for loc in row.more_hub)
    hub = _status_cell(row.hub.status, f" +{more}" if more else "")
    return [hub, *(_status_cell(loc.status) for loc in row.locations[1:])]


def _print_compact_table(console, rows, deep: bool) -> None:
    """Narrow terminals (macOS Terminal opens at 80 columns): a short table, then where each copy is,
    one line per folder with the backends that use it; unavailable backends dimmed."""
    from rich.markup import escape
    from rich.padding import Padding
    from rich.text import Text

    from ..report.fit import FitColumn, fit_table, print_fitted

    models = sorted({row.model for row in rows})
    one_model = len(models) == 1
    columns = [FitColumn("Backend", wraps=True)] + [FitColumn(name) for name in ((() if one_model else ("Model",)) + ("Format",))]
    columns += [FitColumn("Status", wraps=True), FitColumn("Size")] + ([FitColumn("Load", wraps=True)] if deep else [])
    cells = []
    for row in rows:
        status = _status_cell(row.status, " (convertible)" if row.ready and row.status is not CacheStatus.COMPLETE else "")
        backend = row.backend if row.available else f"[dim]{row.backend} (n/a)[/]"
        line = [backend, *(() if one_model else (row.model,)), row.format, status, human_bytes(row.size_bytes)]
        if deep:
            line.append(escape(f"{row.load.status} {row.load.detail}".strip()) if row.load else "")
        cells.append(line)
    print_fitted(console, fit_table(console, f"Model caches: {models[0]}" if one_model else "Model caches", columns, cells))
    copies = copies_by_folder(rows)
    if copies:
        console.print("Where the copies are:")
    for (model, where, path), backends in copies.items():
        label = ", ".join(backends) + ("" if one_model else f" · {model}")
        console.print(f"  [bold]{escape(label)}[/] · {escape(where)}", highlight=False)
        console.print(Padding(Text(_home_abbreviated(path), style="dim", overflow="fold"), (0, 0, 0, 4)))
    if any(not row.available for row in rows):
        console.print("[dim]n/a: the backend cannot run here.[/]")
    console.print("[dim]Wider terminals (140+ columns) show every location's status and the upstream repo.[/]")


def _home_abbreviated(path: str) -> str:
    from pathlib import Path

    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


def copies_by_folder(rows) -> dict[tuple[str, str, str], list[str]]:
    """{(model, location kind, folder): backends} for every complete copy, in the rows' order."""
    copies: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        for loc in row.copies:
            if loc.status is CacheStatus.COMPLETE and loc.path:
                copies.setdefault((row.model, KIND_NAMES[loc.kind], loc.path), []).append(row.backend)
    return copies


def _print_problems(console, rows) -> None:
    from rich.markup import escape

    seen = set()
    for row in rows:
        for loc in row.copies:
            key = (loc.kind, loc.label, loc.path)
            if loc.problems and key not in seen:
                seen.add(key)
                where = f"{row.model} {row.format} in {KIND_NAMES[loc.kind]} ({loc.label or loc.path})"
                for problem in loc.problems:
                    console.print(f"  [dim]{escape(where)}:[/] {escape(problem)}", highlight=False)


def _print_summary(console, summary) -> None:
    # Every row counted once: ready now + ready after conversion + each reason for not ready = rows.
    parts = [f"ready {summary.ready_now}", f"ready after conversion {summary.ready_after_conversion}"]
    parts += [f"{why} {count}" for why, count in summary.not_ready]
    console.print(f"{summary.rows} rows: {' · '.join(parts)}", highlight=False)
    if summary.bytes_to_download is None:
        size = summary.download_note
    else:
        size = human_bytes(summary.bytes_to_download) if summary.bytes_to_download else "nothing"
    console.print(f"Still to download: {size}", highlight=False)
    for disk in summary.disk:
        console.print(f"Free disk: {disk.free_bytes / 1e9:,.1f} GB at {disk.path}", highlight=False)
    for entry in summary.unusable_entries:
        console.print(f"Corrupt store entry {entry.path}: {entry.problem}", highlight=False)
    if line := leftovers_line(summary.leftovers):
        console.print(line, highlight=False)
    for group in summary.duplicates:
        copies = " · ".join(f"{c.format} in {KIND_NAMES[c.kind]} ({c.label or c.path})" for c in group.copies)
        same = "".join(f"; identical files: {', '.join(paths)}" for paths in group.identical)
        console.print(f"Duplicate copies of {group.model} ({human_bytes(group.bytes)} in all): {copies}{same}", highlight=False)
    if summary.variants:
        console.print(f"Quantized variants in the store (made from the baseline, not duplicates): {', '.join(summary.variants)}", highlight=False)
    say_offline(console, summary.offline_reason)


def _disk_report(hub) -> tuple:
    from ..models.backend_caches import openai_whisper_dir
    from ..models.cache_check import disk_free, same_filesystem
    from ..models.cache_summary import DiskSpace

    places = [hub.cache_dir]
    if not same_filesystem(hub.cache_dir, openai_whisper_dir()):
        places.append(openai_whisper_dir())
    return tuple(DiskSpace(*disk_free(place)) for place in places)


def _deep_loads(rows, classes, timeout_s: float, console) -> tuple:
    """Each row's --deep load, one after another, each said on ``console`` as it starts and as it ends."""
    checked = []
    for n, row in enumerate(rows, 1):
        counter = f"[{n}/{len(rows)}]"
        if row.available and row.runs is not None:
            console.print(f"{counter} loading {row.model} {row.format} with {row.backend} …", highlight=False, markup=False)
        load = _load_check(classes[row.backend], row, timeout_s)
        seconds = f" in {load.seconds:.2f} s" if load.seconds is not None else ""
        console.print(f"{counter} {row.backend}: {load.status} {load.detail}{seconds}".rstrip(), highlight=False, markup=False)
        checked.append(_with_load(row, load))
    return tuple(checked)


def _check(models, classes, *, deep: bool = False, timeout_s: float = 300.0, duplicates: bool = True, weights: WeightsMode = WeightsMode.SAME):
    """Rows, summary and the download plan, shared by both commands."""
    from ..models.cache_check import BackendInfo, check_models
    from ..models.locations import Scan
    from ..models.cache_summary import find_duplicates, quantized_variants, summarize
    from ..models.download_plan import plan_downloads
    from ..models import store
    from ..models.hub_cache import HubCache
    from ..models.hub_remote import HubRemote

    hub = HubCache()
    checker = Scan(hub, full_hash=True, hash_large=deep, weights=weights)
    rows = check_models(models, [BackendInfo.of(c) for c in classes.values()], checker)
    if deep:
        from rich.console import Console

        rows = _deep_loads(rows, classes, timeout_s, Console(stderr=True))
    remote = HubRemote()
    plan = plan_downloads(rows, remote, hub)
    summary = summarize(rows, bytes_to_download=plan.bytes_needed, download_note=plan.size_note(),
                        offline_reason=remote.offline_reason, disk=_disk_report(hub),
                        duplicates=find_duplicates(models, checker) if duplicates else (),
                        leftovers=tuple(store.leftovers()),
                        unusable_entries=tuple(e for e in store.entries() if e.problem),
                        variants=quantized_variants(models))
    return rows, summary, plan, hub, remote


class _RichSink:
    """Download progress as rich progress bars (one per file)."""

    def __init__(self, progress) -> None:
        self.progress = progress

    def open(self, description: str, total: int | None, initial: int):
        return self.progress.add_task(description, total=total, completed=initial)

    def advance(self, handle, amount: int) -> None:
        self.progress.update(handle, advance=amount)

    def close(self, handle) -> None:
        self.progress.stop_task(handle)


def _progress(console):
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), console=console, transient=False)


def _print_plan(console, plan) -> None:
    from rich.markup import escape

    from ..report.fit import FitColumn, fit_table, print_fitted

    # Repo ids and folders are copied and typed: they never wrap (the layout moves them instead).
    columns = [FitColumn("What"), FitColumn("Model"), FitColumn("Format"), FitColumn("For", wraps=True),
               FitColumn("Why", wraps=True), FitColumn("Size"), FitColumn("Into")]
    cells = []
    for fetch in plan.fetches:
        size = human_bytes(fetch.bytes_needed) if fetch.bytes_needed is not None else "unknown"
        cells.append([escape(fetch.label), fetch.model, fetch.format, escape(", ".join(fetch.backends)), _status_cell(fetch.reason),
                      size, escape(fetch.destination)])
    print_fitted(console, fit_table(console, "To download", columns, cells))


def _not_ready(rows) -> list:
    """Rows of backends that can run here whose weights a benchmark would not find (or convert): exit 1."""
    from ..models.cache_check import CacheStatus

    return [r for r in rows if r.available and r.status is not CacheStatus.NOT_APPLICABLE and not r.ready]


def register(app: typer.Typer) -> None:
    """Add ``check-models`` and ``download`` to ``app``."""

    @app.command("check-models")
    def check_models_command(
        model: ModelsOption = None,
        backends: Annotated[Optional[list[str]], typer.Option("-b", "--backends", help="Comma-separated backends (default: all).")] = None,
        implementations: ImplementationsOption = None,
        weights: WeightsOption = WeightsMode.SAME.value,
        deep: Annotated[bool, typer.Option("--deep", help="Also hash large files and load each model through its backend.")] = False,
        timeout: Annotated[float, typer.Option("--timeout", help="Seconds allowed per load with --deep.")] = 300.0,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """Show where each backend's weights are cached, verify them, and what is missing."""
        from rich.console import Console

        from ..errors import check_seconds
        from ..models.cache_summary import report_json

        check_seconds("--timeout", timeout)
        weights = check_weights(weights)
        models = _resolve_models(model)
        classes = _backend_classes(backends, implementations, only_available=False)
        rows, summary, _, _, _ = _check(models, classes, deep=deep, timeout_s=timeout, weights=weights)
        failed = _failed_loads(rows)
        if as_json:
            typer.echo(json.dumps(report_json(rows, summary), indent=2))
            say_offline(Console(stderr=True), summary.offline_reason)
        else:
            out = Console()
            _print_table(out, rows, deep)
            _print_problems(out, rows)
            _print_summary(out, summary)
        if failed:
            names = ", ".join(f"{r.backend} ({r.load.status})" for r in failed)
            Console(stderr=True).print(f"Not ready: {len(failed)} load(s) failed or timed out with --deep: {names}", highlight=False, markup=False)
            raise typer.Exit(1)
        if unready := _not_ready(rows):
            names = ", ".join(f"{r.backend} {r.model} ({r.status.value})" for r in unready)
            Console(stderr=True).print(f"Not ready: {len(unready)} backend(s) would not run: {names}", highlight=False, markup=False)
            raise typer.Exit(1)

    @app.command("download")
    def download_command(
        model: ModelsOption = None,
        backends: Annotated[Optional[list[str]], typer.Option("-b", "--backends", help="Comma-separated backends (default: all available).")] = None,
        implementations: ImplementationsOption = None,
        weights: WeightsOption = WeightsMode.SAME.value,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    ) -> None:
        """Fetch the weights check-models reports missing or incomplete, then verify them."""
        from rich.console import Console

        from ..models.download import run_plan
        from ..models.download_plan import disk_space_problems

        out, err = Console(), Console(stderr=True)
        weights = check_weights(weights)
        models = _resolve_models(model)
        classes = _backend_classes(backends, implementations, only_available=True)
        if not classes:
            err.print("No backend is available here; name the ones to download for with -b.")
            raise typer.Exit(1)
        _, _, plan, hub, remote = _check(models, classes, duplicates=False, weights=weights)
        for line in plan.skipped:
            out.print(f"[dim]skip[/] {line}", highlight=False)
        if not plan.fetches:
            out.print("Nothing to download.")
            say_offline(err, plan.offline_reason)
            return
        _print_plan(out, plan)
        for line in plan.errors:
            err.print(f"error: {line}", highlight=False)
        if plan.offline_reason:
            say_offline(err, plan.offline_reason)
            raise typer.Exit(1)
        space_problems = disk_space_problems(plan)
        for problem in space_problems:
            err.print(f"error: {problem}", highlight=False)
        if space_problems:
            raise typer.Exit(1)
        size = human_bytes(plan.bytes_needed) if plan.bytes_needed is not None else "an unknown amount"
        if not yes and not confirm(f"Download {size}?"):
            err.print("Nothing downloaded.")
            raise typer.Exit(1)
        with _progress(err) as progress:
            outcomes = run_plan(plan, hub, remote, progress=_RichSink(progress))
        for outcome in outcomes:
            mark = "[green]ok[/]" if outcome.ok else "[red]failed[/]"
            out.print(f"{mark} {outcome.label}: {outcome.detail}", highlight=False)
        if not all(o.ok for o in outcomes):
            raise typer.Exit(1)
