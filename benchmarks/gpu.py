"""GPU benchmark on realistic data: our graph decoder, stock transformers and the insanely-fast-whisper recipe.

Run on an NVIDIA machine:

    python benchmarks/gpu.py --varied ../shared/audio/varied/manifest.jsonl --clips 693 --batch-sizes 64,256

The dataset is the shared varied set (77 clips of 1.3-25 s with exact references) repeated to
``--clips`` clips, a count that is not a multiple of the batch sizes, so every run has a partial
last batch. Each row goes through the same dataset driver as ``whisper-speedtest benchmark
--dataset``, in its own child process, and reports end-to-end RTFx (audio decode included,
Σ audio / wall) and model-only RTFx (log-mel, model, detokenize with audio already decoded, as
the Open ASR Leaderboard counts), WER over the whole set, and how many transcripts equal those of
the stock ``pipeline()`` row at the same batch size.

Rows, in one run:
- ``graph-decoder``: ours (log-mel on the GPU, static KV cache, CUDA graphs), once for each of
  ``--graph-variants`` (comma-separated; each a "+"-joined set of speed-ups, or ``current`` for none):
  ``compact`` (row compaction: rows that have ended leave the decoder's steps), ``overlap`` (the next
  batch's log-mel on a second CUDA stream while this batch decodes), ``overlap-encoder`` (as overlap,
  and the next batch's encoder on that stream too), ``compile`` / ``compile-autotune``
  (``torch.compile`` of the encoder, mode "default" / "max-autotune-no-cudagraphs", compiled on the
  untimed warm-up batch). Each variant row prints its ratio to the stock row, end to end and
  model-only, and how many transcripts equal the stock row's; then each variant against the first.
  With the overlaps, part of the next batch's work runs while the driver waits for audio decode,
  outside the model-only clock: compare variants by their end-to-end RTFx;
- ``transformers``: the stock ``pipeline()`` with fp16, SDPA and batching (the tool's transformers row);
- the insanely-fast-whisper recipe called directly (pipeline, fp16, SDPA, ``chunk_length_s=30``,
  ``batch_size=24``, timestamps), at the same beam size, as the peer: its ratio is printed.
A CUDA timing check (a known delay queued at the end of the timed region) follows.

``--passes N`` runs each graph-decoder variant N times, interleaved (each pass starts one variant
later), and compares the variants by the medians of their passes; from 3 passes on each ratio gets
a 95% bootstrap interval (paired by pass). One pass of each is one sample: a ratio without an
interval, and the run-to-run spread seen on an H100 was 4% (``results/h100-graph-decoder-20h-2026-12-08.md``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import whisper_speedtest as ws
from whisper_speedtest.audio import bundled_sample, read_audio
from whisper_speedtest.backends.base import DecodeOptions, LoadOptions
from whisper_speedtest.bench.scoring import score_many
from whisper_speedtest.dataset.reading import select
from whisper_speedtest.dataset.spec import parse_spec
from whisper_speedtest.models import sources

IFW_BATCH = 24  # insanely-fast-whisper's default --batch-size


def repeated_manifest(varied: Path, clips: int, directory: Path) -> Path:
    """The varied set's entries, repeated in order until there are ``clips`` of them."""
    lines = [json.loads(line) for line in varied.read_text().splitlines() if line.strip()]
    manifest = directory / f"varied-{clips}.jsonl"
    with manifest.open("w") as out:
        for index in range(clips):
            entry = dict(lines[index % len(lines)])
            entry["audio"] = str((varied.parent / entry["audio"]).resolve())
            out.write(json.dumps(entry) + "\n")
    return manifest


DEFAULT_VARIANTS = "current,compact,compact+overlap,compact+overlap-encoder,compact+overlap-encoder+compile"


def dataset_row(model: str, backend: str, batch: int, manifest: Path, device: str = "cuda", speedups: tuple = ()):
    """One ``--dataset`` row over ``manifest``, as ``whisper-speedtest benchmark --dataset`` runs it."""
    run = ws.benchmark(dataset=str(manifest), model=model, backends=[backend], batch_size=batch, device=device,
                       runs=1, warmup=1, timeout=580, graph_speedups=speedups)
    return run.rows[0]


