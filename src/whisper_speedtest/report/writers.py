"""Result file writers, chosen by the output file's extension."""

from __future__ import annotations

import csv
import importlib.util
import io
from collections.abc import Callable
from pathlib import Path

from dataclasses import dataclass

from ..atomic import unwritable_reason, write_bytes_atomic, write_text_atomic
from ..errors import BadOption, OutputError
from ..results import BenchmarkRun, run_to_json
from .display_rows import cost_notes, flat_rows, settings_line, warning_notes


def render_json(run: BenchmarkRun) -> str:
    return run_to_json(run) + "\n"


def render_csv(run: BenchmarkRun) -> str:
    rows = flat_rows(run, preview_width=None)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["backend"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


_MD_COLUMNS = ["backend", "status", "model", "load_s", "median_s", "median_ci_s", "stdev_s", "rtfx", "rtfx_ci", "wer", "wer_ci", "cer", "peak_rss_mb",
               "cpu_s_per_audio_h", "energy_wh_per_audio_h", "cost_per_audio_h", "params", "transcript"]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(run: BenchmarkRun) -> str:
    p = run.provenance
    lines = [
        f"# whisper-speedtest results ({run.created})",
        "",
        f"- Machine: {p.cpu}, {p.cores_physical} cores, {p.ram_gb} GiB RAM, {', '.join(p.gpus) or 'no GPU'}; {p.os}",
        f"- Settings: {settings_line(run)}",
        f"- Tool: whisper-speedtest {p.tool_version}" + (f" ({p.git_commit[:10]})" if p.git_commit else ""),
        *(f"- {line}" for line in cost_notes(run)),
        "",
    ]
    columns = [c for c in _MD_COLUMNS if c != "cost_per_audio_h" or run.price_per_hour is not None]
    lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in flat_rows(run, preview_width=None):  # the whole transcript: a Markdown file has no width
        if row["status"] != "ok":
            row["transcript"] = row["reason"]
        lines.append("| " + " | ".join(_md_cell(row[c]) for c in columns) + " |")
    warnings = warning_notes(run.results)
    if warnings:
        lines += ["", "Warnings:", *(f"- {w}" for w in warnings)]
    lines += ["", "*_ci: 95 % intervals (bootstrap over the timed runs, or over clips; WER over clips)."]
    return "\n".join(lines) + "\n"


def render_html(run: BenchmarkRun) -> str:
    from .html import render_html as render

    return render(run)


def render_png(run: BenchmarkRun) -> bytes:
    from .chart import render_bar_png

    return render_bar_png([run])


WRITERS: dict[str, Callable[[BenchmarkRun], str | bytes]] = {
    ".json": render_json,
    ".csv": render_csv,
    ".md": render_markdown,
    ".html": render_html,
    ".png": render_png,
}

# Writers that need an optional package: extension -> (import name, extra that installs it).
WRITER_NEEDS: dict[str, tuple[str, str]] = {".png": ("matplotlib", "report")}


def check_output_paths(paths: list[str], allowed: tuple[str, ...] | None = None, command: str = "benchmark") -> list[Path]:
    """Validate ``-o`` paths before any work starts: an extension this command writes (``allowed``,
    default every writer's), in an existing writable folder. The error lists exactly those extensions."""
    allowed = allowed or tuple(WRITERS)
    checked = []
    for raw in paths:
        path = Path(raw)
        if path.suffix.lower() not in allowed:
            raise BadOption(f"{command} cannot write {raw!r}; it writes {', '.join(allowed)}")
        if path.is_dir():
            raise BadOption(f"output path is a directory: {raw}")
        problem = unwritable_reason(path)
        if problem:
            raise BadOption(f"cannot write output {raw}: {problem}")
        needed = WRITER_NEEDS.get(path.suffix.lower())
        if needed and importlib.util.find_spec(needed[0]) is None:
            raise BadOption(f"writing {path.suffix.lower()} needs {needed[0]}: pip install 'whisper-speedtest[{needed[1]}]'")
        checked.append(path)
    return checked


def write_output(path: Path, content: str | bytes) -> Path:
    """Atomically write text or bytes (a temporary file renamed over ``path``); the folder must exist.

    Raises ``OutputError`` (one line) when the file cannot be written.
    """
    try:
        if isinstance(content, bytes):
            return write_bytes_atomic(path, content, make_parents=False)
        return write_text_atomic(path, content, make_parents=False)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class WrittenOutputs:
    """What ``write_outputs`` did: the files written, and one line per file that could not be."""

    written: tuple[Path, ...]
    failures: tuple[str, ...]

    def raise_failures(self) -> None:
        if self.failures:
            raise OutputError("; ".join(self.failures))


def write_outputs(run: BenchmarkRun, paths: list[Path]) -> WrittenOutputs:
    """Write every output it can; a failed one does not stop the others. Odd text never stops one (``plain_text``)."""
    from ..plain_text import clean_strings

    run = clean_strings(run)
    written, failures = [], []
    for path in paths:
        try:
            written.append(write_output(path, WRITERS[path.suffix.lower()](run)))
        except OutputError as exc:
            failures.append(str(exc))
    return WrittenOutputs(tuple(written), tuple(failures))
