"""Flattening results into display rows shared by the table, CSV and Markdown writers."""

from __future__ import annotations

from typing import Any

from ..models.weights_mode import WeightsMode
from ..results import BackendResult, BenchmarkRun
from .labels import result_label


def median_cell(row: dict[str, str], *, with_count: bool = False) -> str:
    """The median with its spread (and count); a single timed pass has no spread to show."""
    count = f" ×{row['n']}" if with_count else ""
    if row["n"] == "1":
        return f"{row['median_s']}{count}"
    return f"{row['median_s']} ± {row['stdev_s']}{count}"


SWEEP_ORDER = ("default", WeightsMode.NATIVE.value, "float32", "float16", "bfloat16", "int8", "int4")  # widest weights first


def sort_results(results: tuple[BackendResult, ...] | list[BackendResult]) -> list[BackendResult]:
    """Successful rows, fastest backend first (by its fastest row), a backend's sweep rows together in
    the order float16, int8, int4; then the failed and skipped ones."""
    fastest: dict[str, float] = {}
    for r in results:
        if r.ok and r.transcribe:
            fastest[r.backend] = min(fastest.get(r.backend, r.transcribe.median), r.transcribe.median)

    def key(r: BackendResult):
        variant = SWEEP_ORDER.index(r.variant) if r.variant in SWEEP_ORDER else len(SWEEP_ORDER)
        return (not r.ok, fastest.get(r.backend, 0.0) if r.ok else 0.0, r.backend, variant, r.transcribe.median if r.transcribe else 0.0)

    return sorted(results, key=key)


def format_params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items() if v is not None)


_SHORT_DTYPE = {"float16": "f16", "float32": "f32", "bfloat16": "bf16"}


def computed_dtype(result: BackendResult) -> str:
    """What the library computes with (ctranslate2's compute type, torch's dtype, MLX's bits), where it
    differs from the stored weights' dtype; "" when they agree or the backend did not say."""
    actual = result.actual_variant or ""
    stored = result.model.dtype if result.model else ""
    if not actual or actual in ("default", stored, _SHORT_DTYPE.get(stored, stored)):
        return ""
    return actual


def model_label(result: BackendResult) -> str:
    """``name format/stored-dtype``, then ``→computed`` when the library computes in another dtype, then
    the requested variant: ``tiny.en ct2/f16→int8_float32 [int8]``."""
    if result.model is None:
        return ""
    m = result.model
    label = f"{m.name} {m.format}/{_SHORT_DTYPE.get(m.dtype, m.dtype)}"
    if computed := computed_dtype(result):
        label += f"→{computed}"
    if result.variant != "default":
        label += f" [{result.variant}]"
    if m.family != "whisper":
        label += f" [{m.family}]"
    if m.synthetic:
        label += " [synthetic: speed only, no WER]"
    return label


def preview(text: str, width: int = 60) -> str:
    """The start of ``text`` up to ``width`` characters, cut between words (never inside one)."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    head = text[: width - 1]
    if text[width - 1] != " " and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip() + "…"


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def wer_deltas(results) -> dict[int, float]:
    """WER minus the WER of the same backend's float16 row, by ``id(result)``, where both exist."""
    baseline = {r.backend: r.score.wer for r in results if r.ok and r.variant == "float16" and r.score}
    return {
        id(r): r.score.wer - baseline[r.backend]
        for r in results
        if r.ok and r.score and r.backend in baseline and r.variant not in ("float16", "default")
    }


def fallback_note(result: BackendResult) -> str:
    """What a fallback row loaded instead, named as the backend reported it (never assumed float16)."""
    loaded = result.actual_variant or "the backend's default"
    return f"fell back to {loaded}: {result.fallback_reason}"


NOT_AVAILABLE = "n/a"
COST_COLUMNS = ("cpu_s_per_audio_h", "energy_wh_per_audio_h", "energy_domains", "energy_unread", "cost_per_audio_h", "load_cpu_s", "load_energy_j")


def _scaled(value: float | None) -> str:
    """A cost figure with about three significant digits."""
    if value is None:
        return NOT_AVAILABLE
    return f"{value:.{2 if abs(value) < 10 else 1 if abs(value) < 100 else 0}f}"


