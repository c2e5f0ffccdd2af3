"""Comparing two runs row by row: the speed ratio with its 95 % interval and a verdict, and the WER change.

Rows are matched by backend and variant (``comparable.row_variants``) and compared only when the rest of their
key agrees (audio set, decode settings, model, weights); otherwise the row says which part differs.

Speed, from the raw samples (schema 1.4): ``bench.compare_stats.compare_speed`` — a paired Wilcoxon test over
clips where both rows timed the same clips, else Welch's t-test over the timed passes; "slower"/"faster" only
when the test rejects equal speed at 5 %, the ratio's interval excludes 1 and the change exceeds 5 %.
Files before 1.4 keep no samples; for them the old range rule applies: B is slower when its median is more
than ``MIN_RELATIVE_CHANGE`` (5 %) above A's and B's fastest run is slower than A's slowest (mirror: faster).
WER: B minus A, with a paired bootstrap interval over the clips both scored (schema 1.4).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..bench.compare_stats import FASTER, MIN_RELATIVE_CHANGE, NO_CLEAR_DIFFERENCE, SLOWER, SpeedComparison, WerDifference, compare_speed, wer_difference
from ..results import BackendResult, BenchmarkRun, Interval
from .comparable import row_differences, row_name, row_variants, run_differences
from .labels import machine_label, result_label

SAME = NO_CLEAR_DIFFERENCE
ONLY_IN_A, ONLY_IN_B, NOT_COMPARABLE = "only in A", "only in B", "not comparable"
RANGE_RULE = "range rule (no raw samples before schema 1.4): B.median > A.median × 1.05 and B.min > A.max"


@dataclass(frozen=True)
class BackendComparison:
    """One backend (and variant) in both runs."""

    backend: str
    verdict: str
    a_median_s: float | None = None
    b_median_s: float | None = None
    ratio: float | None = None  # B median / A median: above 1 means B is slower
    a_wer: float | None = None
    b_wer: float | None = None
    detail: str = ""
    speed: SpeedComparison | None = None  # the test, the ratio's interval and the p-value (schema 1.4)
    wer_change: WerDifference | None = None

    @property
    def ratio_interval(self) -> Interval | None:
        return self.speed.interval if self.speed else None

    @property
    def test(self) -> str:
        if self.speed is not None:
            return self.speed.test
        return RANGE_RULE if self.ratio is not None else ""

    @property
    def regressed(self) -> bool:
        return self.verdict == SLOWER

    @property
    def wer_delta(self) -> float | None:
        return None if self.a_wer is None or self.b_wer is None else self.b_wer - self.a_wer

    @property
    def wer_worse(self) -> bool:
        delta = self.wer_delta
        return delta is not None and delta > 1e-9


@dataclass(frozen=True)
class RunComparison:
    """Two runs side by side, with notes on anything that makes the numbers less comparable."""

    a_label: str
    b_label: str
    rows: tuple[BackendComparison, ...]
    notes: tuple[str, ...] = ()

    @property
    def regressions(self) -> tuple[BackendComparison, ...]:
        return tuple(r for r in self.rows if r.regressed)


def speed_verdict(a: BackendResult, b: BackendResult) -> str:
    """SLOWER, FASTER or SAME by the range rule, for rows without raw samples (files before 1.4)."""
    ta, tb = a.transcribe, b.transcribe
    if tb.median > ta.median * (1 + MIN_RELATIVE_CHANGE) and tb.min > ta.max:
        return SLOWER
    if tb.median < ta.median * (1 - MIN_RELATIVE_CHANGE) and tb.max < ta.min:
        return FASTER
    return SAME


def _clip_medians(a: BackendResult, b: BackendResult) -> tuple[list[float] | None, list[float] | None]:
    """Each clip's median time in both rows, when both timed the same clips (by name, in order) with samples."""
    if not a.clips or [c.clip for c in a.clips] != [c.clip for c in b.clips]:
        return None, None
    if not all(c.samples for c in (*a.clips, *b.clips)):
        return None, None
    return [c.transcribe.median for c in a.clips], [c.transcribe.median for c in b.clips]


def _word_errors(result: BackendResult):
    if result.dataset is not None:
        return result.dataset.word_errors
    return tuple(c.word_errors for c in result.clips)


def compare_rows(a: BackendResult | None, b: BackendResult | None, label: str = "", differs: tuple[str, ...] = ()) -> BackendComparison:
    """One matched pair; ``differs`` (parts of the key that differ) makes it "not comparable" and says why."""
    label = label or (a or b).display_name
    if a is None or b is None:
        present = a or b
        verdict = ONLY_IN_B if a is None else ONLY_IN_A
        return BackendComparison(label, verdict, detail="" if present.ok else present.status)
    a_wer = a.score.wer if a.score else None
    b_wer = b.score.wer if b.score else None
    differs = tuple(differs) + tuple(row_differences(a, b))
    if differs:
        return BackendComparison(label, NOT_COMPARABLE, a_wer=a_wer, b_wer=b_wer, detail="; ".join(differs))
    if not (a.ok and b.ok and a.transcribe and b.transcribe):
        failed = [f"{r.status} in {name}" if not r.ok else f"timing n/a in {name}" for name, r in (("A", a), ("B", b)) if not (r.ok and r.transcribe)]
        return BackendComparison(label, NOT_COMPARABLE, a_wer=a_wer, b_wer=b_wer, detail=", ".join(failed))
    errors_a, errors_b = _word_errors(a), _word_errors(b)
    wer_change = wer_difference(errors_a, errors_b) if errors_a and len(errors_a) == len(errors_b) else None
    if a.samples and b.samples:
        speed = compare_speed(a.samples, b.samples, *_clip_medians(a, b))
        return BackendComparison(label, speed.verdict, a.transcribe.median, b.transcribe.median, speed.ratio, a_wer, b_wer,
                                 speed=speed, wer_change=wer_change)
    ratio = b.transcribe.median / a.transcribe.median if a.transcribe.median > 0 else None
    return BackendComparison(label, speed_verdict(a, b), a.transcribe.median, b.transcribe.median, ratio, a_wer, b_wer,
                             wer_change=wer_change)


