"""report/fit.py on fixed cells: the layout changes with the width, the cells never do."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.markup import escape

from whisper_speedtest.report.fit import FitColumn, Layout, fit_table, print_fitted

COLUMNS = [FitColumn("Run"), FitColumn("Median s ± sd ×N", justify="right"), FitColumn("RTFx", justify="right"),
           FitColumn("Install"), FitColumn("Why", wraps=True), FitColumn("Empty")]
ROWS = [
    ["54ca52eb4a8f", "84.747 ± 0.012 ×3", "1851.1", "pip install 'whisper-speedtest[faster-whisper]'", "a reason that may wrap between its words", ""],
    ["0123456789ab", "0.051 ×1", "216.5", "swift build -c release --package-path tools/whisperkit-bridge", "short", ""],
]


def screen(width: int):
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None)
    fitted = fit_table(console, "Runs", COLUMNS, [[escape(cell) for cell in row] for row in ROWS])  # cells are markup
    print_fitted(console, fitted)
    return fitted, buffer.getvalue()


@pytest.mark.parametrize("width", [60, 80, 100, 120, 150, 250])
def test_every_cell_whole_at_any_width(width):
    fitted, text = screen(width)
    lines = text.splitlines()
    cells = {cell for row in ROWS for cell in row}
    # Only a cell wider than the terminal is wider than it, alone on its line (the terminal folds it, a copy keeps it whole).
    assert all(len(line) <= width or line.strip() in cells for line in lines), text
    for row in ROWS:
        for cell in row[:4]:  # the cells that must not wrap: each whole on one line
            assert any(cell in line for line in lines), (cell, width, text)
        assert re.sub(r"[\s│┃]+", " ", row[4]) in re.sub(r"[\s│┃]+", " ", text)  # wrapped between words only
    assert "Empty: empty in every row, left out." in fitted.note


def test_layout_follows_the_width():
    assert screen(250)[0].layout is Layout.ONE_TABLE
    split, text = screen(110)
    assert split.layout is Layout.SPLIT and "(Run repeated)" in split.note and text.count("54ca52eb4a8f") == 2
    assert screen(60)[0].layout is Layout.RECORDS  # the install command alone needs 62 + the run id
