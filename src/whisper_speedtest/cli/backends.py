"""The ``backends`` command: every known backend, whether it can run here (or in its managed environment),
and how to install it; ``backends install`` makes managed environments."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console


def _environment_row(cls, states: dict) -> dict | None:
    """The managed environment ``cls`` runs in, as ``backends`` shows it, or None when it runs here."""
    from ..bench.managed import environment_for
    from ..environments.state import inspect

    spec = environment_for(cls)
    if spec is None:
        return None
    if spec not in states:
        states[spec] = inspect(spec)
    state = states[spec]
    return {
        "label": spec.label, "folder": str(state.folder), "status": state.status.value, "reason": state.reason,
        "command": spec.install_command(), "describe": state.describe(), "packages": dict(state.packages),
    }


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Backends: list them, and make the managed environments some of them run in.")

    @group.callback(invoke_without_command=True)
    def list_backends(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """List every known backend: installed, available here or in its managed environment (or why not), and its extra."""
        if ctx.invoked_subcommand is not None:
            return
        out = Console()  # made per call: the terminal's width now, not at import
        from rich.markup import escape

        from ..report.fit import FitColumn, fit_table, print_fitted

        from ..backends import all_backends
        from ..plain_text import clean_strings

        rows, states = [], {}
        for cls in sorted(all_backends().values(), key=lambda c: c.name):
            availability = cls.available()
            environment = _environment_row(cls, states)
            in_environment = environment is not None and environment["status"] == "present"
            rows.append(
                {
                    "name": cls.name,
                    "display_name": cls.display_name,
                    # Installed = importable and runnable here; a macOS bridge on Linux is not for this platform.
                    "for_this_platform": cls.for_this_platform(),
                    "installed": cls.for_this_platform() and not cls.missing_requirements(),
                    "available": availability.ok or in_environment,
                    "reason": f"runs in its environment {environment['label']}" if in_environment else availability.reason,
                    "model_format": cls.model_format,
                    "family": cls.family,
                    "extra": cls.extra,
                    "install": environment["command"] if environment else cls.install_hint(),
                    "environment": environment,
                }
            )
        rows = clean_strings(rows)  # a plugin's name or reason may hold text no terminal takes (a lone surrogate, say)
        if as_json:
            out.print_json(json.dumps(rows))
            return
        # Names, formats and install commands never wrap (they are copied and typed); the reason wraps between words.
        columns = [FitColumn("Backend"), FitColumn("Installed", wraps=True), FitColumn("Available"), FitColumn("Format"),
                   FitColumn("Install"), FitColumn("Reason", wraps=True)]
        cells = [
            [
                row["name"],
                "yes" if row["installed"] else ("env" if (e := row["environment"]) and e["status"] == "present"
                                                 else "no" if row["for_this_platform"] else "[dim]not for this platform[/dim]"),
                "[green]yes[/green]" if row["available"] else "[red]no[/red]",
                row["model_format"],
                escape(row["install"] if row["environment"] else (f"whisper-speedtest[{row['extra']}]" if row["extra"] else row["install"])),
                escape(row["reason"]),  # install hints such as pip install 'whisper-speedtest[lightning]' are not markup
            ]
            for row in rows
        ]
        print_fitted(out, fit_table(out, "Backends", columns, cells))
        from ..environments.state import made_environments

        described = {e["folder"]: (e["label"], e["describe"]) for row in rows if (e := row["environment"])}
        for state in made_environments():  # pinned versions, and folders left over from other requirements
            described.setdefault(str(state.folder), (state.folder.name, state.describe()))
        if described:
            out.print("Managed environments (under $WHISPER_SPEEDTEST_HOME/envs):")
            for label, text in described.values():
                out.print(f"  {escape(label)}: {escape(text)}")

    @group.command("install")
    def install_environments(
        names: Annotated[list[str], typer.Argument(help="Extras (onnx openvino lightning), backends (onnxruntime), or backend==version (faster-whisper==1.1.1).")],
        again: Annotated[bool, typer.Option("--again", help="Make them again even when present.")] = False,
        quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress lines.")] = False,
    ) -> None:
        """Make the managed environments the named backends run in (with uv; venv + pip where uv is missing)."""
        from ..bench.managed import environments_named
        from ..environments.build import EnvironmentBuildFailed
        from .environments import install

        failures = install(environments_named(names), Console(stderr=True), quiet=quiet, again=again)
        if failures:
            raise EnvironmentBuildFailed("; ".join(failures))

    app.add_typer(group, name="backends")
