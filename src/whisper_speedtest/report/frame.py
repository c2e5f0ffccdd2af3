"""A run as records of plain values (numbers stay numbers), and as a pandas DataFrame: one row per backend.

The CSV writer's ``flat_rows`` are strings formatted for reading; these are for analysis in a notebook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import MissingExtra
from ..results import BackendResult, BenchmarkRun
from .display_rows import model_label, sort_results

if TYPE_CHECKING:
    import pandas


def result_record(result: BackendResult) -> dict[str, Any]:
    """One backend's row: None where the row has no value (a failed backend has no timings)."""
    t, s, d, m = result.transcribe, result.score, result.dataset, result.model
    return {
        "backend": result.backend,
        "display_name": result.display_name,
        "status": result.status,
        "reason": result.reason,
        "model": model_label(result),
        "format": m.format if m else None,
        "dtype": m.dtype if m else None,
        "fingerprint": m.fingerprint if m else None,
        "variant": result.variant,
        "actual_variant": result.actual_variant,
        "did_fallback": result.did_fallback,
        "load_s": result.load_s,
        "warm_load_s": result.warm_load_s,
        "n": t.n if t else None,
        "median_s": t.median if t else None,
        "mean_s": t.mean if t else None,
        "min_s": t.min if t else None,
        "max_s": t.max if t else None,
        "stdev_s": t.stdev if t else None,
        "rtfx": result.rtfx,
        "wer": s.wer if s else None,
        "cer": s.cer if s else None,
        "peak_rss_mb": result.peak_rss_mb,
        "peak_vram_mb": result.peak_vram_mb,
        "dataset_clips": d.clips if d else None,
        "dataset_model_rtfx": d.model_rtfx if d else None,
        "params": dict(result.params),
        "transcript": result.text,
    }


def run_records(run: BenchmarkRun) -> list[dict[str, Any]]:
    """Every row, in the table's order (fastest first, then the failed and skipped ones)."""
    return [result_record(r) for r in sort_results(run.results)]


def to_pandas(run: BenchmarkRun) -> pandas.DataFrame:
    """The run's rows as a DataFrame (pandas is the ``pandas`` extra)."""
    try:
        import pandas
    except ImportError:
        raise MissingExtra("to_pandas() needs pandas: pip install 'whisper-speedtest[pandas]'") from None
    return pandas.DataFrame.from_records(run_records(run), columns=list(result_record_columns()))


def result_record_columns() -> tuple[str, ...]:
    """The columns of :func:`result_record`, also for a run without rows."""
    return tuple(result_record(BackendResult("", "", "")).keys())
