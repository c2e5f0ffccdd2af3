"""``publish`` (one run to a Hugging Face dataset repo) and ``board`` (one page from every run there)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

RepoOption = Annotated[str, typer.Option("--repo", help="Hugging Face dataset repo, OWNER/NAME.")]


def register(app: typer.Typer) -> None:
    out, err = Console(), Console(stderr=True)

    @app.command("publish")
    def publish_command(
        run: Annotated[str, typer.Argument(help="A run id (or prefix) from the history, or a results .json file.")],
        repo: RepoOption,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent, and where; send nothing.")] = False,
        audio_paths: Annotated[bool, typer.Option("--audio-paths", help="Also send the folders of the audio files (made relative, host and user names dropped); by default only their file names.")] = False,
    ) -> None:
        """Upload a run to a shared board (a Hugging Face dataset repo), without hostname, user name or absolute paths."""
        from ..board.hub import check_repo, plan_publication, upload
        from ..history import load_run_ref

        check_repo(repo)
        publication = plan_publication(load_run_ref(run), repo, audio_paths=audio_paths)
        if dry_run:
            err.print(f"dry run: would upload {publication.path_in_repo} to dataset {publication.repo}:", markup=False, highlight=False, soft_wrap=True)
            out.print(publication.text, end="", markup=False, highlight=False, soft_wrap=True)
            return
        url = upload(publication)
        err.print(f"published {publication.path_in_repo} to dataset {publication.repo} ({url})", markup=False, highlight=False, soft_wrap=True)

    @app.command("board")
    def board_command(
        repo: RepoOption,
        output: Annotated[str, typer.Option("-o", "--output", help="Where to write the page (.html).")],
        title: Annotated[Optional[str], typer.Option("--title", help="Page title.")] = None,
    ) -> None:
        """Download every run of a shared board and write one self-contained page: per model and weights, machines × backends."""
        from ..board.hub import check_repo, fetch_runs
        from ..report.board_page import render_board
        from ..report.writers import check_output_paths, write_output

        check_repo(repo)
        (path,) = check_output_paths([output], (".html",), "board")
        fetched = fetch_runs(repo)
        for note in fetched.notes:
            err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
        write_output(Path(path), render_board(fetched.runs, fetched.notes, title or f"whisper-speedtest board: {repo}"))
        err.print(f"wrote {path} ({len(fetched.runs)} run(s))", markup=False, highlight=False)
