"""Making managed backend environments from the command line: ``backends install`` and ``benchmark --install-missing``.

The installer's progress goes to stderr (its resolve, download and install lines, with sizes where it
gives them); a failure is one line (``EnvironmentBuildFailed``, a ``UserError``) naming the command to retry.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.markup import escape

# Installer lines that are not progress: the error itself (it becomes the one-line reason) and the package list.
_NOT_PROGRESS = ("error", "×", "Caused by", "╰─▶", "help:", "│", "ERROR", "+ ", "- ", "Requirement already satisfied")


def _progress(err: Console, label: str, quiet: bool):
    def show(line: str) -> None:
        if not quiet and not line.strip().startswith(_NOT_PROGRESS):
            err.print(f"[dim]  {escape(label)}: {escape(line.strip())}[/dim]")

    return show


def install(specs: Iterable, err: Console, *, quiet: bool = False, again: bool = False) -> list[str]:
    """Make each environment that is not present (every one with ``again``); returns the failures' one-line reasons."""
    from ..environments.build import EnvironmentBuildFailed, build
    from ..environments.state import inspect

    failures = []
    for spec in specs:
        state = inspect(spec)
        if state.ready and not again:
            if not quiet:
                err.print(f"{escape(spec.label)}: present ({escape(str(state.folder))})")
            continue
        if not quiet:
            why = "" if state.status.value == "missing" and state.reason == "not made yet" else f" ({escape(state.reason)})"
            err.print(f"{escape(spec.label)}: making {escape(str(state.folder))}{why}")
        try:
            report = build(spec, _progress(err, spec.label, quiet))
        except EnvironmentBuildFailed as exc:
            failures.append(str(exc))
            continue
        if not quiet:
            err.print(f"{escape(spec.label)}: made in {report.seconds:.1f} s with {escape(report.installer)}")
    return failures


def install_for_request(request, err: Console, *, quiet: bool = False) -> None:
    """``benchmark --install-missing``: make what the chosen backends need, before the run. A failure is a
    note here and a skipped row there (its reason says why), never the end of the run."""
    from ..bench.managed import environment_for

    specs = dict.fromkeys(spec for cls, version in request.entries() if (spec := environment_for(cls, version)))
    for failure in install(specs, err, quiet=quiet):
        err.print(f"warning: {escape(failure)}")
