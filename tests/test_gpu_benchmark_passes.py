"""benchmarks/gpu.py's interleaved passes and the variants' ratios with intervals (the GPU rows themselves
need an NVIDIA machine; these are the script's own scheduling and statistics)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "gpu.py"


@pytest.fixture(scope="module")
def gpu():
    spec = importlib.util.spec_from_file_location("gpu_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_stock_row_runs_once_first_and_each_pass_starts_one_variant_later(gpu):
    variants = gpu.variant_names("current,compact,compact+overlap")
    rows = gpu.schedule(["graph-decoder", "transformers"], variants, passes=4)
    assert rows[0] == (0, "transformers", "", ())
    order = [(number, label) for number, backend, label, _ in rows[1:]]
    assert order == [
        (0, "current"), (0, "compact"), (0, "compact+overlap"),
        (1, "compact"), (1, "compact+overlap"), (1, "current"),
        (2, "compact+overlap"), (2, "current"), (2, "compact"),
        (3, "current"), (3, "compact"), (3, "compact+overlap"),
    ]
    assert gpu.schedule(["transformers"], variants, passes=3) == [(0, "transformers", "", ())]


def _row(label, number, rtfx, texts):
    return {"batch": 256, "backend": "graph-decoder", "variant": label, "status": "ok", "passes_index": number,
            "rtfx": rtfx, "model_rtfx": rtfx * 1.05, "texts": texts}


def test_variant_ratios_are_medians_over_passes_with_an_interval_from_three(gpu, capsys):
    texts = ["a", "b", "c", "d"]
    report = {"rows": [_row("current", n, r, texts) for n, r in enumerate((5587.0, 5400.0, 5700.0))]
              + [_row("compact", n, r, texts[:3] + ["x"]) for n, r in enumerate((6122.0, 5861.0, 6000.0))]}
    gpu.compare_variants(report, 256, ["current", "compact"])
    (line,) = report["variant_ratios"]
    assert line["passes"] == 3 and line["same_texts"] == 3
    assert line["rtfx"]["ratio"] == pytest.approx(6000.0 / 5587.0)
    assert line["rtfx"]["low"] <= line["rtfx"]["ratio"] <= line["rtfx"]["high"]
    assert line["model_rtfx"]["ratio"] == pytest.approx(6000.0 / 5587.0)
    printed = capsys.readouterr().out
    assert "compact vs current, batch 256, medians of 3 and 3 pass(es): 1.07x [" in printed
    assert "3/4 transcripts equal" in printed


def test_one_pass_gives_the_ratio_without_an_interval(gpu, capsys):
    report = {"rows": [_row("current", 0, 5587.0, ["a"]), _row("compact", 0, 6122.0, ["a"])]}
    gpu.compare_variants(report, 256, ["current", "compact"])
    (line,) = report["variant_ratios"]
    assert line["rtfx"]["low"] is None and line["rtfx"]["ratio"] == pytest.approx(6122.0 / 5587.0)
    assert "1.10x end to end" in capsys.readouterr().out
