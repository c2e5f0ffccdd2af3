"""The ``models`` command group: what is known, what is present, import and convert."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    from rich.console import Console
    from rich.table import Table

    models_app = typer.Typer(help="Model catalog and local store.", no_args_is_help=True)
    out = Console()

    @models_app.command("list")
    def list_models() -> None:
        """Known models, and which are present in the store or as pip packages."""
        from .models import catalog, sources, store

        table = Table(title=f"Models (store: {store.home()})")
        for column in ("Model", "Params", "English-only", "Local", "Sources"):
            table.add_column(column)
        present = {}
        for entry in store.entries():
            present.setdefault(entry.name, []).append(f"{entry.format}/{entry.dtype} {entry.size_bytes / 2**20:.0f} MB")
        for name, spec in catalog.MODELS.items():
            pkg = sources.PACKAGES.get(name)
            packaged = pkg is not None and sources._package_paths(pkg) is not None
            local = ", ".join(present.get(name, [])) or ("pip package (ct2)" if packaged else "")
            table.add_row(name, f"{spec.params_millions}M", "yes" if spec.english_only else "no", local or "-", "pip + hub" if pkg else "hub")
        out.print(table)
        out.print("Aliases: " + ", ".join(f"{a} → {t}" for a, t in catalog.ALIASES.items()))

    app.add_typer(models_app, name="models")