def unread_energy(result: BackendResult) -> str:
    """Why a successful row has no energy figure for some domain ("" when every domain was read)."""
    if not result.ok:
        return ""
    if result.cost is None:
        if result.dataset is not None and result.dataset.driver != "in process":
            return "not measured on Ray (the cost meter follows one process)"
        return "not measured (written before schema 1.1)"
    return "; ".join(f"{e.domain}: {e.reason}" for e in result.cost.unread)


def cost_cells(result: BackendResult, price_per_hour: float | None = None) -> dict[str, str]:
    """The cost columns of one row: per audio hour over the timed runs, and the load's cost apart."""
    cost, load = result.cost, result.load_cost
    if not result.ok:
        return dict.fromkeys(COST_COLUMNS, "")
    return {
        "cpu_s_per_audio_h": _scaled(cost.cpu_s_per_audio_hour if cost else None),
        "energy_wh_per_audio_h": _scaled(cost.wh_per_audio_hour if cost else None),
        "energy_domains": "+".join(cost.energy_domains) if cost else "",
        "energy_unread": unread_energy(result),
        "cost_per_audio_h": "" if price_per_hour is None else _scaled(cost.price_per_audio_hour(price_per_hour) if cost else None),
        "load_cpu_s": _scaled(load.cpu_s if load else None),
        "load_energy_j": _scaled(load.energy_j if load else None),
    }



def cost_notes(run: BenchmarkRun) -> list[str]:
    """One line per distinct reason an energy figure is missing, naming the rows when not all share it."""
    reasons: dict[str, list[str]] = {}
    ok = [r for r in run.results if r.ok]
    for result in ok:
        if why := unread_energy(result):
            reasons.setdefault(why, []).append(result.display_name)
    lines = [f"Energy not read{'' if len(names) == len(ok) else ' for ' + ', '.join(names)}: {why}" for why, names in reasons.items()]
    if ok:
        energy_read = any(r.cost is not None and r.cost.wh_per_audio_hour is not None for r in ok)
        lines.append(
            "Cost per hour of audio, over the timed runs only (warm-ups and load left out): CPU-s/h = CPU-seconds of the backend process"
            + (", Wh/h = energy" if energy_read else "")
            + (f", Cost/h = machine time at {run.price_per_hour:g} per hour" if run.price_per_hour else "")
            + ("; energy counters cover the whole package or GPU, every process on the machine." if energy_read else ".")
        )
    return lines


def interval_cell(interval, digits: int) -> str:
    """A 95 % interval as "low–high" ("" when there is none)."""
    return "" if interval is None else f"{interval.low:.{digits}f}–{interval.high:.{digits}f}"


def interval_cells(result: BackendResult) -> dict[str, str]:
    """The row's 95 % intervals (schema 1.4; empty for older files and rows with too few samples)."""
    i = result.intervals
    return {
        "median_ci_s": interval_cell(i.median_s if i else None, 3),
        "rtfx_ci": interval_cell(i.rtfx if i else None, 1),
        "wer_ci": interval_cell(i.wer if i else None, 3),
        "warnings": "; ".join(result.warnings),
    }


def interval_notes(results) -> list[str]:
    """One line per row with intervals: what ``-v`` prints under the terminal table."""
    lines = []
    for r in results:
        cells = interval_cells(r) if r.ok else {}
        parts = [f"{name} {cells[key]}" for name, key in (("median s", "median_ci_s"), ("RTFx", "rtfx_ci"), ("WER", "wer_ci")) if cells.get(key)]
        if parts:
            method = r.intervals.median_s.method if r.intervals.median_s else r.intervals.wer.method if r.intervals.wer else ""
            lines.append(f"{result_label(r)}: 95 % intervals: {', '.join(parts)} ({method})")
    return lines


def warning_notes(results) -> list[str]:
    """hyperfine's warnings (outliers, high spread, a busy machine), one line per row and warning."""
    return [f"{result_label(r)}: {w}" for r in results if r.ok for w in r.warnings]


