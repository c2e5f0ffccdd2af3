"""GPU benchmark: backends x models x batch sizes in dataset mode, the tuned transformers setup
against a plain default pipeline, and a check that queued GPU work is counted by the clock.

Run on an NVIDIA machine:

    python benchmarks/gpu.py --models base,large-v3-turbo,large-v3 --batch-sizes 16,64,256 --clips 1024
    python benchmarks/gpu.py --backends transformers,openai-whisper --models base --generate-batches 256

transformers decodes with its CUDA-graph decoder (static KV cache); --generate-batches adds rows
with plain batched generate() at those batch sizes, in the same run, for comparison. A per-stage
profile (log-mel, encoder, decoder steps, detokenize) follows the table unless --skip-stages.

Models whose real weights are present (tiny.en, base) run with them and carry WER; the others
run with --synthetic-weights (their real architecture, random weights, fixed 40 tokens per clip)
and are marked "synthetic: speed only, no WER". RTFx is end to end: audio decode, log-mel,
inference and detokenize, Σ audio seconds / Σ wall seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from whisper_speedtest.audio import bundled_sample, dataset_entries, read_audio
from whisper_speedtest.backends import get_backend
from whisper_speedtest.backends.base import DecodeOptions, LoadOptions
from whisper_speedtest.bench.session import BenchmarkRequest, run_benchmark
from whisper_speedtest.models import sources
from whisper_speedtest.results import DecodeSettings


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


def dataset_row(model: str, backend: str, batch: int, entries, synthetic: bool, tokens: int, graphs: bool = True):
    settings = DecodeSettings("en", 1, 0.0, runs=1, warmup=1, timeout_s=580)
    request = BenchmarkRequest(
        model, (backend,), (), settings,
        LoadOptions(device="cuda", batch_size=batch, synthetic_tokens=tokens if synthetic else None, cuda_graphs=graphs),
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


def timing_check(backend_name: str, model: str, synthetic: bool) -> dict:
    """Queue a known delay (torch.cuda._sleep) at the end of a timed region and see the clock count it."""
    import torch

    from whisper_speedtest.bench.worker import _timed

    backend = _loaded_backend(model, synthetic, 16, 40, backend_name)
    audio = [read_audio(bundled_sample())[0]] * (16 if backend.batch_mode != "sequential" else 2)
    options = DecodeOptions()
    backend.transcribe_batch(audio, options)
    cycles = int(torch.cuda.get_device_properties(0).clock_rate * 1000 * 1.0)  # about 1 s at the base clock
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    torch.cuda._sleep(cycles)
    end.record()
    torch.cuda.synchronize()
    delay = start.elapsed_time(end) / 1000
    repeats = 5
    plain = [_timed(backend, backend.transcribe_batch, audio, options)[1] for _ in range(repeats)]

    def delayed():
        # The delay is queued after the work, right before the timed region ends: the clock only
        # counts it if the harness synchronizes the device before reading the time.
        result = backend.transcribe_batch(audio, options)
        torch.cuda._sleep(cycles)
        return result

    with_delay = [_timed(backend, delayed)[1] for _ in range(repeats)]
    extra = statistics.median(with_delay) - statistics.median(plain)
    backend.close()
    return {"queued_delay_s": delay, "measured_extra_s": extra, "counted_fraction": extra / delay}


def print_row(backend: str, model: str, batch: int, synthetic: bool, graphs: bool, batched: bool, entries, tokens: int) -> dict:
    row = dataset_row(model, backend, batch, entries, synthetic, tokens, graphs)
    decoder = ("cuda-graphs" if graphs else "generate") if backend == "transformers" else ("batched" if batched else "sequential")
    record = {"backend": backend, "model": model, "batch": batch, "synthetic": synthetic, "status": row.status,
              "reason": row.reason, "decoder": decoder}
    lead = f"{backend:<15}{decoder:<13}{model:<16}{'synthetic' if synthetic else 'real':<11}{batch:>6}"
    if row.ok:
        d = row.dataset
        record.update(rtfx=d.rtfx, wer=row.score.wer if row.score else None, vram_mb=row.peak_vram_mb,
                      wall_s=d.wall_s, decode_s=d.decode_s, inference_s=d.inference_s, params=row.params)
        wer = f"{row.score.wer:.3f}" if row.score else "–"
        print(f"{lead}{d.rtfx:>10.0f}{wer:>8}{(row.peak_vram_mb or 0):>10.0f}{d.wall_s:>9.2f}{d.decode_s:>10.2f}"
              f"{d.inference_s:>9.2f}", flush=True)
    else:
        print(f"{lead}  {row.status}: {row.reason}", flush=True)
    return record


def stage_profile(model: str, synthetic: bool, batch: int, tokens: int) -> dict:
    """Where one batch's time goes with the CUDA-graph decoder: log-mel, encoder, decoder steps, detokenize."""
    import torch

    from whisper_speedtest.backends.transformers.log_mel import log_mel_batch

    backend = _loaded_backend(model, synthetic, batch, tokens)
    options = DecodeOptions()
    audio = [read_audio(bundled_sample())[0]] * batch
    backend.transcribe_batch(audio, options)  # warm-up: captures the graphs
    decoder, pipe = backend._graph_decoder(options), backend._pipe
    marks = {}

    def mark(name, started):
        torch.cuda.synchronize()
        marks[name] = time.perf_counter() - started
        return time.perf_counter()

    with torch.inference_mode():
        t = time.perf_counter()
        features = log_mel_batch(audio, pipe.feature_extractor, pipe.model.device, pipe.model.dtype)
        t = mark("log_mel_s", t)
        state = decoder.encode(features)
        t = mark("encoder_and_cross_kv_s", t)
        ids = decoder.run_decoder(state)
        t = mark("decoder_steps_s", t)
        pipe.tokenizer.batch_decode(ids, skip_special_tokens=True)
        mark("detokenize_s", t)
    marks.update(batch=batch, steps=ids.shape[1], model=model, audio_s=batch * len(audio[0]) / 16000)
    backend.close()
    return marks


