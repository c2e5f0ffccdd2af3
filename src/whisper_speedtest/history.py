"""Every benchmark run, kept in a SQLite database in the store: the full JSON plus indexed columns."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .results import SCHEMA_VERSION, BackendResult, BenchmarkRun, Provenance, SchemaError, load_run, run_from_dict, run_to_json

DATABASE_NAME = "history.sqlite"
DATABASE_VERSION = 1  # PRAGMA user_version of the table layout below

_CREATE = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    machine TEXT NOT NULL,
    model TEXT NOT NULL,
    backends TEXT NOT NULL,
    best_backend TEXT,
    best_median_s REAL,
    schema_version INTEGER NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (recorded_at);
CREATE INDEX IF NOT EXISTS runs_by_machine ON runs (machine);
CREATE INDEX IF NOT EXISTS runs_by_model ON runs (model);
"""


class HistoryError(UserError):
    """The history database cannot be read or written."""


class UnknownRun(UserError):
    """No run in the history has this id or id prefix (or several do)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One line of ``history``, as data: the report gives it its labels (``report.labels.history_line``)."""

    run_id: str
    created: str
    provenance: Provenance
    models: tuple[str, ...]
    ran: tuple[BackendResult, ...]  # the rows that ran (not skipped), in the run's order
    schema_version: int

    @classmethod
    def of(cls, run: BenchmarkRun) -> HistoryEntry:
        return cls(
            run_id=run.run_id,
            created=run.created,
            provenance=run.provenance,
            models=tuple(sorted({r.model.name for r in run.results if r.model is not None})),
            ran=tuple(r for r in run.results if r.status != "skipped"),
            schema_version=run.schema_version,
        )

    @property
    def fastest(self) -> BackendResult | None:
        """The successful row with the smallest median transcription time."""
        timed = [r for r in self.ran if r.ok and r.transcribe is not None]
        return min(timed, key=lambda r: r.transcribe.median, default=None)


def database_path() -> Path:
    from .models import store

    return store.home() / DATABASE_NAME


@contextmanager
def _connection(create: bool = True) -> Iterator[sqlite3.Connection]:
    path = database_path()
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, timeout=30)) as connection:
            if create:
                connection.executescript(_CREATE)
                connection.execute(f"PRAGMA user_version = {DATABASE_VERSION}")
            yield connection
    except sqlite3.Error as exc:
        raise HistoryError(f"history database {path} cannot be used ({exc}); move it aside to start a new one") from None
    except OSError as exc:
        raise HistoryError(f"history database {path} cannot be written ({exc.strerror or exc})") from None


def record(run: BenchmarkRun) -> HistoryEntry:
    """Add ``run`` to the history (a run recorded twice keeps its latest copy).

    Besides the JSON, the indexed columns hold plain data from the run: the CPU, the models, the backends
    that ran and the fastest one with its median (rows written by older versions hold labels there;
    nothing reads these columns back, the entries come from the JSON).
    """
    entry = HistoryEntry.of(run)
    fastest = entry.fastest
    with _connection() as db, db:
        db.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run.run_id, run.created, time.time(), run.provenance.cpu, ", ".join(entry.models),
             json.dumps([r.backend for r in entry.ran]), fastest.backend if fastest else None,
             fastest.transcribe.median if fastest else None, run.schema_version, run_to_json(run)),
        )
    return entry


def list_runs(limit: int | None = 20) -> list[HistoryEntry]:
    """The newest runs first; an empty list when nothing was recorded yet."""
    if not database_path().exists():
        return []
    with _connection(create=False) as db:
        rows = db.execute(
            "SELECT run_id, json FROM runs ORDER BY recorded_at DESC, rowid DESC LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
    return [HistoryEntry.of(_run_of(run_id, text)) for run_id, text in rows]


def get_run(run_id_or_prefix: str) -> BenchmarkRun:
    """The run with this id, or the only one whose id starts with it."""
    key = run_id_or_prefix.strip()
    if not key:
        raise UnknownRun("empty run id")
    if not database_path().exists():
        raise UnknownRun(f"no run {key!r} in the history: nothing has been recorded yet ({database_path()})")
    pattern = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with _connection(create=False) as db:
        rows = db.execute("SELECT run_id, json FROM runs WHERE run_id = ?", (key,)).fetchall()
        if not rows:
            rows = db.execute("SELECT run_id, json FROM runs WHERE run_id LIKE ? ESCAPE '\\' ORDER BY recorded_at DESC", (pattern,)).fetchall()
    if not rows:
        raise UnknownRun(f"no run {key!r} in the history; `whisper-speedtest history` lists the recorded runs")
    if len(rows) > 1:
        shown = ", ".join(r[0] for r in rows[:5]) + (", …" if len(rows) > 5 else "")
        raise UnknownRun(f"run id prefix {key!r} is ambiguous: it matches {len(rows)} runs ({shown})")
    return _run_of(*rows[0])


def _run_of(run_id: str, text: str) -> BenchmarkRun:
    from .safe_read import parse_json

    where = f"run {run_id} in the history ({database_path()})"
    return run_from_dict(parse_json(text, where, HistoryError), where)


def load_run_ref(ref: str) -> BenchmarkRun:
    """A results JSON file (from any machine) when ``ref`` is a path, else a run from the history."""
    path = Path(ref)
    if path.is_dir():
        raise UserError(f"{path} is a directory; expected a results .json file or a run id")
    if path.suffix.lower() == ".json" or path.exists():
        try:
            return load_run(path)
        except SchemaError as exc:
            message = str(exc)
            if str(path) not in message:
                message = f"{path}: {message}"
            if "not valid JSON" in message:
                message += f"; expected a whisper-speedtest results file (schema_version {SCHEMA_VERSION})"
            raise SchemaError(message) from None
    return get_run(ref)
