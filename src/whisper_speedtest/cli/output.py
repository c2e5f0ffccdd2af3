"""Lines that several commands print the same way."""

from __future__ import annotations

from collections.abc import Iterable

import typer
from rich.console import Console


def print_notes(notes: Iterable[str], err: Console) -> None:
    """Notes about the command line (a mac-whisper-speedtest name, say), one plain line each; printed even with --quiet."""
    for note in notes:
        err.print(note, markup=False, highlight=False, soft_wrap=True)


def say_offline(console, reason: str | None) -> None:
    """The one line saying that downloading is not possible, and why (nothing when it is possible)."""
    if reason:
        console.print(f"Offline: downloading is not possible ({reason}).", highlight=False)


def human_bytes(n: int | None) -> str:
    """A byte count for people: 812 B, 4.1 kB, 75.5 MB, 3.09 GB."""
    if not n:
        return "—"
    for unit, scale, digits in (("GB", 1e9, 2), ("MB", 1e6, 1), ("kB", 1e3, 1)):
        if n >= scale:
            return f"{n / scale:,.{digits}f} {unit}"
    return f"{n} B"


def leftovers_line(leftovers) -> str:
    """One line about unfinished staging folders in the store, and the command that removes them ("" if none)."""
    if not leftovers:
        return ""
    total = sum(leftover.size_bytes for leftover in leftovers)
    return (f"Unfinished staging folders in the store: {len(leftovers)}, {human_bytes(total)} "
            "('whisper-speedtest models clean' removes them)")


def confirm(question: str) -> bool:
    import click

    try:
        return typer.confirm(question, default=False)
    except (click.exceptions.Abort, typer.Abort):  # no answer (stdin closed): nothing is done
        return False
