"""The real commands in a real terminal (tmux) at 80, 100, 120 and 150 columns: every figure of the
JSON, every run id, backend name and install command appears whole on the screen, nothing is cut.

Backends are the fakes of ``tests.fake_backends`` (the layout is under test, not the libraries), run
through the real CLI, its real child processes and a real pseudo-terminal, so rich measures the width
as a user's terminal reports it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import DATA, REPO
from whisper_speedtest.report.display_rows import flat_rows
from whisper_speedtest.results import load_run

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux); .ci/run installs it")

WIDTHS = (80, 100, 120, 150)
DONE = "__COMMAND_DONE__"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX", "NO_COLOR")}
    paths = [str(REPO / "src"), str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**env, "PYTHONPATH": os.pathsep.join(paths), "WHISPER_SPEEDTEST_HOME": str(home), "HF_HUB_OFFLINE": "1",
            "FAKE_SLOW_S": "0.05", "TERM": "xterm-256color"}


def screen(args: list[str], width: int, env: dict[str, str], tmp_path: Path, timeout: float = 120) -> str:
    """The whole screen (scroll-back included) after ``python -m tests.fake_cli ARGS`` ran in a tmux pane
    ``width`` columns wide."""
    socket = f"wst-{uuid.uuid4().hex[:8]}"
    script = tmp_path / f"{socket}.sh"
    command = " ".join(_quote(a) for a in [sys.executable, "-m", "tests.fake_cli", *args])
    script.write_text(f"cd {_quote(str(REPO))}\n{command}\necho {DONE} $?\nsleep 600\n")
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "-x", str(width), "-y", "50", "-s", "t", f"sh {script}"], env=env, check=True)
    try:
        subprocess.run([*tmux, "set-option", "-t", "t", "history-limit", "20000"], env=env, check=True)
        deadline = time.monotonic() + timeout
        while True:
            text = subprocess.run([*tmux, "capture-pane", "-p", "-t", "t", "-S", "-"], env=env, capture_output=True, text=True).stdout
            if DONE in text:
                return text
            assert time.monotonic() < deadline, f"{args} did not finish within {timeout} s:\n{text}"
            time.sleep(0.2)
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def whole(token: str, text: str) -> bool:
    """``token`` appears on one line with no letter, digit or dot glued to either side."""
    return re.search(rf"(?<![\w.]){re.escape(token)}(?![\w.])", text) is not None


def assert_fits(text: str, width: int) -> None:
    assert "…" not in text, "a cell was cut with an ellipsis"
    too_long = [line for line in text.splitlines() if len(line.rstrip()) > width]
    assert not too_long, too_long




@pytest.mark.parametrize("width", WIDTHS)
def test_every_figure_whole_at_each_width(width, tmp_path):
    env = _env(tmp_path / "home")
    runs = {}
    benchmarks = {
        "priced": ["benchmark", "-b", "fake-echo,fake-slow,fake-raise", "-n", "2", "--warmup", "0", "--price-per-hour", "0.35"],
        "again": ["benchmark", "-b", "fake-echo,fake-slow", "-n", "1", "--warmup", "0"],
        "dataset": ["benchmark", "-b", "fake-echo", "--dataset", str(DATA / "utterances" / "manifest.jsonl"), "--max-clips", "4",
                    "--price-per-hour", "0.35"],
    }
    for label, args in benchmarks.items():
        out = tmp_path / f"{label}.json"
        text = screen([*args, "-o", str(out)], width, env, tmp_path)
        assert f"{DONE} 0" in text, text
        assert_fits(text, width)
        run = load_run(out)
        runs[label] = run
        raw = json.loads(out.read_text())
        for row, result in zip(flat_rows(run), sorted(raw["results"], key=lambda r: (r["status"] != "ok", (r["transcribe"] or {}).get("median", 0), r["backend"]))):
            assert whole(row["backend"], text) or all(whole(w, text) for w in row["backend"].split()), row["backend"]
            if row["status"] != "ok":
                assert whole(row["status"], text)
                continue
            assert float(row["median_s"]) == pytest.approx(result["transcribe"]["median"], abs=5e-4)
            figures = [row[k] for k in ("load_s", "median_s", "rtfx", "wer", "peak_rss_mb", "cpu_s_per_audio_h", "cost_per_audio_h") if row[k]]
            missing = [f for f in figures if not whole(f, text)]
            assert not missing, f"{label} at {width} columns: {missing} not whole on the screen:\n{text}"
            assert whole(result["model"]["name"], text)
        assert whole(run.run_id, text)  # "recorded as run <id>"

    history = screen(["history"], width, env, tmp_path)
    assert_fits(history, width)
    for run in runs.values():
        assert whole(run.run_id, history), f"run id {run.run_id} not whole at {width} columns:\n{history}"

    backends_screen = screen(["backends"], width, env, tmp_path)
    assert_fits(backends_screen, width)
    listed = json.loads(subprocess.run([sys.executable, "-m", "tests.fake_cli", "backends", "--json"], cwd=REPO, env=env,
                                       capture_output=True, text=True, check=True).stdout)
    for backend in listed:
        assert whole(backend["name"], backends_screen)
        install = f"whisper-speedtest[{backend['extra']}]" if backend["extra"] else backend["install"]
        assert install in backends_screen, f"install command {install!r} not on one line at {width} columns:\n{backends_screen}"

    caches = screen(["check-models"], width, env, tmp_path)
    assert_fits(caches, width)
    for backend in listed:
        assert whole(backend["name"], caches) or whole(f"{backend['name']} (n/a)", caches)
    assert not re.search(r"comple(?!te)", caches)

    comparison = screen(["compare", str(tmp_path / "priced.json"), str(tmp_path / "again.json")], width, env, tmp_path)
    assert_fits(comparison, width)
    a, b = runs["priced"], runs["again"]
    for name in ("fake-echo", "fake-slow"):
        ra = next(r for r in a.results if r.backend == name)
        rb = next(r for r in b.results if r.backend == name)
        for figure in (f"{ra.transcribe.median:.3f}", f"{rb.transcribe.median:.3f}", f"{rb.transcribe.median / ra.transcribe.median:.2f}×"):
            assert whole(figure, comparison), f"{figure} not whole at {width} columns:\n{comparison}"


@pytest.mark.integration
def test_real_faster_whisper_row_at_80_columns(tmp_path):
    """The bundled tiny.en through faster-whisper, priced, in an 80-column terminal: every figure whole,
    and the label says what ctranslate2 computes with beside the stored dtype."""
    env = _env(tmp_path / "home")
    out = tmp_path / "real.json"
    text = screen(["benchmark", "-b", "faster-whisper", "-n", "1", "--warmup", "0", "--price-per-hour", "0.35", "-o", str(out)],
                  80, env, tmp_path, timeout=300)
    assert f"{DONE} 0" in text, text
    run = load_run(out)
    (row,) = flat_rows(run)
    result = run.results[0]
    assert result.actual_variant == result.params["compute_type"]  # what ctranslate2 reports it computes with
    figures = [row[k] for k in ("load_s", "median_s", "rtfx", "wer", "peak_rss_mb", "cpu_s_per_audio_h", "cost_per_audio_h")]
    assert all(whole(f, text) for f in figures), (figures, text)
    stored = {"float16": "f16", "float32": "f32"}.get(result.model.dtype, result.model.dtype)
    label = f"ct2/{stored}" + ("" if result.actual_variant in (result.model.dtype, stored) else f"→{result.actual_variant}")
    assert whole(label, text), (label, text)
    assert "± 0.000" not in text  # one timed pass has no spread to show
