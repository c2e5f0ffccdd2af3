"""Reference parity over the full varied set: each backend's rows (from the real CLI) against its
library's own plain, documented call on the same weights and decode settings.

Per backend and mode (per-clip, and dataset mode in batches): corpus WER of our rows, WER of the
plain call, their absolute difference (goal: <= 0.01) and how many transcripts are identical
after the Whisper English normalizer. The plain calls are those of ``tests/parity_reference.py``.

    python benchmarks/parity.py [manifest] [--model tiny.en] [--backends faster-whisper,whisper.cpp]
                                [--modes per-clip,dataset] [--batch-size 5] [--output report.md]

The manifest defaults to ../shared/audio/varied/manifest.jsonl beside the repository (77 clips).
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.parity_reference

from tests.parity_reference import (  # noqa: E402
    BACKENDS,
    DATASET,
    PER_CLIP,
    Comparison,
    benchmark_rows,
    compare,
    plain_mode,
    plain_texts,
    read_clips,
)
import whisper_speedtest as ws  # noqa: E402

TOLERANCE = 0.01


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", nargs="?", default=str(REPO.parent / "shared" / "audio" / "varied" / "manifest.jsonl"))
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--backends", default=None, help="default: every backend of BACKENDS that runs here")
    parser.add_argument("--modes", default=f"{PER_CLIP},{DATASET}")
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--output", help="also write the report (Markdown) here")
    return parser.parse_args(argv)


def compare_mode(args, backends: tuple[str, ...], mode: str, clips, plain_cache: dict, workdir: Path) -> list[Comparison]:
    """One CLI run over ``backends`` in ``mode``, then each plain call (cached across modes)."""
    rows = benchmark_rows(args.model, backends, Path(args.manifest), mode, workdir / f"{mode}.json", args.batch_size)
    comparisons = []
    for backend in backends:
        row = rows[backend]
        if row.status != "ok":
            print(f"{backend} {mode}: {row.status}: {row.reason}", file=sys.stderr)
            continue
        key = (backend, plain_mode(backend, mode))
        if key not in plain_cache:
            plain_cache[key] = plain_texts(backend, row, clips, key[1], args.batch_size)
        comparisons.append(compare(backend, row.texts, plain_cache[key], clips))
        print(f"{mode} {comparisons[-1].describe()}", file=sys.stderr, flush=True)
    return comparisons


def table(results: dict[str, list[Comparison]]) -> str:
    lines = [
        "| backend | mode | WER ours | WER plain | diff | identical | parity |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for mode, comparisons in results.items():
        for c in comparisons:
            verdict = "ok" if c.diff <= TOLERANCE else "FAIL"
            lines.append(
                f"| {c.backend} | {mode} | {c.wer_ours:.4f} | {c.wer_plain:.4f} | {c.diff:.4f} "
                f"| {c.identical}/{c.clips} | {verdict} |"
            )
    return "\n".join(lines)


def differences(results: dict[str, list[Comparison]]) -> str:
    """Every clip whose normalized transcripts differ, per backend and mode."""
    parts = []
    for mode, comparisons in results.items():
        for c in comparisons:
            for clip, ours, plain in c.differing:
                parts.append(f"- {c.backend} {mode} `{clip}`\n  - ours:  {ours}\n  - plain: {plain}")
    return "\n".join(parts) or "none"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = tuple(b for b in (args.backends or ",".join(b for b in BACKENDS if b in {info.name for info in ws.backends()})).split(",") if b)
    clips = read_clips(Path(args.manifest))
    plain_cache: dict = {}
    results: dict[str, list[Comparison]] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for mode in args.modes.split(","):
            results[mode] = compare_mode(args, backends, mode, clips, plain_cache, Path(workdir))
    report = (
        f"# Reference parity, {args.model}, {datetime.date.today()}\n\n"
        f"{len(clips.paths)} clips from `{args.manifest}`; dataset mode in batches of {args.batch_size}. "
        f"Settings for both sides: language en, temperature 0 (no fallback), beam 1, previous-text on.\n\n"
        f"{table(results)}\n\n## Clips whose normalized transcripts differ\n\n{differences(results)}\n"
    )
    print(report)
    if args.output:
        Path(args.output).write_text(report)
    failed = any(c.diff > TOLERANCE for comparisons in results.values() for c in comparisons)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
