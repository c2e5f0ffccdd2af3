"""Runs on a Hugging Face dataset repo: publish one (sanitized), fetch them all (checked) for the board.

huggingface_hub is imported only here, inside the functions; it honours ``HF_ENDPOINT`` and ``HF_TOKEN``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..errors import BadOption, UserError
from ..results import BenchmarkRun, SchemaError, run_from_dict, to_dict
from ..report.board_page import well_formed_fingerprint
from .privacy import audio_names_only, repo_path, sanitize

RUNS_FOLDER = "runs/"
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


class HubError(UserError):
    """The dataset repo could not be reached, written or read."""


def check_repo(repo: str) -> str:
    if not _REPO.match(repo):
        raise BadOption(f"--repo must be OWNER/NAME of a Hugging Face dataset repo (got {repo!r})")
    return repo


def _require_hub(action: str, repo: str, offline_alternative: str) -> None:
    """One line, before any request, when the Hub cannot be used (HF_HUB_OFFLINE, or no answer to
    one short request): what could not be reached and what works offline."""
    from ..models.hub_remote import offline_reason

    if why := offline_reason():
        raise HubError(f"cannot {action} dataset {repo}: {why}; offline, {offline_alternative}")


def _hub_error(action: str, repo: str, exc: Exception) -> HubError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return HubError(f"could not {action} dataset {repo}: {first}")


@dataclass(frozen=True)
class Publication:
    """What ``publish`` sends: the repo, the path in it and the sanitized JSON."""

    repo: str
    path_in_repo: str
    text: str


def plan_publication(run: BenchmarkRun, repo: str, *, audio_paths: bool = False) -> Publication:
    """The sanitized JSON of ``run``; the audio by file name only unless ``audio_paths`` (its folders too)."""
    data = to_dict(run) if audio_paths else audio_names_only(to_dict(run))
    data = sanitize(data)
    return Publication(check_repo(repo), repo_path(run), json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def upload(publication: Publication) -> str:
    """Create the dataset repo if needed and commit the run; returns the commit URL."""
    from huggingface_hub import HfApi

    _require_hub("publish to", publication.repo, "the run stays in the history and the JSON file; "
                 "publish it later, or share the file (--dry-run shows what would be sent)")
    api = HfApi()
    try:
        api.create_repo(publication.repo, repo_type="dataset", exist_ok=True)
        info = api.upload_file(
            path_or_fileobj=publication.text.encode("utf-8"),
            path_in_repo=publication.path_in_repo,
            repo_id=publication.repo,
            repo_type="dataset",
            commit_message=f"whisper-speedtest: add {publication.path_in_repo}",
        )
    except Exception as exc:  # network, auth, offline mode: one line for the user
        raise _hub_error("publish to", publication.repo, exc) from None
    return str(getattr(info, "commit_url", info))


@dataclass(frozen=True)
class BoardRuns:
    """Every run the repo holds that could be read, and a note for each file or row left out."""

    runs: tuple[BenchmarkRun, ...]
    notes: tuple[str, ...]


def parse_run_file(name: str, raw: bytes) -> tuple[BenchmarkRun | None, str]:
    """A run and "", or None and why the file is skipped."""
    from ..safe_read import MAX_JSON_BYTES, parse_json

    if len(raw) > MAX_JSON_BYTES:
        return None, f"skipped {name}: {len(raw) / 2**20:.0f} MiB, over the {MAX_JSON_BYTES / 2**20:.0f} MiB this tool reads"
    try:
        run = run_from_dict(parse_json(raw, name, SchemaError), name)
    except SchemaError as exc:
        return None, f"skipped {exc}"
    if run.schema_minor == 0:
        return run, f"{name} was written with schema {run.schema}: no cost figures"
    return run, ""


def fingerprint_notes(run: BenchmarkRun, name: str) -> list[str]:
    """Rows whose weights cannot be matched to others: no fingerprint, or one that is not a sha256."""
    notes = []
    for result in run.results:
        if not result.ok or result.model is None:
            continue
        fp = result.model.fingerprint
        if not fp:
            notes.append(f"{name}: {result.display_name} has no weights fingerprint; shown apart as unverified")
        elif not well_formed_fingerprint(fp):
            notes.append(f"{name}: {result.display_name} has a malformed fingerprint {fp[:16]!r}; shown apart as unverified")
    return notes


def fetch_runs(repo: str) -> BoardRuns:
    """Download every ``runs/**.json`` of the dataset repo; unreadable files become notes, not failures."""
    from huggingface_hub import HfApi, hf_hub_download

    check_repo(repo)
    _require_hub("list", repo, "`whisper-speedtest report RUN.json ... -o page.html` makes one page from local results files")
    try:
        names = sorted(f for f in HfApi().list_repo_files(repo, repo_type="dataset") if f.startswith(RUNS_FOLDER) and f.endswith(".json"))
    except Exception as exc:
        raise _hub_error("list", repo, exc) from None
    runs, notes, seen = [], [], {}
    for name in names:
        try:
            with open(hf_hub_download(repo, name, repo_type="dataset"), "rb") as handle:
                raw = handle.read()
        except Exception as exc:
            notes.append(str(_hub_error("download " + name + " from", repo, exc)))
            continue
        run, note = parse_run_file(name, raw)
        if note:
            notes.append(note)
        if run is None:
            continue
        if run.run_id in seen:
            notes.append(f"skipped {name}: run {run.run_id} is already on the board ({seen[run.run_id]})")
            continue
        seen[run.run_id] = name
        notes.extend(fingerprint_notes(run, name))
        runs.append(run)
    if not runs and not notes:
        notes.append(f"no runs under {RUNS_FOLDER} in dataset {repo}")
    return BoardRuns(tuple(runs), tuple(notes))
