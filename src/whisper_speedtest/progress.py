"""Live progress display for a benchmark (rich), driven by the runner's callbacks."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class BenchmarkProgress:
    """One progress bar per backend; quiet mode shows nothing."""

    def __init__(self, console: Console, *, enabled: bool = True, show_tracebacks: bool = False) -> None:
        self.console = console
        self.enabled = enabled
        self.show_tracebacks = show_tracebacks
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[backend]:<20}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not enabled,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> BenchmarkProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def note(self, text: str) -> None:
        if self.enabled:
            self._progress.console.print(f"[dim]{text}[/dim]")

    def on_plan(self, plans) -> None:
        for plan in plans:
            if plan.skip_reason is not None:
                continue
            total = None
            self._tasks[plan.label] = self._progress.add_task(
                "queued", backend=plan.label, total=total, start=False
            )

    def set_total(self, backend: str, total: int) -> None:
        if backend in self._tasks:
            self._progress.update(self._tasks[backend], total=total)

    def on_progress(self, backend: str, kind: str, payload: Any) -> None:
        task = self._tasks.get(backend)
        if kind == "traceback":
            if self.show_tracebacks and payload:
                self._progress.console.print(f"[red]{backend} failed:[/red]\n{payload}", markup=True, highlight=False)
            return
        if task is None:
            return
        self._progress.start_task(task)
        if kind == "progress":
            self._progress.update(task, description=str(payload))
        elif kind == "tick":
            self._progress.advance(task, payload)
        elif kind == "total":
            self._progress.update(task, total=payload)

    def on_row(self, row) -> None:
        task = self._tasks.get(row.backend + (f"@{row.variant}" if row.variant != "default" else ""))
        if task is None:
            return
        if row.ok:
            self._progress.update(task, description=f"[green]done[/green] median {row.transcribe.median:.3f} s")
        else:
            self._progress.update(task, description=f"[red]{row.status}[/red]: {row.reason[:60]}")
        self._progress.stop_task(task)
