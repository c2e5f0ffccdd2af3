"""Small output fixes: install hints survive Rich markup, no empty table when every backend was skipped,
and the run budget's notes and N in the summary."""

import dataclasses
import io

from rich.console import Console

from tests.conftest import run_cli
from tests.run_fixtures import make_run
from whisper_speedtest.report.table import print_summary
from whisper_speedtest.results import BackendResult


def _printed(run, width=100) -> str:
    buffer = io.StringIO()
    print_summary(run, Console(file=buffer, width=width, color_system=None))
    return buffer.getvalue()


def test_backends_table_keeps_the_bracketed_extra_in_install_hints():
    done = run_cli("backends", env={"COLUMNS": "400"})  # wide enough that no cell is folded
    assert done.returncode == 0, done.stderr
    lightning = next(line for line in done.stdout.splitlines() if "lightning-whisper-mlx" in line)
    # The reason column says how to install it, brackets and all (Rich took "[lightning]" for markup).
    assert "not installed: pip install 'whisper-speedtest[lightning]'" in lightning


def test_every_backend_skipped_prints_no_empty_table():
    run = make_run()
    skipped = tuple(BackendResult(r.backend, r.display_name, "skipped", "needs Apple silicon (darwin arm64)") for r in run.results[:1])
    text = _printed(dataclasses.replace(run, results=skipped))
    assert "whisper-speedtest results" not in text and "Backend" not in text
    assert "No backend ran: every one was skipped" in text
    assert "needs Apple silicon (darwin arm64)" in text


def test_summary_shows_n_and_the_runs_note():
    run = make_run()
    first = dataclasses.replace(run.results[0], runs_note="slower than real time here (RTFx 0.40 in the first pass): 1 timed run")
    text = _printed(dataclasses.replace(run, results=(first,) + run.results[1:]), width=200)
    assert "Median s ± sd ×N" in text and f"×{first.transcribe.n}" in text
    assert "faster-whisper: slower than real time here (RTFx 0.40 in the first pass): 1 timed run" in text
