"""Streaming side by side: faster-whisper, whisper.cpp, transformers and openai-whisper on the 71 s
long-form passage, 1 s chunks, LocalAgreement-2, in one run.

Every backend streams the same audio through the real harness (``bench.streaming``): one spawned
child each, the same tiny.en weights, the same decode settings (greedy, temperature 0, English).
Latency is measured against one reference alignment (faster-whisper's offline word timestamps,
kept where they match the reference text). Printed per backend:

    median / p90 latency   clock at commit − the word's end in the audio (simulated clock:
                           computation-unaware; real clock with --clock both: computation-aware)
    RTF                    compute seconds / audio seconds while streaming (above 1: slower than speech)
    revisions/min          shown words later changed or withdrawn, per minute of audio
    WER streamed / offline the committed text's WER beside the same backend's plain transcribe()

    python benchmarks/stream.py [--audio tests/data/longform.wav] [--chunk 1] [--clock simulated|real|both]
                                [--backends faster-whisper,whisper.cpp,transformers,openai-whisper] [-o out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from whisper_speedtest.audio import load_clip
from whisper_speedtest.backends import get_backend
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench.streaming.records import Clock, plain
from whisper_speedtest.bench.streaming.session import StreamRequest, run_stream
from whisper_speedtest.report.stream_rows import flat_stream_rows, notes, settings_text
from whisper_speedtest.report.stream_writers import STREAM_WRITERS
from whisper_speedtest.results import DecodeOptions

LONGFORM = Path(__file__).resolve().parent.parent / "tests" / "data" / "longform.wav"
BACKENDS = "faster-whisper,whisper.cpp,transformers,openai-whisper"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", default=str(LONGFORM))
    parser.add_argument("--chunk", type=float, default=1.0)
    parser.add_argument("--clock", choices=["simulated", "real", "both"], default="simulated")
    parser.add_argument("--backends", default=BACKENDS)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--agreement", type=int, default=2, help="LocalAgreement-n")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("-o", "--output", action="append", default=[])
    parser.add_argument("--rows-jsonl", help="also append each row to this JSONL file as soon as it is done (a long run keeps what it measured)")
    args = parser.parse_args()
    clocks = (Clock.SIMULATED, Clock.REAL) if args.clock == "both" else (Clock(args.clock),)
    request = StreamRequest(
        model=args.model, backends=tuple(get_backend(name) for name in args.backends.split(",")),
        decode=DecodeOptions(),
        load_options=LoadOptions(threads=args.threads), clip=load_clip(args.audio), chunk_sizes=(args.chunk,),
        clocks=clocks, timeout_s=args.timeout, agreement=args.agreement,
    )
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, load {os.getloadavg()[0]:.1f} at start")
    def row_done(row) -> None:
        print(f"  {row.backend}: {row.status} {row.reason}", flush=True)
        if args.rows_jsonl:
            with open(args.rows_jsonl, "a") as rows_file:
                rows_file.write(json.dumps(plain(row)) + "\n")

    run = run_stream(request, on_row=row_done)
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    print(settings_text(run))
    header = f"{'backend':<16} {'median s':>8} {'p90 s':>7} {'first s':>7} {'real med':>8} {'RTF':>5} {'kept up':<28} {'rev/min':>7} {'WER stream':>10} {'offline':>8}"
    print(header)
    for row in flat_stream_rows(run):
        if row["status"] != "ok":
            print(f"{row['backend']:<16} {row['status']}: {row['reason']}")
            continue
        print(f"{row['backend']:<16} {row['latency_median_s']:>8} {row['latency_p90_s']:>7} {row['latency_first_s']:>7} "
              f"{row['aware_median_s']:>8} {row['rtf']:>5} {row['kept_up']:<28} {row['revisions_per_min']:>7} "
              f"{row['final_wer']:>10} {row['offline_wer']:>8}")
    for line in notes(run):
        print(f"- {line}")
    for path in args.output:
        Path(path).write_text(STREAM_WRITERS[Path(path).suffix.lower()](run))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
