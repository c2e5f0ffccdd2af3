import pytest

from whisper_speedtest.bench.stats import per_run_totals, rtfx, summarize


def test_summary_of_fixed_numbers():
    s = summarize([1.0, 2.0, 3.0, 4.0, 10.0])
    assert s.n == 5
    assert s.median == 3.0
    assert s.mean == 4.0
    assert s.min == 1.0 and s.max == 10.0
    assert s.stdev == pytest.approx(3.5355339, rel=1e-6)


def test_even_count_median_and_single_sample():
    assert summarize([4.0, 1.0, 3.0, 2.0]).median == 2.5
    single = summarize([0.25])
    assert (single.n, single.median, single.stdev) == (1, 0.25, 0.0)


def test_empty_samples_are_rejected():
    with pytest.raises(ValueError):
        summarize([])


def test_rtfx_and_run_totals():
    assert rtfx(11.0, 0.5) == 22.0
    assert rtfx(11.0, 0.0) is None
    assert per_run_totals([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]]) == [1.5, 2.5, 3.5]
