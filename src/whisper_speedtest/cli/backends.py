"""The ``backends`` command: every known backend, whether it can run here, and how to install it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    @app.command("backends")
    def list_backends(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """List every known backend: installed, available here (or why not), and its extra."""
        out = Console()  # made per call: the terminal's width now, not at import
        from rich.markup import escape

        from ..report.fit import FitColumn, fit_table, print_fitted

        from ..backends import all_backends

        rows = []
        for cls in sorted(all_backends().values(), key=lambda c: c.name):
            availability = cls.available()
            rows.append(
                {
                    "name": cls.name,
                    "display_name": cls.display_name,
                    # Installed = importable and runnable here; a macOS bridge on Linux is not for this platform.
                    "for_this_platform": cls.for_this_platform(),
                    "installed": cls.for_this_platform() and not cls.missing_requirements(),
                    "available": availability.ok,
                    "reason": availability.reason,
                    "model_format": cls.model_format,
                    "family": cls.family,
                    "extra": cls.extra,
                    "install": cls.install_hint(),
                }
            )
        if as_json:
            out.print_json(json.dumps(rows))
            return
        # Names, formats and install commands never wrap (they are copied and typed); the reason wraps between words.
        columns = [FitColumn("Backend"), FitColumn("Installed", wraps=True), FitColumn("Available"), FitColumn("Format"),
                   FitColumn("Install"), FitColumn("Reason", wraps=True)]
        cells = [
            [
                row["name"],
                "yes" if row["installed"] else "no" if row["for_this_platform"] else "[dim]not for this platform[/dim]",
                "[green]yes[/green]" if row["available"] else "[red]no[/red]",
                row["model_format"],
                escape(f"whisper-speedtest[{row['extra']}]") if row["extra"] else escape(row["install"]),
                escape(row["reason"]),  # install hints such as pip install 'whisper-speedtest[lightning]' are not markup
            ]
            for row in rows
        ]
        print_fitted(out, fit_table(out, "Backends", columns, cells))