def variant_names(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """(label, speed-up names) for each of ``--graph-variants``; an unknown name stops the script at once."""
    from whisper_speedtest.backends.transformers.options import GraphSpeedup

    variants = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        try:
            speedups = tuple(s.value for s in GraphSpeedup.parse(item))
        except ValueError as exc:
            raise SystemExit(f"--graph-variants: {exc}") from None
        variants.append(("+".join(speedups) or "current", speedups))
    return variants


def schedule(backends: list[str], variants, passes: int) -> list[tuple[int, str, str, tuple[str, ...]]]:
    """(pass, backend, variant label, speed-ups) in the order the rows run: the stock row once, first (the
    others compare to it), then the graph-decoder variants round-robin, each pass starting one variant later,
    so a drift in the machine (clocks, a neighbour's load) falls on every variant alike."""
    rows = [(0, name, "", ()) for name in backends if name != "graph-decoder"]
    rows.sort(key=lambda row: row[1] != "transformers")
    if "graph-decoder" in backends:
        for number in range(passes):
            turn = number % len(variants)
            rows += [(number, "graph-decoder", label, speedups) for label, speedups in variants[turn:] + variants[:turn]]
    return rows


def ratio_with_interval(numerators: list[float], denominators: list[float]) -> tuple[float, float | None, float | None]:
    """median(numerators) / median(denominators), with the tool's 95% bootstrap interval over the passes
    (paired by pass) where there are at least three; (ratio, None, None) otherwise."""
    from whisper_speedtest.bench.compare_stats import ratio_of_medians
    from whisper_speedtest.bench.stats import bootstrap_interval

    ratio = statistics.median(numerators) / statistics.median(denominators)
    pairs = min(len(numerators), len(denominators))
    if pairs < 3:
        return ratio, None, None
    low, high = bootstrap_interval([denominators[:pairs], numerators[:pairs]], ratio_of_medians, paired=True)
    return ratio, low, high


def ifw_recipe(model_path: str, entries, beam_size: int) -> dict:
    """insanely-fast-whisper's call, timed end to end (audio decode included), in this process."""
    import torch
    from transformers import pipeline

    pipe = pipeline(
        "automatic-speech-recognition", model=model_path, dtype=torch.float16, device="cuda:0",
        model_kwargs={"attn_implementation": "sdpa"},
    )
    kwargs = {"chunk_length_s": 30, "batch_size": IFW_BATCH, "return_timestamps": True,
              "generate_kwargs": {"num_beams": beam_size}}
    pipe([read_audio(e.path)[0] for e in entries[:IFW_BATCH]], **kwargs)  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    audio = [read_audio(e.path)[0] for e in entries]
    texts = [r["text"].strip() for r in pipe(audio, **kwargs)]
    torch.cuda.synchronize()
    wall = time.perf_counter() - start
    seconds = sum(len(a) for a in audio) / 16_000
    wer = score_many([e.reference for e in entries], texts)
    return {"rtfx": seconds / wall, "wall_s": wall, "wer": wer.wer if wer else None, "texts": texts}


def timing_check(model: str, backend_name: str = "graph-decoder") -> dict:
    """Queue a known delay (torch.cuda._sleep) at the end of a timed region and see the clock count it."""
    import torch

    from whisper_speedtest.backends import get_backend
    from whisper_speedtest.backends.loader import load_with_fallback, plan_variant
    from whisper_speedtest.bench.worker import _timed

    cls = get_backend(backend_name)
    backend = cls()
    load_with_fallback(backend, plan_variant(cls, model, None), LoadOptions(device="cuda", batch_size=16))
    audio = [read_audio(bundled_sample())[0]] * 16
    options = DecodeOptions()
    backend.transcribe_batch(audio, options)
    cycles = int(torch.cuda.get_device_properties(0).clock_rate * 1000 * 1.0)  # about 1 s at the base clock
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    torch.cuda._sleep(cycles)
    end.record()
    torch.cuda.synchronize()
    delay = start.elapsed_time(end) / 1000

    def delayed():
        result = backend.transcribe_batch(audio, options)
        torch.cuda._sleep(cycles)  # queued after the work: counted only if the harness synchronizes
        return result

    plain = [_timed(backend, backend.transcribe_batch, audio, options)[1] for _ in range(5)]
    with_delay = [_timed(backend, delayed)[1] for _ in range(5)]
    backend.close()
    extra = statistics.median(with_delay) - statistics.median(plain)
    return {"queued_delay_s": delay, "measured_extra_s": extra, "counted_fraction": extra / delay}


def stage_profile(model: str, entries, batch: int, speedups: tuple = (), device: str = "cuda") -> dict:
    """Where one batch of the longest clips goes in the graph decoder, synchronized around each stage;
    with the decoder's steps, the row-steps they ran and the rows still decoding at each host check."""
    import torch

    from whisper_speedtest.backends import get_backend
    from whisper_speedtest.backends.loader import load_with_fallback, plan_variant
    from whisper_speedtest.backends.transformers.log_mel import log_mel_batch
    from whisper_speedtest.backends.transformers.options import GRAPH_SPEEDUPS

    cls = get_backend("graph-decoder")
    backend = cls()
    load_with_fallback(backend, plan_variant(cls, model, None), LoadOptions(
        device=device, batch_size=batch, backend_options=((GRAPH_SPEEDUPS, speedups),)))
    longest = sorted(entries, key=lambda e: -e.duration_s)[:batch]
    audio = [read_audio(e.path)[0] for e in longest]
    options = DecodeOptions()
    backend.transcribe_batch(audio, options)  # warm-up
    decoder, _ = backend._decoder_for(options)
    network, processor = backend._network, backend._processor
    marks: dict = {}

    def mark(name, started):
        backend.synchronize()
        marks[name] = time.perf_counter() - started
        return time.perf_counter()

    with torch.inference_mode():
        t = time.perf_counter()
        features = log_mel_batch(audio, processor.feature_extractor, network.device, network.dtype)
        t = mark("log_mel_s", t)
        state = decoder.encode(features)
        t = mark("encoder_and_cross_kv_s", t)
        ids = decoder.run_decoder(state)
        t = mark("decoder_steps_s", t)
        processor.tokenizer.batch_decode(ids, skip_special_tokens=True)
        mark("detokenize_s", t)
    trace = decoder.trace
    backend.close()
    marks.update(batch=len(audio), positions=int(ids.shape[1]), steps=trace.steps, row_steps=trace.row_steps,
                 live_rows=[[position, live, rows] for position, live, rows in trace.checks],
                 audio_s=sum(len(a) for a in audio) / 16_000)
    return marks


def print_profile(label: str, profile: dict) -> None:
    stages = ", ".join(f"{k[:-2]} {v:.4f} s" for k, v in profile.items() if k.endswith("_s") and k != "audio_s")
    print(f"one batch of the {profile['batch']} longest clips, graph-decoder {label}: {stages}; "
          f"{profile['positions']} decoder positions, {profile['steps']} steps, {profile['row_steps']} row-steps "
          f"({profile['row_steps'] / max(1, profile['steps'] * profile['batch']):.0%} of steps x batch), "
          f"{profile['audio_s']:.0f} s of audio", flush=True)
    checks = profile["live_rows"]
    if checks:
        print("  live rows at the host checks (position: live -> rows run): "
              + ", ".join(f"{p}: {live}->{rows}" for p, live, rows in checks), flush=True)


def describe(row, reference_texts=None) -> dict:
    record = {"backend": row.backend, "status": row.status, "reason": row.reason}
    if not row.ok:
        return record
    d = row.dataset
    texts = list(d.transcripts)
    record.update(
        rtfx=d.rtfx, model_rtfx=d.model_rtfx, wer=row.score.wer if row.score else None, clips=d.clips,
        wall_s=d.wall_s, decode_s=d.decode_s, inference_s=d.inference_s, vram_mb=row.peak_vram_mb,
        decoder=row.params.get("decoder"), fallback=row.params.get("fallback", ""), texts=texts,
        staging_failure=row.params.get("staging_failure", ""),
    )
    if reference_texts is not None:
        record["same_as_pipeline"] = sum(a == b for a, b in zip(texts, reference_texts))
    return record


def compare_variants(report: dict, batch: int, labels: list[str]) -> None:
    """Each graph-decoder variant against the first: ratios of the median RTFx over its passes (with an
    interval from three passes up) and how many transcripts equal the first variant's first pass."""
    passes = {label: [r for r in report["rows"] if r["batch"] == batch and r["backend"] == "graph-decoder"
                      and r["variant"] == label and r["status"] == "ok"] for label in labels}
    present = [label for label in labels if passes[label]]
    if len(present) < 2:
        return
    base = passes[present[0]]
    summary = report.setdefault("variant_ratios", [])
    for label in present[1:]:
        rows = passes[label]
        line = {"batch": batch, "variant": label, "against": present[0], "passes": len(rows)}
        for key in ("rtfx", "model_rtfx"):
            ratio, low, high = ratio_with_interval([r[key] or 0.0 for r in rows], [r[key] or 1.0 for r in base])
            line[key] = {"ratio": ratio, "low": low, "high": high}
        line["same_texts"] = sum(a == b for a, b in zip(rows[0]["texts"], base[0]["texts"]))
        summary.append(line)

        def shown(figure: dict) -> str:
            interval = f" [{figure['low']:.2f}-{figure['high']:.2f}]" if figure["low"] is not None else ""
            return f"{figure['ratio']:.2f}x{interval}"

        print(f"  graph-decoder {label} vs {present[0]}, batch {batch}, medians of {len(rows)} and {len(base)} "
              f"pass(es): {shown(line['rtfx'])} end to end, {shown(line['model_rtfx'])} model-only, "
              f"{line['same_texts']}/{len(base[0]['texts'])} transcripts equal", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--varied", default=str(Path(__file__).resolve().parents[1].parent / "shared/audio/varied/manifest.jsonl"))
    parser.add_argument("--model", default="base")
    parser.add_argument("--clips", type=int, default=693)
    parser.add_argument("--batch-sizes", default="64,256")
    parser.add_argument("--backends", default="graph-decoder,transformers")
    parser.add_argument("--graph-variants", default=DEFAULT_VARIANTS,
                        help="graph-decoder rows to run, comma-separated; each 'current' or a '+'-joined set of "
                             "compact, overlap, overlap-encoder, compile, compile-autotune (default: %(default)s)")
    parser.add_argument("--passes", type=int, default=1,
                        help="passes of each graph-decoder variant, interleaved (each in its own child); with 3 or "
                             "more, the variants' ratios get a 95%% bootstrap interval (default: %(default)s)")
    parser.add_argument("--profile-variants", default=None,
                        help="the variants to profile (one batch of the longest clips each, stages synchronized; "
                             "decoder steps, row-steps and live rows at each host check); default: --graph-variants")
    parser.add_argument("--skip-profile", action="store_true", help="no stage profile")
    parser.add_argument("--device", default="cuda", help="cpu only to try the script out (the graph decoder then runs eagerly)")
    parser.add_argument("--skip-ifw", action="store_true")
    parser.add_argument("--ifw-clips", type=int, default=None,
                        help="run the insanely-fast-whisper recipe on the first N clips only (its RTFx is a rate; the ratio says so)")
    parser.add_argument("--skip-timing-check", action="store_true")
    parser.add_argument("--out", default=None, help="write every figure (and the transcripts) as JSON here")
    args = parser.parse_args()
    if args.passes < 1:
        raise SystemExit("--passes must be at least 1")
    variants = variant_names(args.graph_variants)

    manifest = repeated_manifest(Path(args.varied), args.clips, Path(tempfile.mkdtemp()))
    entries = select(parse_spec(str(manifest))).entries  # the same clips the dataset rows read, for the direct calls
    audio_h = sum(e.duration_s for e in entries) / 3600
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    print(f"dataset: {len(entries)} clips ({audio_h:.2f} h) of the varied set, {args.model}; "
          f"last batch: " + ", ".join(f"{len(entries) % b or b} of {b}" for b in sizes) + "\n", flush=True)
    print(f"{'backend':<38}{'batch':>6}{'RTFx e2e':>10}{'RTFx model':>11}{'x stock':>8}{'x model':>8}{'WER':>8}"
          f"{'=pipe':>7}{'VRAM MB':>9}{'wall s':>8}  decoder", flush=True)
    report: dict = {"clips": len(entries), "audio_h": audio_h, "model": args.model, "rows": []}
    backends = args.backends.split(",")

    def save() -> None:  # after every row, so a run cut off by a time limit keeps what it measured
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=2, default=str))

    for batch in sizes:
        stock = None
        for number, backend, label, speedups in schedule(backends, variants, args.passes):
            record = describe(dataset_row(args.model, backend, batch, manifest, args.device, speedups),
                              stock["texts"] if stock else None)
            record.update(batch=batch, variant=label, speedups=list(speedups), passes_index=number)
            name = f"{backend} {label}".strip() + (f" #{number + 1}" if args.passes > 1 and label else "")
            if backend == "transformers" and record["status"] == "ok":
                stock = record
            report["rows"].append(record)
            save()
            if record["status"] != "ok":
                print(f"{name:<38}{batch:>6}  {record['status']}: {record['reason']}", flush=True)
                continue
            same = f"{record['same_as_pipeline']}" if "same_as_pipeline" in record else "–"
            ratio = ratio_model = "–"
            if stock is not None and stock is not record:
                record["x_stock"] = record["rtfx"] / stock["rtfx"]
                ratio = f"{record['x_stock']:.2f}"
                if record["model_rtfx"] and stock["model_rtfx"]:
                    record["x_stock_model"] = record["model_rtfx"] / stock["model_rtfx"]
                    ratio_model = f"{record['x_stock_model']:.2f}"
            print(f"{name:<38}{batch:>6}{record['rtfx']:>10.0f}{record['model_rtfx'] or 0:>11.0f}{ratio:>8}"
                  f"{ratio_model:>8}{record['wer']:>8.4f}{same:>7}{record['vram_mb'] or 0:>9.0f}"
                  f"{record['wall_s']:>8.2f}  {record['decoder']} {record['fallback']}"
                  + (f" (staging failed: {record['staging_failure']})" if record["staging_failure"] else ""), flush=True)
        compare_variants(report, batch, [label for label, _ in variants])
    if not args.skip_ifw:
        path = sources.locate(args.model, "hf").path
        ifw_entries = entries[: args.ifw_clips] if args.ifw_clips else entries
        ifw = ifw_recipe(path, ifw_entries, beam_size=1)
        report["ifw"] = {k: v for k, v in ifw.items() if k != "texts"} | {"clips": len(ifw_entries)}
        if len(ifw_entries) < len(entries):
            print(f"(the recipe ran on the first {len(ifw_entries)} clips, "
                  f"{sum(e.duration_s for e in ifw_entries) / 3600:.2f} h of the same set)", flush=True)
        print(f"{'ifw recipe':<16}{IFW_BATCH:>6}{ifw['rtfx']:>10.0f}{'':>11}{ifw['wer']:>8.4f}", flush=True)
        for row in report["rows"]:
            if row["status"] == "ok":
                print(f"  {(row['backend'] + ' ' + row.get('variant', '')).strip()} batch {row['batch']} "
                      f"vs insanely-fast-whisper recipe: "
                      f"{row['rtfx'] / ifw['rtfx']:.1f}x end to end, WER {row['wer']:.4f} vs {ifw['wer']:.4f}")
    if not args.skip_profile and "graph-decoder" in backends:
        print(flush=True)
        report["stage_profiles"] = {}
        for label, speedups in variant_names(args.profile_variants) if args.profile_variants else variants:
            profile = stage_profile(args.model, entries, max(sizes), speedups, args.device)
            report["stage_profiles"][label] = profile
            print_profile(label, profile)
    if not args.skip_timing_check:
        check = timing_check(args.model)
        report["timing_check"] = check
        print(f"\nCUDA timing check, graph-decoder: queued {check['queued_delay_s'] * 1000:.1f} ms of GPU sleep, "
              f"the harness clock counted {check['measured_extra_s'] * 1000:.1f} ms more "
              f"({check['counted_fraction'] * 100:.0f}%)", flush=True)
    save()


if __name__ == "__main__":
    main()
