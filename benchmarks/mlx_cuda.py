"""The MLX backends on an NVIDIA GPU (the ``mlx-cuda`` extra): float16 vs int8 vs int4 on real kernels.

Run on Linux with an NVIDIA GPU and ``pip install 'whisper-speedtest[mlx-cuda]'``:

    python benchmarks/mlx_cuda.py --varied ../shared/audio/varied/manifest.jsonl --models tiny.en,base

Per model, backend and variant (float16, int8, int4):

- one dataset row through the tool's own driver (``run_benchmark``, a fresh child process each): the
  cold load (imports included), end-to-end RTFx over the whole set (the first batch, the longest
  clips, is an untimed warm-up), peak RSS and peak GPU memory (NVML's or MLX's own, the larger),
  WER against the references, the device MLX itself reports (``mlx/gpu``), the variant actually
  loaded and any fallback with its reason;
- the loads of ``benchmarks/loading.py`` (weights evicted from the page cache before each, imports
  warm, rounds in rotating order) and one warm load (a second load in the same process, page cache
  hot): the load-time ratios of the fast-loading design (goal: >= 2.4x for the smallest variant);
- the WER change against the float16 row of the same backend: the difference of WER against the
  references, and the WER of the variant's transcripts against float16's (goal: within 0.02).

Store entries (the MLX and openai conversions of the CTranslate2 weights and the quantized
variants) are made before anything is timed. The last lines are a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loading import GOAL_RATIO, QUANTS, WER_TOLERANCE, variant_loads  # noqa: E402  (the sibling script)

from whisper_speedtest import load  # noqa: E402
from whisper_speedtest.audio import bundled_sample, load_clip  # noqa: E402
from whisper_speedtest.backends import get_backend  # noqa: E402
from whisper_speedtest.backends.base import LoadOptions  # noqa: E402
from whisper_speedtest.backends.loader import plan_variant  # noqa: E402
from whisper_speedtest.bench.scoring import score_many  # noqa: E402
from whisper_speedtest.bench.session import BenchmarkRequest, run_benchmark  # noqa: E402
from whisper_speedtest.dataset.reading import select  # noqa: E402
from whisper_speedtest.dataset.spec import parse_spec  # noqa: E402
from whisper_speedtest.results import DecodeSettings  # noqa: E402

BACKENDS = ("mlx-whisper", "whisper-mps", "lightning-whisper-mlx")


def prepare(backends, model: str) -> dict:
    """Make every store entry the rows will load (conversions, quantized variants), untimed for the rows."""
    made = {}
    for name in backends:
        cls = get_backend(name)
        for q in QUANTS:
            start = time.perf_counter()
            plan = plan_variant(cls, model, q)
            made[f"{name}/{q}"] = {"s": round(time.perf_counter() - start, 2), "path": plan.model.path if plan.model else None,
                                   "missing": plan.unavailable_reason}
    return made


def dataset_rows(backends, model: str, selection, batch: int, timeout_s: float) -> list:
    settings = DecodeSettings("en", 1, 0.0, runs=1, warmup=1, timeout_s=timeout_s)
    request = BenchmarkRequest.named(
        model, tuple(backends), settings, LoadOptions(batch_size=batch),
        quantizations=QUANTS, dataset=selection, batch_size=batch,
    )
    return list(run_benchmark(request).results)


def warm_load(name: str, model: str, quantization: str) -> float:
    """A second load in the same process, right after a first one (page cache hot, imports warm)."""
    load(name, model, quantization=quantization).close()
    session = load(name, model, quantization=quantization)
    seconds = session.load_result.seconds
    session.close()
    return seconds


def describe(row) -> dict:
    record = {"backend": row.backend, "variant": row.variant, "status": row.status, "reason": row.reason}
    if not row.ok:
        return record
    d = row.dataset
    record.update(
        actual=row.actual_variant, did_fallback=row.did_fallback, fallback_reason=row.fallback_reason,
        cold_load_s=row.load_s, rtfx=d.rtfx, model_rtfx=d.model_rtfx, wall_s=d.wall_s, clips=d.clips,
        wer=row.score.wer if row.score else None, peak_rss_mb=row.peak_rss_mb, peak_vram_mb=row.peak_vram_mb,
        params=row.params, texts=list(d.transcripts),
    )
    return record


def compare_to_float16(records: list) -> None:
    """Each variant's WER change against the float16 row of the same backend."""
    base = {r["backend"]: r for r in records if r["variant"] == "float16" and r["status"] == "ok"}
    for r in records:
        f16 = base.get(r["backend"])
        if r["status"] != "ok" or f16 is None:
            continue
        r["delta_wer"] = None if r["wer"] is None or f16["wer"] is None else r["wer"] - f16["wer"]
        vs = score_many(f16["texts"], r["texts"])
        r["wer_vs_float16"] = vs.wer if vs else None
        r["same_as_float16"] = sum(a == b for a, b in zip(r["texts"], f16["texts"]))


