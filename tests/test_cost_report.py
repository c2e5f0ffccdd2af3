"""Cost columns in every output: table, CSV, Markdown, HTML (with the speed-vs-energy chart), JSON 1.1 and old 1.0 files."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from whisper_speedtest.report.compare import compare_runs
from whisper_speedtest.report.html import render_page
from whisper_speedtest.report.display_rows import flat_rows
from whisper_speedtest.report.table import print_summary
from whisper_speedtest.report.writers import render_csv, render_markdown
from whisper_speedtest.results import SCHEMA_MINOR, run_from_dict, run_to_json, to_dict

from .run_fixtures import make_run, with_cost


def test_rows_scale_to_an_audio_hour_and_price():
    run = with_cost(make_run(), cpu_package_j=20.0, price_per_hour=3.0)
    row = next(r for r in flat_rows(run) if r["backend"] == "faster-whisper" and r["variant"] == "default")
    wall = 3 * 0.5  # 33 s of audio in 1.5 s
    assert row["cpu_s_per_audio_h"] == f"{2 * wall * 3600 / 33:.0f}"
    assert row["energy_wh_per_audio_h"] == f"{20.0 * wall / 33:.2f}"  # J per audio s = Wh per audio h
    assert row["cost_per_audio_h"] == f"{3.0 * wall / 33:.2f}"
    assert row["energy_domains"] == "cpu package" and row["energy_unread"].startswith("gpu: no NVIDIA GPU")
    assert row["load_cpu_s"] == "1.20"


def test_unreadable_counters_say_na_with_the_reason_everywhere():
    run = with_cost(make_run())
    console = Console(record=True, width=200)
    print_summary(run, console)
    text = console.export_text()
    # no row has an energy reading: the terminal table leaves the column out and the note says why
    assert "CPU-s/h" in text and "Wh/h" not in text and "Cost/h" not in text
    assert "Energy not read: cpu package: no RAPL interface" in text
    read = Console(record=True, width=200)
    print_summary(with_cost(make_run(), cpu_package_j=15.0), read)
    assert "Wh/h" in read.export_text()
    rows = list(csv.DictReader(io.StringIO(render_csv(run))))
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(r["energy_wh_per_audio_h"] == "n/a" and "no RAPL" in r["energy_unread"] for r in ok)
    assert all(r["cpu_s_per_audio_h"] not in ("", "n/a") for r in ok)
    markdown = render_markdown(run)
    assert "| cpu_s_per_audio_h | energy_wh_per_audio_h |" in markdown and "Energy not read" in markdown


def test_html_has_cost_columns_and_a_speed_vs_energy_chart():
    page = render_page([with_cost(make_run(), cpu_package_j=15.0, gpu_j=40.0, price_per_hour=1.2)])
    for header in ("CPU-s / audio h", "Wh / audio h", "Cost / audio h"):
        assert f"<th>{header}</th>" in page
    assert 'aria-label="Speed against energy"' in page and "Wh per hour of audio" in page
    assert 'colspan="9" class="reason"' in page  # a failed row spans every measured column


def test_html_falls_back_to_cpu_time_when_no_energy_was_read():
    page = render_page([with_cost(make_run())])
    assert 'aria-label="Speed against CPU time"' in page and "no energy counter could be read" in page


def test_json_round_trip_and_old_schema_files():
    run = with_cost(make_run(), gpu_j=30.0, price_per_hour=0.9)
    again = run_from_dict(json.loads(run_to_json(run)))
    assert again == run and again.schema == f"1.{SCHEMA_MINOR}"
    old = to_dict(make_run())
    del old["schema_minor"], old["price_per_hour"]
    for row in old["results"]:
        del row["cost"], row["load_cost"]
    old_run = run_from_dict(old)
    assert old_run.schema == "1.0" and all(r.cost is None for r in old_run.results)
    assert "not measured (written before schema 1.1)" in render_markdown(old_run)
    comparison = compare_runs(old_run, again)  # compare reads 1.0 and 1.1 side by side
    assert comparison.rows


def test_price_must_be_positive():
    from whisper_speedtest.cli.benchmark import check_price
    from whisper_speedtest.errors import BadOption

    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(BadOption, match="--price-per-hour"):
            check_price(bad)
    check_price(None)
    check_price(0.35)


def test_bad_price_is_one_line_and_exit_2():
    from .conftest import run_cli

    result = run_cli("benchmark", "--price-per-hour", "-2", "--no-history")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: --price-per-hour must be a positive amount per machine hour (got -2)"]
