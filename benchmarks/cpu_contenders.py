"""CPU contenders side by side: faster-whisper int8 against ONNX Runtime, OpenVINO and whisper.cpp.

For each model, in one run, every contender transcribes the same clips with the same weights
(the fingerprint column says so) through the real harness: each row is a spawned child with a
cold load, warm-up runs left out, the median of ``--runs`` per clip. The rows:

    faster-whisper int8     CTranslate2 compute type int8 (the baseline of every ratio)
    ONNX Runtime fp32/int8  optimum-onnx export; int8 = ONNX Runtime dynamic quantization
    OpenVINO fp32/int8      optimum-intel export; int8 = NNCF int8 weight compression
    whisper.cpp             ggml f16 (pywhispercpp)

``speed ×`` is the row's RTFx over faster-whisper int8's (above 1: faster), and ``ΔWER`` its
WER minus faster-whisper int8's, so a speed-up is read at (nearly) equal WER. The contenders run
one after another; the machine's noise is not spread evenly, so repeat a run before trusting a
ratio within about 10 %.

The machine is noted with the output: CPU model, cores, and the load average before and after each
model's rows (other work on the machine slows the rows it overlaps, not all of them).

    python benchmarks/cpu_contenders.py [--manifest clips.jsonl] [--models tiny.en,base] [--runs 3]
                                        [--clips 6] [--threads N] [-o out.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import whisper_speedtest as ws
from whisper_speedtest.audio import collect_clips

CLIPS = Path(__file__).resolve().parent.parent / "tests" / "data" / "parity" / "manifest.jsonl"
PACKAGES = ("ctranslate2", "faster-whisper", "onnxruntime", "optimum-onnx", "openvino", "optimum-intel", "nncf",
            "pywhispercpp", "transformers", "torch")


@dataclass(frozen=True)
class Contender:
    label: str
    backend: str
    quantization: str | None


CONTENDERS = (
    Contender("faster-whisper int8", "faster-whisper", "int8"),
    Contender("ONNX Runtime fp32", "onnxruntime", None),
    Contender("ONNX Runtime int8", "onnxruntime", "int8"),
    Contender("OpenVINO fp32", "openvino", None),
    Contender("OpenVINO int8", "openvino", "int8"),
    Contender("whisper.cpp", "whisper.cpp", None),
)


def run_contender(model: str, contender: Contender, clips, runs: int, threads: int | None):
    run = ws.benchmark(list(clips), model=model, backends=[contender.backend], runs=runs, warmup=1, timeout=1800,
                       device="cpu", quant=[contender.quantization] if contender.quantization else [], threads=threads,
                       fallback=False, on_note=lambda text: print(f"  note: {text}", flush=True))
    (row,) = run.rows
    return row


def table(model: str, rows: list[tuple[Contender, object]]) -> list[str]:
    base = next((row for c, row in rows if c.backend == "faster-whisper" and row.ok), None)
    lines = [f"### {model}", "",
             "| contender | loaded | median s (all clips) | RTFx | speed × vs faster-whisper int8 | WER | ΔWER | load s | peak MB | fingerprint |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for contender, row in rows:
        if not row.ok:
            lines.append(f"| {contender.label} | {row.status}: {row.reason[:120]} | | | | | | | | |")
            continue
        speed = f"{row.rtfx / base.rtfx:.2f}" if base else "–"
        delta = f"{row.score.wer - base.score.wer:+.3f}" if base and row.score and base.score else "–"
        lines.append(
            f"| {contender.label} | {row.actual_variant or row.variant} | {row.transcribe.median:.3f} "
            f"(min {row.transcribe.min:.3f}, max {row.transcribe.max:.3f}) | {row.rtfx:.1f} | {speed} | "
            f"{row.score.wer:.3f} | {delta} | {row.load_s:.2f} | {row.peak_rss_mb:.0f} | "
            f"`{(row.model.fingerprint or '–')[:12]}` |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--manifest", type=Path, default=CLIPS, help="clips with references (default: tests/data/parity, 6 clips of 1.3-25 s)")
    parser.add_argument("--clips", type=int, default=None, help="only the first N clips of the manifest")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for every contender (default: physical cores)")
    parser.add_argument("-o", "--output", type=Path, default=None, help="also write the Markdown here")
    args = parser.parse_args()
    clips = collect_clips([str(args.manifest)])[: args.clips]
    audio = sum(c.duration_s for c in clips)
    versions = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    lines = [f"{len(clips)} clips, {audio:.1f} s of audio · beam 1 · temperature 0 · language en · warm-up 1 · "
             f"median of {args.runs} per clip · threads {args.threads or 'default (physical cores)'}", "",
             f"Machine: {_machine()}", "", versions, ""]
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        load_before = _load()
        rows = []
        for contender in CONTENDERS:
            print(f"{model}: {contender.label} …", flush=True)
            started = time.perf_counter()
            row = run_contender(model, contender, clips, args.runs, args.threads)
            print(f"  {row.status} in {time.perf_counter() - started:.0f} s", flush=True)
            rows.append((contender, row))
        lines += table(model, rows)
        lines += [f"Load average (1/5/15 min) before {model}: {load_before}; after: {_load()}.", ""]
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}"


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    main()