def flat_row(
    result: BackendResult, preview_width: int | None = 60, wer_delta: float | None = None, price_per_hour: float | None = None
) -> dict[str, str]:
    """One row of strings; failed rows carry their status and reason."""
    t = result.transcribe
    text = result.text if preview_width is None else preview(result.text, preview_width)
    fallback = " (fallback)" if result.did_fallback else ""
    reason = result.reason or (fallback_note(result) if result.did_fallback else "")
    return {
        "backend": result.display_name,
        "status": result.status,
        "model": model_label(result) + fallback,
        "fingerprint": (result.model.fingerprint or "")[:12] if result.model else "",
        "load_s": _num(result.load_s, 2),
        "warm_load_s": _num(result.warm_load_s, 2),
        "median_s": _num(t.median if t else None, 3),
        "stdev_s": _num(t.stdev if t else None, 3),
        "min_s": _num(t.min if t else None, 3),
        "max_s": _num(t.max if t else None, 3),
        "n": str(t.n) if t else "",
        "rtfx": _num(result.rtfx, 1),
        "wer": _num(result.score.wer if result.score else None, 3),
        "wer_delta": "" if wer_delta is None else f"{wer_delta:+.3f}",
        "cer": _num(result.score.cer if result.score else None, 3),
        "peak_rss_mb": _num(result.peak_rss_mb, 0),
        "peak_vram_mb": _num(result.peak_vram_mb, 0),
        "params": format_params(result.params),
        "variant": result.variant,
        "actual_variant": result.actual_variant,
        "did_fallback": str(result.did_fallback).lower(),
        "reason": reason,
        "transcript": text,
        "dataset_audio_decode_s": _num(result.dataset.decode_s if result.dataset else None, 3),
        "dataset_inference_s": _num(result.dataset.inference_s if result.dataset else None, 3),
        "dataset_model_rtfx": _num(result.dataset.model_rtfx if result.dataset else None, 1),
        "dataset_failed_clips": str(len(result.dataset.failed)) if result.dataset else "",
        **cost_cells(result, price_per_hour),
        **interval_cells(result),
    }


def decode_notes(results) -> list[str]:
    """Rows whose library, called alone, would decode with another beam size than the one shared here."""
    notes = []
    for r in results:
        default = r.params.get("library_default_beam_size") if r.ok else None
        if default is not None and default != r.params.get("beam_size"):
            notes.append(
                f"{r.display_name}: beam {r.params.get('beam_size')}, the same for every row; called alone with its "
                f"defaults it decodes with beam {default} (run --beam-size {default} to compare at that setting)."
            )
    return notes


QUANT_DRIFT_LIMIT = 0.02  # the fast-loading design's check: a variant may differ from float16 by 2% WER


def quant_drift(results) -> dict[int, float]:
    """WER of each quantized row's transcripts against the same backend's float16 transcripts (not the
    reference), by ``id(result)``, where both rows succeeded."""
    from ..bench.scoring import score_many

    float16 = {r.backend: r for r in results if r.ok and r.variant == "float16" and r.clips}
    drift = {}
    for r in results:
        base = float16.get(r.backend)
        if not r.ok or base is None or r.variant in ("float16", "default", WeightsMode.NATIVE.value) or len(r.clips) != len(base.clips):
            continue
        pairs = [(b.text, c.text) for b, c in zip(base.clips, r.clips, strict=True) if b.text.strip()]
        if pairs:
            drift[id(r)] = score_many([b for b, _ in pairs], [c for _, c in pairs]).wer
    return drift


def quant_drift_notes(results) -> list[str]:
    """One line per quantized row whose transcript differs from its float16 transcript by more than 2% WER."""
    drift = quant_drift(results)
    return [
        f"{r.display_name} {r.variant}: its transcript differs from the float16 transcript by {drift[id(r)]:.1%} WER "
        f"(over {QUANT_DRIFT_LIMIT:.0%}): the variant changes what is said, not only the speed."
        for r in results
        if id(r) in drift and drift[id(r)] > QUANT_DRIFT_LIMIT
    ]


def runs_notes(results) -> list[str]:
    """Rows the run budget gave fewer timed runs than the minimum, and why."""
    return [f"{r.display_name}: {r.runs_note}" for r in results if r.ok and r.runs_note]


