"""Harness overhead: our measured median transcribe time for faster-whisper vs a direct call.

Both sides use the same weights, audio and settings (beam 1, temperature 0, no previous-text
conditioning, no VAD, the same compute type and thread count). The rounds alternate so that
machine noise hits both sides alike. Goal: ratio <= 1.02.

    python benchmarks/overhead.py [--runs 5] [--rounds 3] [--audio PATH]
"""

from __future__ import annotations

import argparse
import statistics
import time

import whisper_speedtest as ws
from whisper_speedtest.audio import collect_clips
from whisper_speedtest.backends.base import physical_cores
from whisper_speedtest.models import sources  # where the weights are, for the direct call on the same files


def direct_times(model_path: str, audio, runs: int, compute_type: str, threads: int) -> list[float]:
    from faster_whisper import WhisperModel

    model = WhisperModel(model_path, device="cpu", compute_type=compute_type, cpu_threads=threads)
    options = dict(language="en", beam_size=1, temperature=0.0, condition_on_previous_text=False, vad_filter=False)
    segments, _ = model.transcribe(audio, **options)
    list(segments)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        segments, _ = model.transcribe(audio, **options)
        "".join(s.text for s in segments)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--audio", default=None)
    parser.add_argument("--model", default="tiny.en")
    args = parser.parse_args()

    clips = tuple(collect_clips([args.audio] if args.audio else None))
    threads = physical_cores()
    model = sources.locate(args.model, "ct2")
    harness, direct = [], []
    compute_type = None
    for round_number in range(args.rounds):
        run = ws.benchmark(list(clips), model=args.model, backends=["faster-whisper"], runs=args.runs, warmup=1, threads=threads)
        row = run.rows[0]
        if not row.ok:
            raise SystemExit(f"harness run failed: {row.reason}")
        compute_type = row.params["compute_type"]
        harness.extend(c for clip in row.clips for c in [clip.transcribe.median])
        direct.append(statistics.median(direct_times(model.path, clips[0].samples, args.runs, compute_type, threads)))
        print(f"round {round_number + 1}: harness median {harness[-1]:.4f} s · direct median {direct[-1]:.4f} s")
    h, d = statistics.median(harness), statistics.median(direct)
    print(f"\nfaster-whisper {args.model}, {compute_type}, {threads} threads, {clips[0].duration_s:.1f} s audio")
    print(f"harness median: {h:.4f} s   direct median: {d:.4f} s")
    print(f"overhead ratio (harness / direct): {h / d:.3f}   goal <= 1.02 -> {'met' if h / d <= 1.02 else 'NOT met'}")


if __name__ == "__main__":
    main()
