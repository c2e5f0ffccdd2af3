"""Live progress display for a benchmark (rich), driven by the runner's callbacks."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.markup import escape
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
            BarColumn(bar_width=24 if console.width >= 120 else 8),  # the description keeps its room at 80 columns
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
        self._current_eta: tuple[float, float] | None = None  # (seconds left, when said): the running backend's own ETA
        self._current_label = ""

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
        elif kind == ChildMessage.ETA:
            self._current_eta = (float(payload), time.monotonic())
        self._current_label = backend

    def _eta_line(self) -> str:
        now = time.monotonic()
        elapsed = now - self._current_since if self._current_since is not None else 0.0
        remaining = self._planned - len(self._durations)
        done = f"{len(self._durations)}/{self._planned} done"
        if self._current_eta is not None and remaining > 0:  # the running backend says how long it still needs
            own = max(0.0, self._current_eta[0] - (now - self._current_eta[1]))
            others = eta_s(self._durations, remaining - 1, 0.0) if remaining > 1 else 0.0
            return f"{done} · ETA ~{own + others:.0f} s" if others is not None else f"{done} · this one ~{own:.0f} s"
        eta = eta_s(self._durations, remaining, elapsed)
        if eta is None:
            return f"{done} · ETA after the first backend"
        if eta <= 0 and remaining > 0 and self._current_since is not None:
            return f"{done} · ETA: {self._current_label or 'this backend'} runs longer than the others did"
        return f"{done} · ETA ~{eta:.0f} s"

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
            self._current_eta = None
        self._update_overall()
        if row.ok and row.dataset is not None:  # one pass: its clips, batches and wall time
            d = row.dataset
            batches = -(-d.clips // d.batch_size)
            self._progress.update(task, description=f"[green]done[/green] {d.clips} clips, {batches} batches in {d.wall_s:.3f} s")
        elif row.ok:
            self._progress.update(task, description=f"[green]done[/green] median {row.transcribe.median:.3f} s")
        else:
            reason = row.reason if len(row.reason) <= 60 else row.reason[:59].rsplit(" ", 1)[0] + "…"  # between words
            self._progress.update(task, description=f"[red]{row.status}[/red]: {escape(reason)}")
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