def _loaded_backend(model: str, synthetic: bool, batch: int, tokens: int, name: str = "transformers"):
    from whisper_speedtest.backends.base import ModelRef
    from whisper_speedtest.backends.loader import VariantPlan, load_with_fallback, plan_variant

    backend_class = get_backend(name)
    backend = backend_class()
    if synthetic:
        ref = ModelRef(model, backend_class.model_format, None, synthetic=True)
        plan = VariantPlan("default", ref, ref)
    else:
        plan = plan_variant(backend_class, model, None)
    load_with_fallback(backend, plan, LoadOptions(device="cuda", batch_size=batch,
                                                  synthetic_tokens=tokens if synthetic else None))
    return backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="base,tiny,large-v3-turbo,large-v3")
    parser.add_argument("--backends", default="transformers",
                        help="comma list; backends without batching run clip after clip (one row per model)")
    parser.add_argument("--batch-sizes", default="16,64,256")
    parser.add_argument("--clips", type=int, default=1024)
    parser.add_argument("--plain-clips", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--out", default=None)
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument("--generate-batches", default="",
                        help="batch sizes to also run with transformers generate() instead of the CUDA-graph decoder")
    parser.add_argument("--skip-stages", action="store_true")
    parser.add_argument("--skip-timing-check", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp())
    entries = dataset_entries(make_manifest(args.clips, work))
    rows, report = [], {"clips": args.clips, "clip_seconds": entries[0].duration_s}
    print(f"dataset: {len(entries)} x {entries[0].duration_s:.1f} s of real speech (JFK sample)\n")
    print(f"{'backend':<15}{'decoder':<13}{'model':<16}{'weights':<11}{'batch':>6}{'RTFx':>10}{'WER':>8}{'VRAM MB':>10}{'wall s':>9}{'decode s':>10}{'infer s':>9}")
    plain_generate = {int(b) for b in args.generate_batches.split(",") if b}
    for backend in args.backends.split(","):
        batched = get_backend(backend).batch_mode != "sequential"
        for model in args.models.split(","):
            synthetic = not has_real_weights(model)
            if synthetic and not get_backend(backend).supports_synthetic:
                print(f"{backend:<15}{model:<16}skipped: no real weights here and no synthetic mode")
                continue
            sizes = [int(b) for b in args.batch_sizes.split(",")]
            runs = [(b, True) for b in sizes] if batched else [(sizes[0], True)]
            if backend == "transformers":
                runs += [(b, False) for b in sorted(plain_generate)]
            for batch, graphs in runs:
                rows.append(print_row(backend, model, batch, synthetic, graphs, batched, entries, args.tokens))
    report["rows"] = rows
    for batch in sorted(plain_generate):
        for model in args.models.split(","):
            pair = {r["decoder"]: r.get("rtfx") for r in rows
                    if r["backend"] == "transformers" and r["model"] == model and r["batch"] == batch}
            if pair.get("cuda-graphs") and pair.get("generate"):
                print(f"CUDA-graph decoder vs generate(), {model}, batch {batch}, same run: "
                      f"{pair['cuda-graphs'] / pair['generate']:.2f}x")
    if not args.skip_stages:
        stages = []
        print("\nwhere one batch's time goes (CUDA-graph decoder, seconds):")
        for model in args.models.split(","):
            for batch in (int(b) for b in args.batch_sizes.split(",")):
                try:
                    st = stage_profile(model, not has_real_weights(model), batch, args.tokens)
                except Exception as exc:  # a profile is a diagnostic; keep the report
                    print(f"  {model} batch {batch}: {type(exc).__name__}: {exc}")
                    continue
                stages.append(st)
                total = sum(v for k, v in st.items() if k.endswith("_s") and k != "audio_s")
                print(f"  {model} batch {batch}: " + ", ".join(f"{k[:-2]} {v:.4f}" for k, v in st.items()
                      if k.endswith("_s") and k != "audio_s") + f", steps {st['steps']}, compute-only RTFx {st['audio_s'] / total:.0f}")
        report["stages"] = stages
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
    report["timing_check"] = {}
    for backend in args.backends.split(","):
        if real is None and not get_backend(backend).supports_synthetic:
            continue
        check = timing_check(backend, real or "tiny", synthetic=real is None)
        report["timing_check"][backend] = check
        print(f"\nCUDA timing check, {backend}: queued {check['queued_delay_s'] * 1000:.1f} ms of GPU sleep, the harness "
              f"clock counted {check['measured_extra_s'] * 1000:.1f} ms more ({check['counted_fraction'] * 100:.0f}%)")
    print_report(report, args.out)


def print_report(report: dict, out: str | None) -> None:
    if out:
        Path(out).write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
