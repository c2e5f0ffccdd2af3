"""GPU benchmark: backends x models x batch sizes in dataset mode, the tuned transformers setup
against a plain default pipeline, and a check that queued GPU work is counted by the clock.

Run on an NVIDIA machine:

    python benchmarks/gpu.py --models base,large-v3-turbo,large-v3 --batch-sizes 16,64,256 --clips 1024

Models whose real weights are present (tiny.en, base) run with them and carry WER; the others
run with --synthetic-weights (their real architecture, random weights, fixed 40 tokens per clip)
and are marked "synthetic: speed only, no WER". RTFx is end to end: audio decode, log-mel,
inference and detokenize, Σ audio seconds / Σ wall seconds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from whisper_speedtest.audio import bundled_sample, dataset_entries, read_audio
from whisper_speedtest.backends.base import DecodeOptions, LoadOptions
from whisper_speedtest.bench.session import BenchmarkRequest, run_benchmark
from whisper_speedtest.models import sources
from whisper_speedtest.results import DecodeSettings, to_dict


def make_manifest(clips: int, directory: Path) -> Path:
    """``clips`` entries of the 11 s JFK sample (real speech with its reference)."""
    sample = bundled_sample()
    reference = sample.with_suffix(".txt").read_text().strip()
    manifest = directory / "dataset.jsonl"
    manifest.write_text("".join(json.dumps({"audio": str(sample), "text": reference}) + "\n" for _ in range(clips)))
    return manifest


def has_real_weights(model: str) -> bool:
    try:
        sources.locate(model, "hf")
        return True
    except Exception:
        return False


def dataset_row(model: str, backend: str, batch: int, entries, synthetic: bool, tokens: int, compile: bool = False):
    settings = DecodeSettings("en", 1, 0.0, runs=1, warmup=1, timeout_s=580)
    request = BenchmarkRequest(
        model, (backend,), (), settings,
        LoadOptions(device="cuda", batch_size=batch, synthetic_tokens=tokens if synthetic else None, compile=compile),
        dataset=tuple(entries), batch_size=batch, synthetic=synthetic,
    )
    return run_benchmark(request).results[0]


def plain_pipeline_rtfx(model_path: str, entries) -> tuple[float, float]:
    """A plain ``pipeline("automatic-speech-recognition")`` with its defaults (fp32, batch 1), on CUDA."""
    import torch
    from transformers import pipeline

    pipe = pipeline("automatic-speech-recognition", model=model_path, device="cuda")
    samples = [read_audio(entries[0].path)[0]]
    pipe(samples[0].copy())  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    audio = 0.0
    for entry in entries:
        wav = read_audio(entry.path)[0]
        audio += len(wav) / 16000
        pipe(wav.copy())
    torch.cuda.synchronize()
    wall = time.perf_counter() - start
    return audio / wall, wall


def timing_check(model: str, synthetic: bool) -> dict:
    """Queue a known delay (torch.cuda._sleep) at the end of a timed region and see the clock count it."""
    import torch

    from whisper_speedtest.backends.transformers_pipeline import TransformersBackend
    from whisper_speedtest.backends.loader import load_with_fallback, plan_variant
    from whisper_speedtest.backends.base import ModelRef
    from whisper_speedtest.backends.loader import VariantPlan
    from whisper_speedtest.bench.worker import _timed

    backend = TransformersBackend()
    if synthetic:
        ref = ModelRef(model, "hf", None, synthetic=True)
        plan = VariantPlan("default", ref, ref)
    else:
        plan = plan_variant(TransformersBackend, model, None)
    load_with_fallback(backend, plan, LoadOptions(device="cuda", batch_size=16, synthetic_tokens=40 if synthetic else None))
    audio = [read_audio(bundled_sample())[0]] * 16
    options = DecodeOptions()
    backend.transcribe_batch(audio, options)
    cycles = int(torch.cuda.get_device_properties(0).clock_rate * 1000 * 0.2)  # about 200 ms at the base clock
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    torch.cuda._sleep(cycles)
    end.record()
    torch.cuda.synchronize()
    delay = start.elapsed_time(end) / 1000
    plain = [_timed(backend, backend.transcribe_batch, audio, options)[1] for _ in range(3)]

    def delayed():
        # The delay is queued after the work, right before the timed region ends: the clock only
        # counts it if the harness synchronizes the device before reading the time.
        result = backend.transcribe_batch(audio, options)
        torch.cuda._sleep(cycles)
        return result

    with_delay = [_timed(backend, delayed)[1] for _ in range(3)]
    extra = min(with_delay) - min(plain)
    backend.close()
    return {"queued_delay_s": delay, "measured_extra_s": extra, "counted_fraction": extra / delay}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="base,tiny,large-v3-turbo,large-v3")
    parser.add_argument("--batch-sizes", default="16,64,256")
    parser.add_argument("--clips", type=int, default=1024)
    parser.add_argument("--plain-clips", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--out", default=None)
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--compile", action="store_true", help="static KV cache + torch.compile for the tuned rows")
    parser.add_argument("--skip-timing-check", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp())
    entries = dataset_entries(make_manifest(args.clips, work))
    rows, report = [], {"clips": args.clips, "clip_seconds": entries[0].duration_s}
    print(f"dataset: {len(entries)} x {entries[0].duration_s:.1f} s of real speech (JFK sample)\n")
    print(f"{'backend':<14}{'model':<16}{'weights':<11}{'batch':>6}{'RTFx':>10}{'WER':>8}{'VRAM MB':>10}{'wall s':>9}{'decode s':>10}{'infer s':>9}")
    for model in args.models.split(","):
        synthetic = not has_real_weights(model)
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            row = dataset_row(model, "transformers", batch, entries, synthetic, args.tokens, args.compile)
            record = {"model": model, "batch": batch, "synthetic": synthetic, "status": row.status, "reason": row.reason}
            if row.ok:
                d = row.dataset
                record.update(rtfx=d.rtfx, wer=row.score.wer if row.score else None, vram_mb=row.peak_vram_mb,
                              wall_s=d.wall_s, decode_s=d.decode_s, inference_s=d.inference_s, params=row.params)
                wer = f"{row.score.wer:.3f}" if row.score else "–"
                print(f"{'transformers':<14}{model:<16}{'synthetic' if synthetic else 'real':<11}{batch:>6}{d.rtfx:>10.0f}{wer:>8}"
                      f"{(row.peak_vram_mb or 0):>10.0f}{d.wall_s:>9.2f}{d.decode_s:>10.2f}{d.inference_s:>9.2f}", flush=True)
            else:
                print(f"{'transformers':<14}{model:<16}{'synthetic' if synthetic else 'real':<11}{batch:>6}  {row.status}: {row.reason}", flush=True)
            rows.append(record)
    report["rows"] = rows
    real = next((m for m in args.models.split(",") if has_real_weights(m)), None)
    if real and not args.skip_plain:
        subset = entries[: args.plain_clips]
        tuned = dataset_row(real, "transformers", len(subset), subset, False, args.tokens)
        plain, plain_wall = plain_pipeline_rtfx(sources.locate(real, "hf").path, subset)
        ratio = tuned.dataset.rtfx / plain
        report["tuned_vs_plain"] = {"model": real, "clips": len(subset), "tuned_rtfx": tuned.dataset.rtfx,
                                    "plain_rtfx": plain, "ratio": ratio}
        print(f"\ntuned transformers vs plain pipeline defaults, {real}, same {len(subset)} clips: "
              f"RTFx {tuned.dataset.rtfx:.0f} vs {plain:.0f} -> {ratio:.1f}x (goal >= 20x)")
    if args.skip_timing_check:
        print_report(report, args.out)
        return
    check = timing_check(real or "tiny", synthetic=real is None)
    report["timing_check"] = check
    print(f"\nCUDA timing check: queued {check['queued_delay_s'] * 1000:.1f} ms of GPU sleep, the harness clock counted "
          f"{check['measured_extra_s'] * 1000:.1f} ms more ({check['counted_fraction'] * 100:.0f}%)")
    print_report(report, args.out)


def print_report(report: dict, out: str | None) -> None:
    if out:
        Path(out).write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