def print_table(model: str, records: list, loads: dict) -> None:
    print(f"\n### {model}\n")
    print("| backend | variant | actual (fallback) | device | quantized layers | cold load s | load s, evicted (median) "
          "| warm load s | RTFx | peak RSS MB | peak GPU MB | WER | ΔWER vs float16 | WER vs float16 text | = float16 |")
    print("|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in records:
        if r["status"] != "ok":
            print(f"| {r['backend']} | {r['variant']} | {r['status']}: {r['reason']} |" + " |" * 12)
            continue
        p = r["params"]
        fell = f" (fell back: {r['fallback_reason']})" if r["did_fallback"] else ""
        layers = f"{p.get('quantized_layers', 0)} × int{'/'.join(map(str, p.get('quantized_bits', [])))}" if p.get("quantized_layers") else "0"
        lr = loads.get(r["backend"], {})
        evicted = lr.get("seconds", {}).get(r["variant"])
        ev = f"{statistics.median(evicted):.3f}" if evicted else "–"
        warm = lr.get("warm", {}).get(r["variant"])
        gpu = p.get("mlx_gpu", "")
        delta = r.get("delta_wer")
        vs = r.get("wer_vs_float16")
        print(f"| {r['backend']} | {r['variant']} | {r['actual']}{fell} | {p.get('device')} {gpu} | {layers} | "
              f"{r['cold_load_s']:.2f} | {ev} | {'–' if warm is None else f'{warm:.3f}'} | {r['rtfx']:.1f} | "
              f"{r['peak_rss_mb'] or 0:.0f} | {r['peak_vram_mb'] or 0:.0f} | {r['wer']:.4f} | "
              f"{'–' if delta is None else f'{delta:+.4f}'} | {'–' if vs is None else f'{vs:.4f}'} | "
              f"{r['same_as_float16']}/{r['clips']} |")


def design_checks(model: str, records: list, loads: dict) -> list[str]:
    """The fast-loading design's two claims, per backend: smallest variant loads >= 2.4x faster, WER within 0.02."""
    lines = []
    for name, lr in loads.items():
        seconds = lr.get("seconds", {})
        if "float16" not in seconds:
            continue
        f16 = statistics.median(seconds["float16"])
        for q in ("int8", "int4"):
            row = next((r for r in records if r["backend"] == name and r["variant"] == q and r["status"] == "ok"), None)
            if row is None or q not in seconds or row["did_fallback"]:
                lines.append(f"{model} {name} {q}: not checked (no real {q} row)")
                continue
            ratio = f16 / statistics.median(seconds[q])
            warm = lr.get("warm", {})
            warm_ratio = warm["float16"] / warm[q] if warm.get(q) and warm.get("float16") else None
            f16_row = next(r for r in records if r["backend"] == name and r["variant"] == "float16")
            cold_ratio = f16_row["cold_load_s"] / row["cold_load_s"]
            delta = row.get("delta_wer")
            wer_ok = delta is not None and delta <= WER_TOLERANCE
            lines.append(
                f"{model} {name} {q}: load float16/{q} {ratio:.2f}x evicted, "
                f"{'–' if warm_ratio is None else f'{warm_ratio:.2f}x'} warm, {cold_ratio:.2f}x cold process "
                f"(goal >= {GOAL_RATIO}x: {'holds' if ratio >= GOAL_RATIO else 'does not hold'}); "
                f"ΔWER {delta:+.4f} (within {WER_TOLERANCE}: {'holds' if wer_ok else 'does not hold'}), "
                f"WER vs float16 text {row.get('wer_vs_float16', float('nan')):.4f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--varied", default=str(Path(__file__).resolve().parents[1].parent / "shared/audio/varied/manifest.jsonl"))
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--batch", type=int, default=8, help="dataset batch (the first batch is the warm-up)")
    parser.add_argument("--rounds", type=int, default=2, help="evicted loads per variant (benchmarks/loading.py)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per row")
    parser.add_argument("--out", default=None, help="write every figure and transcript as JSON here")
    args = parser.parse_args()

    selection = select(parse_spec(args.varied))
    audio_h = sum(e.duration_s for e in selection.entries) / 3600
    backends = [b for b in args.backends.split(",") if get_backend(b).available().ok]
    skipped = {b: get_backend(b).available().reason for b in args.backends.split(",") if b not in backends}
    print(f"dataset: {len(selection.entries)} clips ({audio_h * 60:.1f} min); backends {backends}; skipped {skipped}", flush=True)
    sample = load_clip(bundled_sample())
    report: dict = {"clips": len(selection.entries), "audio_h": audio_h, "skipped": skipped, "models": {}}
    for model in args.models.split(","):
        made = prepare(backends, model)
        print(f"{model}: store entries ready: {json.dumps(made)}", flush=True)
        records = [describe(row) for row in dataset_rows(backends, model, selection, args.batch, args.timeout)]
        compare_to_float16(records)
        report["models"][model] = {"store": made, "rows": records}
        print_table(model, records, {})
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=2, default=str))
        loads = {}
        for name in backends:
            try:
                row = variant_loads(name, model, sample.samples, sample.reference, args.rounds)
            except Exception as exc:  # a variant that loads but cannot transcribe: the rows above say so
                print(f"{model} {name}: load timing stopped: {' '.join(str(exc).split())[:300]}", flush=True)
                loads[name] = {"error": str(exc)[:300]}
                continue
            loads[name] = {"seconds": row.get("seconds", {}),
                           "actual": {q: r.actual for q, r in row.get("results", {}).items()},
                           "fallback": {q: r.fallback_reason for q, r in row.get("results", {}).items() if r.did_fallback},
                           "warm": {q: warm_load(name, model, q) for q in row.get("seconds", {})}}
        checks = design_checks(model, records, loads)
        report["models"][model] = {"store": made, "rows": records, "loads": loads, "checks": checks}
        print_table(model, records, loads)
        print()
        for line in checks:
            print(f"- {line}")
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
