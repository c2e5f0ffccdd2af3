"""The graph decoder's log-mel: one copy per clip (the code in ``log_mel.py``) vs the batch joined
into one pinned host buffer and sent in one copy (tried on 2026-12-07, kept here as the alternative).

Run on an NVIDIA machine (``--device cpu`` only tries it out):

    python benchmarks/log_mel_copy.py --varied ../shared/audio/varied/manifest.jsonl --clips 256

Both ways run in this one process on the same batch (the varied set's clips repeated, longest
first, as a dataset batch is), alternating, each synchronized; the script prints each way's median
time per batch, the ratio with a 95% bootstrap interval, and whether the features are identical.
Measured on an H100 (256 clips, 2,051 s of audio): per clip 27.96 ms, joined 52.29 ms, so joining
was 0.53x [0.53-0.54] as fast; features identical (``benchmarks/results/h100-graph-decoder-20h-2026-12-08.md``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np


def joined_pinned_waves(audios, length, device):
    """The alternative: the clips joined on the host (pinned on CUDA), sent in one copy, split into rows there."""
    import torch

    clips = [np.ascontiguousarray(audio[:length], dtype=np.float32) for audio in audios]
    samples = torch.from_numpy(np.concatenate(clips) if clips else np.zeros(0, dtype=np.float32))
    if device.type == "cuda":
        samples = samples.pin_memory()
    samples = samples.to(device, non_blocking=True)
    waves = torch.zeros(len(clips), length, device=device, dtype=torch.float32)
    start = 0
    for row, clip in zip(waves, clips):
        row[: clip.shape[0]].copy_(samples[start : start + clip.shape[0]])
        start += clip.shape[0]
    return waves


def main() -> None:
    import torch
    from transformers import WhisperFeatureExtractor

    from whisper_speedtest.audio import read_audio
    from whisper_speedtest.bench.compare_stats import ratio_of_medians
    from whisper_speedtest.bench.stats import bootstrap_interval
    from whisper_speedtest.backends.transformers.log_mel import log_mel_batch, log_mel_from_waves

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--varied", default=str(Path(__file__).resolve().parents[2] / "shared/audio/varied/manifest.jsonl"))
    parser.add_argument("--clips", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    device, dtype = torch.device(args.device), torch.float16
    manifest = Path(args.varied)
    entries = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    unique = [read_audio(manifest.parent / e["audio"])[0] for e in entries]
    audios = sorted((unique[i % len(unique)] for i in range(args.clips)), key=len, reverse=True)
    extractor = WhisperFeatureExtractor(feature_size=80)

    def per_clip():
        return log_mel_batch(audios, extractor, device, dtype)

    def joined():
        return log_mel_from_waves(joined_pinned_waves(audios, extractor.n_samples, device), extractor, dtype)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    same = torch.equal(joined(), per_clip())
    times: dict[str, list[float]] = {"per clip": [], "joined": []}
    for _ in range(args.repeats):
        for name, run in (("per clip", per_clip), ("joined", joined)):
            sync()
            start = time.perf_counter()
            run()
            sync()
            times[name].append(time.perf_counter() - start)
    seconds = sum(len(a) for a in audios) / 16_000
    print(f"{len(audios)} clips ({seconds:.0f} s of audio) on {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))
    for name, values in times.items():
        print(f"  {name:<9} median {statistics.median(values) * 1000:8.2f} ms  "
              f"[{min(values) * 1000:.2f}-{max(values) * 1000:.2f}] over {len(values)}")
    point = statistics.median(times["per clip"]) / statistics.median(times["joined"])
    low, high = bootstrap_interval([times["joined"], times["per clip"]], ratio_of_medians, paired=True)
    print(f"  joined runs at {point:.2f}x the speed of per clip [{low:.2f}-{high:.2f}, 95% bootstrap]; "
          f"features identical: {same}")


if __name__ == "__main__":
    main()