def dataset_split(result: BackendResult) -> str:
    """Where a dataset pass's wall time went, in one line ("" for per-clip rows)."""
    d = result.dataset
    if d is None or not result.ok:
        return ""
    model_only = f"model-only RTFx {d.model_rtfx:.0f} · " if d.model_rtfx else ""
    order = f" · batched {d.order}" if d.order else ""
    failed = f" · {len(d.failed)} failed clip(s), left out of RTFx and WER (first: {d.failed[0].name}: {d.failed[0].reason})" if d.failed else ""
    if d.driver != "in process":
        startup = f"start and load {d.startup_s:.1f} s, not counted · " if d.startup_s is not None else ""
        return (
            f"{d.clips} clips in {d.wall_s:.2f} s wall (end-to-end RTFx {d.rtfx:.0f}) · {d.driver} · {startup}"
            f"decode stage {d.decode_s:.2f} CPU-s · model stage {d.inference_s:.2f} actor-s ({model_only}log-mel, model, detokenize) · "
            f"{d.mode}{order}{failed}"
        )
    return (
        f"{d.clips} clips in {d.wall_s:.2f} s wall (end-to-end RTFx {d.rtfx:.0f}) · {model_only}"
        f"load {result.load_s:.2f} s, not counted · audio decode {d.decode_s:.2f} s, overlapped one batch ahead · "
        f"inference {d.inference_s:.2f} s (log-mel, model, detokenize) · {d.mode}{order}{failed}"
    )


def flat_rows(run: BenchmarkRun, preview_width: int | None = 60) -> list[dict[str, str]]:
    deltas = wer_deltas(run.results)
    return [flat_row(r, preview_width, deltas.get(id(r)), run.price_per_hour) for r in sort_results(run.results)]


def settings_line(run: BenchmarkRun) -> str:
    s = run.settings
    audio = sum(c.duration_s for c in run.clips)
    datasets = [r.dataset for r in run.results if r.dataset]
    if datasets:
        source = f" of {datasets[0].source} ({datasets[0].sample})" if datasets[0].source else ""
        return (
            f"dataset: {datasets[0].clips} clips{source}, {audio:.1f} s audio, batch {datasets[0].batch_size}, one end-to-end pass "
            f"(decode + log-mel + inference + detokenize) · language={s.language or 'auto'} beam={s.beam_size}"
        )
    return (
        f"{len(run.clips)} clip(s), {audio:.1f} s audio · language={s.language or 'auto'} beam={s.beam_size} "
        f"temperature={s.temperature:g} previous-text={'on' if s.condition_on_previous_text else 'off'} · {s.runs_described()}"
    )


def weights_notes(results) -> list[tuple[str, str]]:
    """(level, message) lines about whether the successful rows ran identical weights.

    A row's fingerprint is that of the files it loaded (store entries are checked against their
    manifest before loading), so "identical" is said only when those agree.
    """
    ok = [r for r in results if r.ok and r.model]
    whisper_rows = [r for r in ok if r.model.family == "whisper" and not r.model.synthetic]
    own = [r.display_name for r in ok if r.model.family != "whisper"]
    fingerprints = {r.model.fingerprint for r in whisper_rows if r.model.fingerprint}
    unverified = [r.display_name for r in whisper_rows if not r.model.fingerprint]
    synthetic = [r.display_name for r in ok if r.model.synthetic]
    notes = []
    if synthetic:
        notes.append(("warn", f"Synthetic weights (random, real architecture) for {', '.join(synthetic)}: speed only, no WER."))
    if own:
        notes.append(("warn", f"Not Whisper: {', '.join(own)} ran their own model family; compare their speed, not their weights."))
    if unverified:
        notes.append(("warn", f"No fingerprint for {', '.join(unverified)}: their weights could not be compared."))
    if len(fingerprints) == 1 and not unverified:
        notes.append(("ok", f"All successful Whisper backends ran identical weights (fingerprint {next(iter(fingerprints))[:16]})."))
    elif len(fingerprints) > 1:
        groups = {}
        for r in whisper_rows:
            if r.model.fingerprint:
                label = r.display_name + (f"@{r.variant}" if r.variant != "default" else "")
                groups.setdefault((r.model.fingerprint, r.model.dtype), []).append(label)
        listed = "; ".join(f"{dtype} {fp[:12]}: {', '.join(names)}" for (fp, dtype), names in groups.items())
        notes.append(("warn", f"Backends ran different weights ({listed}): compare the fingerprints in the JSON output."))
    return notes
