"""The HTML page and PNG chart: self-contained, every part present, rendered for real in Chromium."""

import re
import shutil
import subprocess

import pytest

from tests.run_fixtures import make_run
from whisper_speedtest.errors import BadOption
from whisper_speedtest.report import writers
from whisper_speedtest.report.chart import BAR_COLOR, CAVEAT_COLOR, nice_ticks, timing_points
from whisper_speedtest.report.html import render_page
from whisper_speedtest.report.transcript_diff import DELETED, EQUAL, INSERTED, SUBSTITUTED, error_count, word_changes


def test_page_is_self_contained():
    page = render_page([make_run()])
    assert page.startswith("<!DOCTYPE html>")
    assert "http" not in page  # no external URL of any kind, not even an SVG namespace
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert page.count("<svg") == 2


def test_page_has_table_charts_transcripts_and_provenance():
    page = render_page([make_run()])
    for header in ("Backend", "Model", "Load s", "Median s ± sd", "RTFx", "WER", "Peak MB", "Params in effect", "Status"):
        assert f"<th>{header}</th>" in page
    assert "0.350 ± 0.010" in page and "faster-whisper@int8" in page  # the variant is its own row and point
    assert "RuntimeError: ggml model &lt;bad&gt; could not be read" in page  # failed row: reason, escaped
    assert "needs Apple silicon" in page
    assert "⚠ synthetic weights" in page and "distil-whisper model, not Whisper" in page
    assert '<mark class="sub" title="reference: your">our</mark>' in page  # openai-whisper said "our country"
    assert '<ins title="not in the reference">okay</ins>' in page
    assert "11f97770427744ace558d1d0e2d0e5157b0b60cf9f54dc8bbc5bae97c8779315" in page  # full fingerprint
    assert "<td>jiwer</td><td>4.0.0</td>" in page and "beam=1" in page


def test_several_runs_share_one_table_with_a_machine_column():
    page = render_page([make_run(), make_run("ffeeddccbbaa", cpu="Apple M2 Pro", scale=0.6)])
    assert "<th>Machine</th>" in page
    assert page.count('class="machine"') == 12  # six rows per run
    labels = {p.series for p in timing_points([make_run(), make_run("ffeeddccbbaa", cpu="Apple M2 Pro")])}
    assert labels == {"AMD EPYC", "Apple M2 Pro"}


def test_same_machine_twice_is_told_apart_by_run_id():
    points = timing_points([make_run("aaaaaaaa1111"), make_run("bbbbbbbb2222")])
    assert {p.series for p in points} == {"AMD EPYC · aaaaaaaa", "AMD EPYC · bbbbbbbb"}


def test_word_changes_after_normalization():
    changes = word_changes("Ask not what your country can do", "ask not what the country can do for you")
    kinds = [(c.kind, c.reference, c.hypothesis) for c in changes]
    assert kinds == [
        (EQUAL, ("ask", "not", "what"), ("ask", "not", "what")),
        (SUBSTITUTED, ("your",), ("the",)),
        (EQUAL, ("country", "can", "do"), ("country", "can", "do")),
        (INSERTED, (), ("for", "you")),
    ]
    assert error_count(changes) == 3
    assert [c.kind for c in word_changes("red green blue", "red blue")] == [EQUAL, DELETED, EQUAL]


def test_nice_ticks():
    assert nice_ticks(1.8) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert nice_ticks(0.09) == [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]
    assert nice_ticks(0) == [0.0, 1.0]


def test_html_and_png_writers_write_atomically(tmp_path):
    pytest.importorskip("matplotlib")
    paths = writers.check_output_paths([str(tmp_path / "report.html"), str(tmp_path / "chart.png")])
    outcome = writers.write_outputs(make_run(), paths)
    assert [p.name for p in outcome.written] == ["report.html", "chart.png"] and outcome.failures == ()
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    png = (tmp_path / "chart.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    import matplotlib.image

    image = matplotlib.image.imread(tmp_path / "chart.png")
    assert image.shape[1] > 500 and _count_color(image, BAR_COLOR) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chart.png", "report.html"]  # no temporary files left


def test_png_without_matplotlib_fails_before_the_run(monkeypatch, tmp_path):
    real_find_spec = writers.importlib.util.find_spec
    monkeypatch.setattr(writers.importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a))
    with pytest.raises(BadOption, match=r"pip install 'whisper-speedtest\[report\]'"):
        writers.check_output_paths([str(tmp_path / "chart.png")])


def _rgb(hex_color: str) -> tuple[float, float, float]:
    return tuple(int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))


def _color_mask(image, hex_color: str, tolerance: float = 0.04):
    import numpy as np

    rgb = np.asarray(image)[..., :3].astype(float)
    if rgb.max() > 1.5:
        rgb = rgb / 255
    return (np.abs(rgb - np.array(_rgb(hex_color))) <= tolerance).all(axis=-1)


def _count_color(image, hex_color: str) -> int:
    return int(_color_mask(image, hex_color).sum())


def _solid_bar_widths(bar_mask, stripe_mask) -> list[int]:
    """Widths of the solid horizontal bars: the widest row of each band of rows holding the bar colour.

    Bands narrower than 30 px (scatter dots) and bands with orange stripes (the caveat bar) are left out.
    """
    counts, stripes = bar_mask.sum(axis=1), stripe_mask.sum(axis=1)
    widths, band = [], []
    for row, count in enumerate(list(counts) + [0]):
        if count > 0:
            band.append(row)
        elif band:
            width = int(max(counts[r] for r in band))
            if width >= 30 and not any(stripes[r] for r in band):
                widths.append(width)
            band = []
    return widths


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_page_renders_in_chromium_with_the_bar_chart(tmp_path):
    plt_image = pytest.importorskip("matplotlib.image")
    page = tmp_path / "report.html"
    page.write_text(render_page([make_run()]), encoding="utf-8")
    shot = tmp_path / "shot.png"
    command = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1400,2000", page.as_uri(),
    ]
    subprocess.run(command, capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "Chromium wrote no screenshot"
    image = plt_image.imread(shot)
    assert image.std() > 0.05  # not a blank page
    widths = _solid_bar_widths(_color_mask(image, BAR_COLOR), _color_mask(image, CAVEAT_COLOR))
    # three solid blue bars: faster-whisper@int8 0.35 s, faster-whisper 0.50 s, openai-whisper 1.80 s
    assert len(widths) == 3, widths
    assert max(widths) / min(widths) == pytest.approx(1.80 / 0.35, rel=0.06)
    assert _count_color(image, CAVEAT_COLOR) > 200  # the synthetic row's orange stripes


def test_page_and_png_for_a_run_where_every_backend_failed():
    from dataclasses import replace

    run = make_run()
    failed_only = replace(run, results=run.results[4:])
    page = render_page([failed_only])
    assert "No successful backend rows to chart." in page and "No backend produced a transcript." in page
    pytest.importorskip("matplotlib")
    from whisper_speedtest.report.chart import render_bar_png

    assert render_bar_png([failed_only]).startswith(b"\x89PNG")