def comparability_notes(a: BenchmarkRun, b: BenchmarkRun) -> list[str]:
    """Differences other than the machine that change the numbers: the run-wide key, and few timed runs."""
    notes = [f"not comparable, {line}" for line in run_differences(a, b)]
    models_a = {r.model.name for r in a.results if r.model}
    models_b = {r.model.name for r in b.results if r.model}
    weights_a = {r.model.fingerprint for r in a.results if r.ok and r.model and r.model.fingerprint}
    weights_b = {r.model.fingerprint for r in b.results if r.ok and r.model and r.model.fingerprint}
    if models_a and models_b and models_a != models_b:
        notes.append(f"different models: A {', '.join(sorted(models_a))}, B {', '.join(sorted(models_b))}")
    elif weights_a and weights_b and not weights_a & weights_b:
        notes.append("the weights' fingerprints differ between the runs")
    for name, run in (("A", a), ("B", b)):
        busy = [w for r in run.results if r.ok for w in r.warnings if w.startswith("busy machine")]
        if busy:
            notes.append(f"{name} ran on a {busy[0]}: a difference may be the machine's, not the backend's")
    sa, sb = a.settings, b.settings
    if min(sa.runs, sb.runs) < 3:
        notes.append(f"few timed runs (A {sa.runs}, B {sb.runs}): the spread is poorly measured")
    return notes


def _keyed(run: BenchmarkRun) -> dict[tuple[str, str], BackendResult]:
    results = [r for r in run.results if r.status != "skipped"]
    return {(r.backend, v): r for r, v in zip(results, row_variants(results), strict=True)}


def compare_runs(a: BenchmarkRun, b: BenchmarkRun) -> RunComparison:
    """Pair rows by backend and (normalized) variant; rows present in one run only are listed too."""
    rows_a, rows_b = _keyed(a), _keyed(b)
    differs = tuple(run_differences(a, b))
    keys = list(rows_a) + [k for k in rows_b if k not in rows_a]

    def label(key):
        row = rows_a.get(key) or rows_b.get(key)
        return row_name(row.display_name, key[1])

    rows = tuple(compare_rows(rows_a.get(k), rows_b.get(k), label(k), differs) for k in keys)
    order = {SLOWER: 0, FASTER: 1, SAME: 2, NOT_COMPARABLE: 3, ONLY_IN_A: 4, ONLY_IN_B: 5}
    rows = tuple(sorted(rows, key=lambda r: (order[r.verdict], r.backend)))
    a_label = f"{a.run_id} ({a.created}) on {machine_label(a.provenance)}"
    b_label = f"{b.run_id} ({b.created}) on {machine_label(b.provenance)}"
    return RunComparison(a_label, b_label, rows, tuple(comparability_notes(a, b)))


def _interval(interval: Interval | None) -> dict | None:
    return None if interval is None else {"low": interval.low, "high": interval.high, "confidence": interval.confidence, "method": interval.method}


def compare_rows_of_one_run(run: BenchmarkRun, first: str, second: str) -> RunComparison:
    """Two rows of one run (``faster-whisper`` and ``faster-whisper==1.2.0``: the same audio, the same
    weights) compared as two runs' rows are: A is ``first``, B is ``second``."""
    import dataclasses

    from ..errors import BadOption

    def row(label: str) -> BackendResult:
        for result in run.results:
            if result_label(result) == label or result.backend == label:
                return result
        known = ", ".join(result_label(r) for r in run.results)
        raise BadOption(f"no row {label!r} in run {run.run_id}; its rows: {known}")

    a, b = row(first), row(second)
    shared = dataclasses.replace(b, backend=a.backend, variant=a.variant)
    comparison = compare_runs(dataclasses.replace(run, results=(a,)), dataclasses.replace(run, results=(shared,)))
    return dataclasses.replace(comparison, a_label=f"{first} in {comparison.a_label}", b_label=f"{second} in {comparison.b_label}")


def comparison_to_dict(comparison: RunComparison) -> dict:
    """Plain data for ``compare --json``."""
    return {
        "a": comparison.a_label,
        "b": comparison.b_label,
        "rule": (f"regression when a test over the raw samples rejects equal speed at 5 %, the ratio's 95 % interval is above 1 "
                 f"and the ratio above {1 + MIN_RELATIVE_CHANGE:g}; files before 1.4: {RANGE_RULE}"),
        "notes": list(comparison.notes),
        "rows": [
            {
                "backend": r.backend, "verdict": r.verdict, "regression": r.regressed,
                "a_median_s": r.a_median_s, "b_median_s": r.b_median_s, "ratio_b_over_a": r.ratio,
                "ratio_interval": _interval(r.ratio_interval), "test": r.test, "p_value": r.speed.p_value if r.speed else None,
                "a_wer": r.a_wer, "b_wer": r.b_wer, "wer_delta": r.wer_delta, "wer_worse": r.wer_worse,
                "wer_delta_interval": _interval(r.wer_change.interval) if r.wer_change else None, "detail": r.detail,
            }
            for r in comparison.rows
        ],
    }
