"""The HTML report and the board page in a real browser (headless Chromium): the charts render, and a screenshot is kept.

Skips, saying why, where no Chromium is installed; ``.ci/run`` installs Debian's ``chromium`` so it runs in CI.
Screenshots go to ``$WHISPER_SPEEDTEST_SCREENSHOTS`` when it is set, else to the test's temporary folder.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from whisper_speedtest.report.board_page import render_board
from whisper_speedtest.report.html import render_page

from .run_fixtures import make_run, with_cost

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH, HEIGHT = 1280, 4000
PROBE = """<script>
(() => {
  const charts = [...document.querySelectorAll("svg.chart, canvas")].map((e) => {
    const r = e.getBoundingClientRect();
    return {aria: e.getAttribute("aria-label") || e.tagName, x: r.left, y: r.top + scrollY, w: r.width, h: r.height,
            shapes: e.querySelectorAll("circle, rect, line, path, text").length};
  });
  document.body.setAttribute("data-probe", JSON.stringify(charts));
})();
</script></body>"""


def chromium() -> str | None:
    return os.environ.get("WHISPER_SPEEDTEST_CHROMIUM") or next((b for b in map(shutil.which, BROWSERS) if b), None)


pytestmark = pytest.mark.skipif(chromium() is None, reason="no Chromium installed (apt-get install chromium; .ci/run does)")


def _headless(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"  # a fresh profile for every start
    command = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}", "--hide-scrollbars",
        "--force-device-scale-factor=1", f"--window-size={WIDTH},{HEIGHT}", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _charts(tmp_path: Path, page: Path) -> list[dict]:
    probe = tmp_path / f"probe-{page.name}"
    probe.write_text(page.read_text().replace("</body>", PROBE))
    result = _headless(tmp_path, "--dump-dom", probe.as_uri())
    match = re.search(r'data-probe="([^"]*)"', result.stdout)
    assert match, f"Chromium printed no DOM (exit {result.returncode}): {result.stderr[-800:]}"
    return json.loads(html.unescape(match.group(1)))


def _screenshot(tmp_path: Path, page: Path) -> Path:
    folder = Path(os.environ.get("WHISPER_SPEEDTEST_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / (page.stem + ".png")
    result = _headless(tmp_path, f"--screenshot={shot}", page.as_uri())
    assert shot.is_file() and shot.stat().st_size > 20_000, f"no screenshot (exit {result.returncode}): {result.stderr[-800:]}"
    print(f"screenshot: {shot}")
    return shot


def _inked(shot: Path, chart: dict) -> float:
    """The share of the chart's box on the screenshot that is not background white."""
    from matplotlib import image as matplotlib_image  # the report extra; CI installs it

    image = matplotlib_image.imread(shot)
    box = image[int(chart["y"]) : int(chart["y"] + chart["h"]), int(chart["x"]) : int(chart["x"] + chart["w"]), :3]
    return float((box.min(axis=2) < 0.9).mean())


def _check(tmp_path: Path, page: Path, expected: set[str]) -> None:
    charts = _charts(tmp_path, page)
    names = {c["aria"] for c in charts}
    assert expected <= names, names
    for chart in charts:
        assert chart["w"] > 200 and chart["h"] > 100 and chart["shapes"] > 10, chart
    shot = _screenshot(tmp_path, page)
    if importlib.util.find_spec("matplotlib") is None:
        return  # the screenshot is kept; reading its pixels needs matplotlib
    for chart in charts:
        if chart["y"] + chart["h"] <= HEIGHT:
            assert _inked(shot, chart) > 0.01, f"{chart['aria']} is blank on the screenshot"


def test_report_page_charts_render(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_page([with_cost(make_run(), cpu_package_j=18.0, gpu_j=35.0, price_per_hour=0.8)]))
    _check(tmp_path, page, {"Median transcription time per backend", "Speed against word error rate", "Speed against energy"})


def test_board_page_charts_render(tmp_path):
    runs = [
        with_cost(make_run("aaaaaaaaaaa1"), price_per_hour=0.4),
        with_cost(make_run("aaaaaaaaaaa2", cpu="Apple M2", scale=0.6), cpu_package_j=12.0),
        with_cost(make_run("aaaaaaaaaaa3", cpu="Intel Xeon", scale=1.3), fingerprint="ab" * 32),
    ]
    page = tmp_path / "board.html"
    page.write_text(render_board(runs, ["skipped runs/x.json: not valid JSON"], "whisper-speedtest board: me/board"))
    _check(tmp_path, page, {"Speed against energy", "Speed against CPU time", "Speed against word error rate"})


TABLE_PROBE = """<script>
(() => {
  const table = document.querySelector("table.results"), box = table.closest(".table-scroll");
  const params = [...table.querySelectorAll("td.params")].map((td) => td.getBoundingClientRect().right);
  document.body.setAttribute("data-probe", JSON.stringify({right: table.getBoundingClientRect().right, window: innerWidth,
    scroll: box.scrollWidth, visible: box.clientWidth, params: params}));
})();
</script></body>"""


def test_multi_run_table_fits_a_1400_px_window(tmp_path):
    """Three machines' runs with long settings (a store path among them): the table, its Params column
    included, lies inside a 1400 px window, with nothing hidden behind a horizontal scroll."""
    import dataclasses

    params = {"device": "cpu", "compute_type": "int8_float32", "beam_size": 1, "cpu_threads": 2, "num_workers": 1,
              "model_path": "/home/someone/.cache/whisper-speedtest/store/tiny.en/ct2-float16-0123456789abcdef/model",
              "library_default_beam_size": 5, "condition_on_previous_text": True, "without_timestamps": True}
    runs = []
    for n, cpu in enumerate(("AMD EPYC 7B13 64-Core Processor", "Apple M2 Pro", "Intel Xeon Platinum 8480+")):
        run = with_cost(make_run(f"aaaaaaaaaaa{n}", cpu=cpu, scale=1 + n / 3), price_per_hour=0.4)
        runs.append(dataclasses.replace(run, results=tuple(dataclasses.replace(r, params=params) for r in run.results)))
    page = tmp_path / "report.html"
    page.write_text(render_page(runs, "three machines").replace("</body>", TABLE_PROBE))
    result = _headless(tmp_path, "--window-size=1400,3000", "--dump-dom", page.as_uri())
    match = re.search(r'data-probe="([^"]*)"', result.stdout)
    assert match, f"Chromium printed no DOM (exit {result.returncode}): {result.stderr[-800:]}"
    probe = json.loads(html.unescape(match.group(1)))
    assert probe["scroll"] <= probe["visible"], probe
    assert probe["right"] <= probe["window"] and all(right <= probe["window"] for right in probe["params"]), probe
