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


def test_quant_sweep_flags_a_variant_whose_transcript_drifts_from_float16():
    from tests.run_fixtures import REFERENCE, ok_row
    from whisper_speedtest.report.display_rows import quant_drift, quant_drift_notes

    float16 = ok_row("mlx-whisper", 0.5, REFERENCE, 0.0, variant="float16")
    int8 = ok_row("mlx-whisper", 0.4, REFERENCE.replace("country", "county", 1), 0.05, variant="int8")  # 1 word of 22
    int4 = ok_row("mlx-whisper", 0.3, REFERENCE, 0.0, variant="int4")  # the same words
    other = ok_row("faster-whisper", 0.3, "something else entirely", 0.9, variant="int8")  # no float16 row of its own
    results = (float16, int8, int4, other)
    drift = quant_drift(results)
    assert set(drift) == {id(int8), id(int4)}  # compared with its own backend's float16 transcript, never the reference
    assert drift[id(int4)] == 0.0 and 0.02 < drift[id(int8)] < 0.1
    (note,) = quant_drift_notes(results)
    assert note.startswith("mlx-whisper int8: its transcript differs from the float16 transcript by ")
    run = dataclasses.replace(make_run(), results=results)
    assert note in _printed(run, width=300)
