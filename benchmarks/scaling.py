"""Dataset-mode scaling: the same set in process on one GPU, on Ray with 1 GPU, on Ray with N GPUs.

Run on an NVIDIA host with Ray installed (``pip install 'whisper-speedtest[ray]'``):

    python benchmarks/scaling.py --clips 2079 --model base --backend transformers --batch-size 64 \\
        --out benchmarks/results/scaling-h200x2-DATE.json

The set is the shared varied set repeated to ``--clips`` (or any ``--dataset`` spec, sampled with
``--max-clips``). Every row goes through ``run_benchmark``, as ``whisper-speedtest benchmark
--dataset [--ray]`` does, so the figures are the tool's own: end-to-end RTFx = Σ audio / wall (load
and Ray's start not counted, reported apart), model-only RTFx, WER over the set, failed clips.

Targets (issue 15): Ray on 1 GPU within 1.10x of the in-process wall; Ray on 2 GPUs at least 1.85x
Ray on 1 GPU, end to end. ``--device cpu --ray-actors`` tries the script out on a CPU machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from gpu import repeated_manifest

import whisper_speedtest as ws
from whisper_speedtest.dataset.entries import SampleLimits
from whisper_speedtest.dataset.reading import select
from whisper_speedtest.dataset.spec import parse_spec

TARGET_RAY_OVERHEAD = 1.10  # Ray on 1 GPU: wall at most this times the in-process wall
TARGET_TWO_GPUS = 1.85  # Ray on 2 GPUs: end-to-end RTFx at least this times Ray on 1 GPU


def gpu_count() -> int:
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml.nvmlDeviceGetCount()
    except Exception:
        return 0


def run_row(args, spec: str, ray_actors: int | None) -> dict:
    """One ``--dataset`` row: in process when ``ray_actors`` is None, else on a local Ray with that many model actors."""
    ray = {} if ray_actors is None else {"ray": True, "ray_actors": ray_actors, "ray_decoders": args.decoders}
    run = ws.benchmark(dataset=spec, max_clips=args.max_clips, model=args.model, backends=[args.backend],
                       batch_size=args.batch_size, device=args.device, runs=1, warmup=1, timeout=args.timeout, **ray)
    row = run.rows[0]
    record = {"status": row.status, "reason": row.reason}
    if row.ok:
        d = row.dataset
        record.update(
            driver=d.driver, workers=list(d.workers), clips=d.clips, failed=len(d.failed), audio_s=d.audio_s, wall_s=d.wall_s,
            rtfx=d.rtfx, model_rtfx=d.model_rtfx, startup_s=d.startup_s, load_s=row.load_s, decode_s=d.decode_s,
            inference_s=d.inference_s, wer=row.score.wer if row.score else None, vram_mb=row.peak_vram_mb,
            params=row.params, transcripts=list(d.transcripts),
            # where the time goes: the model actors' share of the wall spent in the model (the rest is waiting
            # for decoded batches, moving them, and gathering results); decode_s is the CPU stage's own time
            busy=d.inference_s / (max(1, len(d.workers)) * d.wall_s),
        )
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--varied", default=str(Path(__file__).resolve().parents[1].parent / "shared/audio/varied/manifest.jsonl"))
    parser.add_argument("--clips", type=int, default=2079, help="the varied set repeated to this many clips")
    parser.add_argument("--dataset", default=None, help="any --dataset spec instead of the repeated varied set")
    parser.add_argument("--max-clips", type=int, default=None)
    parser.add_argument("--model", default="base")
    parser.add_argument("--backend", default="transformers")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--gpus", type=int, default=None, help="GPUs of the last row (default: every one NVML sees)")
    parser.add_argument("--decoders", type=int, default=None, help="CPU decoder actors of the Ray rows (default: the driver's own)")
    parser.add_argument("--timeout", type=float, default=3000)
    parser.add_argument("--out", default=None, help="write every figure (and the transcripts) as JSON here")
    args = parser.parse_args()

    spec = args.dataset or str(repeated_manifest(Path(args.varied), args.clips, Path(tempfile.mkdtemp())))
    selection = select(parse_spec(spec), SampleLimits(max_clips=args.max_clips))
    audio_h = sum(e.duration_s for e in selection.entries) / 3600
    many = args.gpus or max(gpu_count(), 2)
    print(f"dataset: {len(selection.entries)} clips ({audio_h:.2f} h), {selection.sample}; {args.backend} {args.model}, "
          f"batch {args.batch_size}, device {args.device}\n", flush=True)
    rows = {
        "in process, 1 GPU": run_row(args, spec, None),
        "ray, 1 GPU": run_row(args, spec, 1),
        f"ray, {many} GPUs": run_row(args, spec, many),
    }
    print(f"{'row':<20}{'RTFx e2e':>10}{'RTFx model':>11}{'wall s':>9}{'start s':>9}{'decode s':>9}{'busy':>6}{'WER':>8}{'failed':>8}  workers",
          flush=True)
    for name, r in rows.items():
        if r["status"] != "ok":
            print(f"{name:<20}  {r['status']}: {r['reason']}", flush=True)
            continue
        start = f"{r['startup_s']:.1f}" if r["startup_s"] is not None else "–"
        print(f"{name:<20}{r['rtfx']:>10.0f}{r['model_rtfx'] or 0:>11.0f}{r['wall_s']:>9.2f}{start:>9}{r['decode_s']:>9.2f}"
              f"{r['busy']:>6.0%}{r['wer'] or 0:>8.4f}"
              f"{r['failed']:>8}  {', '.join(r['workers']) or 'child process'}", flush=True)
    local, one, several = rows.values()
    ratios = {}
    if all(r["status"] == "ok" for r in rows.values()):
        ratios = {
            "ray_1_gpu_wall_over_in_process": one["wall_s"] / local["wall_s"],
            f"ray_{many}_gpus_rtfx_over_ray_1_gpu": several["rtfx"] / one["rtfx"],
            f"ray_{many}_gpus_rtfx_over_in_process": several["rtfx"] / local["rtfx"],
            "same_transcripts_ray_1_vs_in_process": sum(a == b for a, b in zip(one["transcripts"], local["transcripts"])),
        }
        print(f"\nRay on 1 GPU: wall {ratios['ray_1_gpu_wall_over_in_process']:.3f}x the in-process wall "
              f"(target at most {TARGET_RAY_OVERHEAD:.2f}x)")
        print(f"Ray on {many} GPUs: {ratios[f'ray_{many}_gpus_rtfx_over_ray_1_gpu']:.3f}x Ray on 1 GPU end to end "
              f"(target at least {TARGET_TWO_GPUS:.2f}x for 2), {ratios[f'ray_{many}_gpus_rtfx_over_in_process']:.3f}x in process")
        print(f"transcripts equal, Ray 1 GPU vs in process: {ratios['same_transcripts_ray_1_vs_in_process']} of {local['clips']}")
    if args.out:
        Path(args.out).write_text(json.dumps({"clips": len(selection.entries), "audio_h": audio_h, "model": args.model,
                                              "backend": args.backend, "batch": args.batch_size, "rows": rows, "ratios": ratios},
                                             indent=2, default=str))


if __name__ == "__main__":
    main()
