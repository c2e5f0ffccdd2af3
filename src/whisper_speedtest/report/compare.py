"""Comparing two runs backend by backend: ratio of medians, WER change, and a regression flag.

Regression rule (speed): B is flagged as a regression for a backend when both hold
  1. B's median is more than ``MIN_RELATIVE_CHANGE`` (5 %) above A's median, and
  2. the measured ranges do not overlap: B's fastest timed run is slower than A's slowest (B.min > A.max).
Rule 2 is "B exceeds A by more than the measured spread"; rule 1 keeps single-run measurements (where
min = max = median, so rule 2 alone would flag any difference) from flagging noise. The mirror image
(B.max < A.min and more than 5 % below) is reported as faster. Anything else is "within spread".
WER is compared separately: any increase is shown as worse accuracy (decoding is deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..results import BackendResult, BenchmarkRun
from .labels import machine_label, result_label

MIN_RELATIVE_CHANGE = 0.05
SLOWER, FASTER, SAME = "slower", "faster", "within spread"
ONLY_IN_A, ONLY_IN_B, NOT_COMPARABLE = "only in A", "only in B", "not comparable"


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
    """SLOWER, FASTER or SAME for two successful rows, by the rule in the module docstring."""
    ta, tb = a.transcribe, b.transcribe
    if tb.median > ta.median * (1 + MIN_RELATIVE_CHANGE) and tb.min > ta.max:
        return SLOWER
    if tb.median < ta.median * (1 - MIN_RELATIVE_CHANGE) and tb.max < ta.min:
        return FASTER
    return SAME


def _key(result: BackendResult) -> tuple[str, str]:
    return result.backend, getattr(result, "variant", "default") or "default"


def compare_rows(a: BackendResult | None, b: BackendResult | None) -> BackendComparison:
    label = result_label(a or b)
    if a is None or b is None:
        present = a or b
        verdict = ONLY_IN_B if a is None else ONLY_IN_A
        return BackendComparison(label, verdict, detail="" if present.ok else present.status)
    a_wer = a.score.wer if a.score else None
    b_wer = b.score.wer if b.score else None
    if not (a.ok and b.ok and a.transcribe and b.transcribe):
        failed = [f"{r.status} in {name}" for name, r in (("A", a), ("B", b)) if not r.ok]
        return BackendComparison(label, NOT_COMPARABLE, a_wer=a_wer, b_wer=b_wer, detail=", ".join(failed))
    ratio = b.transcribe.median / a.transcribe.median if a.transcribe.median > 0 else None
    return BackendComparison(label, speed_verdict(a, b), a.transcribe.median, b.transcribe.median, ratio, a_wer, b_wer)


def comparability_notes(a: BenchmarkRun, b: BenchmarkRun) -> list[str]:
    """Differences other than the machine that also change the numbers."""
    notes = []
    clips_a = [(c.name, round(c.duration_s, 1)) for c in a.clips]
    clips_b = [(c.name, round(c.duration_s, 1)) for c in b.clips]
    if clips_a != clips_b:
        notes.append("the runs transcribed different audio, so their times are not directly comparable")
    sa, sb = a.settings, b.settings
    decode_a = (sa.language, sa.beam_size, sa.temperature, sa.condition_on_previous_text)
    decode_b = (sb.language, sb.beam_size, sb.temperature, sb.condition_on_previous_text)
    if decode_a != decode_b:
        notes.append(f"decode settings differ: A language={sa.language} beam={sa.beam_size}, B language={sb.language} beam={sb.beam_size}")
    weights_a = {r.model.fingerprint for r in a.results if r.ok and r.model and r.model.fingerprint}
    weights_b = {r.model.fingerprint for r in b.results if r.ok and r.model and r.model.fingerprint}
    models_a = {r.model.name for r in a.results if r.model}
    models_b = {r.model.name for r in b.results if r.model}
    if models_a and models_b and models_a != models_b:
        notes.append(f"different models: A {', '.join(sorted(models_a))}, B {', '.join(sorted(models_b))}")
    elif weights_a and weights_b and weights_a != weights_b:
        notes.append("the weights' fingerprints differ between the runs")
    if min(sa.runs, sb.runs) < 3:
        notes.append(f"few timed runs (A {sa.runs}, B {sb.runs}): the spread is poorly measured")
    return notes


def compare_runs(a: BenchmarkRun, b: BenchmarkRun) -> RunComparison:
    """Pair rows by backend and variant; rows present in one run only are listed too."""
    rows_a = {_key(r): r for r in a.results if r.status != "skipped"}
    rows_b = {_key(r): r for r in b.results if r.status != "skipped"}
    keys = list(rows_a) + [k for k in rows_b if k not in rows_a]
    rows = tuple(compare_rows(rows_a.get(k), rows_b.get(k)) for k in keys)
    order = {SLOWER: 0, FASTER: 1, SAME: 2, NOT_COMPARABLE: 3, ONLY_IN_A: 4, ONLY_IN_B: 5}
    rows = tuple(sorted(rows, key=lambda r: (order[r.verdict], r.backend)))
    a_label = f"{a.run_id} ({a.created}) on {machine_label(a.provenance)}"
    b_label = f"{b.run_id} ({b.created}) on {machine_label(b.provenance)}"
    return RunComparison(a_label, b_label, rows, tuple(comparability_notes(a, b)))


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
        "rule": f"regression when B.median > A.median * {1 + MIN_RELATIVE_CHANGE:g} and B.min > A.max",
        "notes": list(comparison.notes),
        "rows": [
            {
                "backend": r.backend, "verdict": r.verdict, "regression": r.regressed,
                "a_median_s": r.a_median_s, "b_median_s": r.b_median_s, "ratio_b_over_a": r.ratio,
                "a_wer": r.a_wer, "b_wer": r.b_wer, "wer_delta": r.wer_delta, "wer_worse": r.wer_worse, "detail": r.detail,
            }
            for r in comparison.rows
        ],
    }
