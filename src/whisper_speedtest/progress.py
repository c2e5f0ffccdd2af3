"""Live progress display for a benchmark (rich), driven by the runner's callbacks."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from .child_messages import ChildMessage


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
        self._overall = None
        self._planned = 0
        self._durations: list[float] = []  # wall seconds of each finished backend
        self._current_since: float | None = None

    def __enter__(self) -> BenchmarkProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def note(self, text: str) -> None:
        if self.enabled:
            self._progress.console.print(f"[dim]{text}[/dim]")

    def on_plan(self, plans) -> None:
        self._planned = sum(plan.skip_reason is None for plan in plans)
        if self._planned:
            self._overall = self._progress.add_task(self._eta_line(), backend="all backends", total=self._planned)
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

    def on_progress(self, backend: str, kind: ChildMessage, payload: Any) -> None:
        task = self._tasks.get(backend)
        if kind == ChildMessage.TRACEBACK:
            if self.show_tracebacks and payload:
                self._progress.console.print(f"[red]{backend} failed:[/red]\n{payload}", markup=True, highlight=False)
            return
        if task is None:
            return
        if self._current_since is None:
            self._current_since = time.monotonic()
        self._update_overall()
        self._progress.start_task(task)
        if kind == ChildMessage.PROGRESS:
            self._progress.update(task, description=str(payload))
        elif kind == ChildMessage.TICK:
            self._progress.advance(task, payload)
        elif kind == ChildMessage.TOTAL:
            self._progress.update(task, total=payload)

    def _eta_line(self) -> str:
        elapsed = time.monotonic() - self._current_since if self._current_since is not None else 0.0
        eta = eta_s(self._durations, self._planned - len(self._durations), elapsed)
        done = f"{len(self._durations)}/{self._planned} done"
        return f"{done} · ETA ~{eta:.0f} s" if eta is not None else f"{done} · ETA after the first backend"

    def _update_overall(self) -> None:
        if self._overall is not None:
            self._progress.update(self._overall, completed=len(self._durations), description=self._eta_line())

    def on_row(self, row) -> None:
        task = self._tasks.get(row.backend + (f"@{row.variant}" if row.variant != "default" else ""))
        if task is None:
            return
        if self._current_since is not None:
            self._durations.append(time.monotonic() - self._current_since)
            self._current_since = None
        self._update_overall()
        if row.ok:
            self._progress.update(task, description=f"[green]done[/green] median {row.transcribe.median:.3f} s")
        else:
            self._progress.update(task, description=f"[red]{row.status}[/red]: {row.reason[:60]}")
        self._progress.stop_task(task)


def eta_s(finished_s: list[float], remaining: int, current_elapsed_s: float) -> float | None:
    """Seconds left: the mean finished backend's wall time for each remaining one, less the current one's
    time so far; None before any backend finished."""
    if not finished_s:
        return None
    if remaining <= 0:
        return 0.0
    mean = sum(finished_s) / len(finished_s)
    return max(0.0, mean * remaining - current_elapsed_s)
