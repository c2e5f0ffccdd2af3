"""The ``models`` command group: what is known, what is present, import and convert."""

from __future__ import annotations

import contextlib

import typer

from ..models.formats import registry as formats
from ..models.paths import check_home_usable
from .options import split_csv
from .output import confirm, human_bytes, leftovers_line

CONVERTED_TO = tuple(name for name in formats.convertible() if name != "ct2")  # ct2 is the source


def register(app: typer.Typer) -> None:
    from rich.console import Console
    from rich.table import Table

    models_app = typer.Typer(help="Model catalog and local store.", no_args_is_help=True)
    out = Console()
    err = Console(stderr=True)

    def note(text: str) -> None:
        err.print(f"note: {text}", highlight=False, soft_wrap=True)

    @contextlib.contextmanager
    def store_writes(activity: str):
        """A store write that fails (no space left, read-only) is one line naming what was being done."""
        from ..errors import StoreUnusable, os_error_line

        try:
            yield
        except OSError as exc:
            raise StoreUnusable(f"{os_error_line(exc)} while {activity}") from None

    @models_app.command("list")
    def list_models() -> None:
        """Known models, and which are present in the store or as pip packages."""
        from ..models import catalog, integrity, packages, store
        from ..models.verify import CacheStatus

        table = Table(title=f"Models (store: {store.home()})")
        for column in ("Model", "Params", "English-only", "Local", "Sources"):
            table.add_column(column)
        present, problems = {}, []
        for entry in store.entries():
            verdict = integrity.check_entry(entry)
            state = "" if verdict.status is CacheStatus.COMPLETE else f" {verdict.status}"
            present.setdefault(entry.name, []).append(f"{entry.format}/{entry.dtype} {verdict.size_bytes / 2**20:.0f} MB{state}")
            if state:
                problems.append(f"{entry.name} {entry.format}-{entry.dtype}: {integrity.corrupt_reason(verdict)}")
        for name, spec in catalog.MODELS.items():
            pkg = packages.for_model(name)
            packaged = pkg is not None and packages.installed(pkg) is not None
            local = ", ".join(present.get(name, [])) or ("pip package (ct2)" if packaged else "")
            table.add_row(name, f"{spec.params_millions}M", "yes" if spec.english_only else "no", local or "-", "pip + hub" if pkg else "hub")
        out.print(table)
        out.print("Aliases: " + ", ".join(f"{a} → {t}" for a, t in catalog.ALIASES.items()))
        for line in problems:
            out.print(f"corrupt: {line}", highlight=False)
        if line := leftovers_line(store.leftovers()):
            out.print(line, highlight=False)

    @models_app.command("import")
    def import_model(
        source: str = typer.Argument(..., help="A model directory or file (ct2, hf, mlx, openai .pt, ggml), or a pip model package."),
        name: str = typer.Option(None, "--name", help="The catalog name, when the architecture alone cannot tell."),
    ) -> None:
        """Verify weights and add them to the store (atomically: a corrupt input leaves nothing)."""
        from pathlib import Path

        from ..models import importing

        check_home_usable()
        with out.status(f"importing {source} …"), store_writes("importing " + source):
            path = Path(source)
            result = importing.import_path(path, name) if path.exists() else importing.import_package(source)
        entry = result.entry
        out.print(f"imported {entry.name} ({entry.format}/{entry.dtype}, {entry.size_bytes / 2**20:.0f} MB) → {entry.path}")
        out.print(f"fingerprint {entry.fingerprint}")

    @models_app.command("convert")
    def convert_model(
        name: str = typer.Argument(..., help="Model name or alias."),
        to: str = typer.Option(",".join(CONVERTED_TO), "--to", help=f"Comma list of formats: {', '.join(CONVERTED_TO + formats.exported())} ({' and '.join(formats.exported())} exported with optimum)."),
    ) -> None:
        """Convert the model's CTranslate2 weights into other formats, kept in the store."""
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from ..models import catalog, sources

        model = catalog.resolve(name)
        targets = [formats.get(f).name for f in split_csv([to])]
        check_home_usable()
        with store_writes(f"converting {model}"), Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=out) as progress:
            task = progress.add_task(f"converting {model}", total=len(targets))
            refs = []
            for fmt in targets:
                progress.update(task, description=f"converting {model} → {fmt}")
                refs.append(sources.locate(model, fmt, on_note=note))
                progress.advance(task)
        for ref in refs:
            out.print(f"{ref.format:<7} {ref.path}  (fingerprint {str(ref.fingerprint)[:16]})", highlight=False)

    @models_app.command("path")
    def model_path(
        name: str = typer.Argument(..., help="Model name or alias."),
        fmt: str = typer.Option("ct2", "--format", help=f"{', '.join(formats.names()[:-1])} or {formats.names()[-1]}."),
    ) -> None:
        """Print the directory or file of a model in a format, converting it first if needed."""
        from ..models import sources

        formats.get(fmt)  # an unknown one is refused with the list of known ones
        print(sources.locate(name, fmt, on_note=note).path)

    @models_app.command("remove")
    def remove_model(
        name: str = typer.Argument(..., help="Model name or alias."),
        fmt: str = typer.Option(None, "--format", help="Only this format."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
    ) -> None:
        """Plan the removal from the store, show the bytes it frees, then delete."""
        from ..models import catalog, store

        model = catalog.resolve(name)
        stored = [e for e in store.entries() if e.name == model]
        planned = [e for e in stored if fmt is None or e.format == fmt]
        if not planned:
            others = sorted({f"{e.format}/{e.dtype}" for e in stored})
            kept = f"; it holds {', '.join(others)} of {model}" if others else ""
            what = f"no {fmt} copy of {model}" if fmt and others else f"nothing of {model}"
            out.print(f"{what} in the store ({store.home()}){kept}", highlight=False, soft_wrap=True)
            return
        total = sum(e.size_bytes for e in planned)
        for entry in planned:
            out.print(f"  {entry.format}/{entry.dtype}  {entry.size_bytes / 2**20:8.1f} MB  {entry.path}")
        out.print(f"will free {total / 2**20:.1f} MB")
        if not yes and not typer.confirm("delete these?", default=False):
            out.print("nothing deleted")
            raise typer.Exit(1)
        freed = sum(store.remove(e) for e in planned)
        out.print(f"freed {freed / 2**20:.1f} MB")

    @models_app.command("clean")
    def clean_store(yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask.")) -> None:
        """Delete staging folders left by conversions or imports that did not finish (shows the bytes first)."""
        from ..models import store

        found = store.leftovers()
        planned = [leftover for leftover in found if not leftover.in_use]
        for leftover in found:
            busy = f"  (in use by process {leftover.pid}: kept)" if leftover.in_use else ""
            out.print(f"  {human_bytes(leftover.size_bytes):>9}  {leftover.path}{busy}", highlight=False, soft_wrap=True)
        if not planned:
            out.print(f"nothing to clean in the store ({store.home()})")
            return
        total = sum(leftover.size_bytes for leftover in planned)
        out.print(f"will free {human_bytes(total)} ({total} bytes) from {len(planned)} unfinished staging folder(s)")
        if not yes and not confirm("delete these?"):
            out.print("nothing deleted")
            raise typer.Exit(1)
        freed = sum(store.remove_leftover(leftover) for leftover in planned)
        out.print(f"freed {human_bytes(freed)}")

    app.add_typer(models_app, name="models")

