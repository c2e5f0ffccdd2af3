"""What a managed environment costs: faster-whisper tiny.en in the main environment and in a managed one.

The managed one is faster-whisper pinned to the main environment's own version (``-b faster-whisper==X``),
so both rows run the same library on the same weights; only the interpreter's environment differs. The
rounds alternate (main, managed, main, managed, ...) so that machine noise hits both alike. Goals: timed
medians within 3%, cold loads (a fresh child, imports included) within 10%.

It also times making that environment from an empty uv cache and from a warm one (the same cache, the
environment deleted first), and, with ``--optimum``, the onnx/openvino environment likewise.

    python benchmarks/managed_env.py [--runs 5] [--rounds 3] [--optimum] [--out benchmarks/results/x.md]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path


def creation_times(spec, cache: Path) -> tuple[float, float]:
    """Seconds to make ``spec``'s environment from an empty uv cache, then again from the warm cache."""
    from whisper_speedtest.environments.build import build

    os.environ["UV_CACHE_DIR"] = str(cache)
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(spec.folder(), ignore_errors=True)
    empty = build(spec).seconds
    shutil.rmtree(spec.folder())
    warm = build(spec).seconds
    return empty, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--optimum", action="store_true", help="also time making the onnx/openvino environment")
    parser.add_argument("--out", default=None, help="also write the results as Markdown here")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="managed-env-bench-"))
    os.environ["WHISPER_SPEEDTEST_HOME"] = str(scratch / "home")  # nothing of the user's store or envs is touched
    from whisper_speedtest.audio import collect_clips
    from whisper_speedtest.backends import get_backend
    from whisper_speedtest.backends.base import LoadOptions
    from whisper_speedtest.bench.compare_stats import welch_over_runs
    from whisper_speedtest.bench.managed import environment_for
    from whisper_speedtest.bench.session import BenchmarkRequest, run_benchmark
    from whisper_speedtest.environments.spec import EnvironmentSpec
    from whisper_speedtest.results import DecodeSettings

    version = metadata.version("faster-whisper")
    spec = environment_for(get_backend("faster-whisper"), version)
    lines = [f"# Managed environment cost ({time.strftime('%Y-%m-%d')})", ""]
    empty, warm = creation_times(spec, scratch / "uv-cache")
    lines.append(f"- make `{spec.label}` (this tool editable + faster-whisper {version}): "
                 f"{empty:.1f} s from an empty uv cache, {warm:.1f} s from a warm one")
    if args.optimum:
        optimum = EnvironmentSpec.for_extras(("onnx", "openvino"))
        o_empty, o_warm = creation_times(optimum, scratch / "uv-cache-optimum")
        lines.append(f"- make `{optimum.label}`: {o_empty:.1f} s from an empty uv cache, {o_warm:.1f} s from a warm one")

    clips = tuple(collect_clips(None))
    settings = DecodeSettings("en", 1, 0.0, runs=args.runs, warmup=1, timeout_s=900)
    backend = get_backend("faster-whisper")
    medians: dict[str, list[float]] = {"main": [], "managed": []}
    loads: dict[str, list[float]] = {"main": [], "managed": []}
    packages = {}
    for _ in range(args.rounds):
        for side, pinned in (("main", None), ("managed", version)):
            request = BenchmarkRequest("tiny.en", (backend,), settings, LoadOptions(), clips=clips, versions=(pinned,))
            (row,) = run_benchmark(request).results
            assert row.ok, row.reason
            medians[side].append(row.transcribe.median)
            loads[side].append(row.load_s)
            packages[side] = row.packages
    median = {side: statistics.median(values) for side, values in medians.items()}
    load = {side: statistics.median(values) for side, values in loads.items()}
    time_ratio, load_ratio = median["managed"] / median["main"], load["managed"] / load["main"]
    # the same rule as `compare`: Welch over the rounds, ratio of medians with a bootstrap interval
    time_cmp = welch_over_runs(medians["main"], medians["managed"])
    load_cmp = welch_over_runs(loads["main"], loads["managed"])

    def spread(comparison) -> str:
        if comparison.interval is None:
            return "no interval: too few rounds"
        i = comparison.interval
        return f"95% interval {i.low:.3f}–{i.high:.3f}, {comparison.test}, p = {comparison.p_value:.2f}: {comparison.verdict}"
    lines += [
        f"- timed median, managed / main: **{time_ratio:.3f}** (goal within 3%: {'met' if abs(time_ratio - 1) <= 0.03 else 'NOT met'}); "
        f"main {median['main']:.3f} s, managed {median['managed']:.3f} s "
        f"({args.rounds} alternating rounds of {args.runs} timed runs of the 11 s sample; {spread(time_cmp)})",
        f"- cold load, managed / main: **{load_ratio:.3f}** (goal within 10%: {'met' if abs(load_ratio - 1) <= 0.10 else 'NOT met'}); "
        f"main {load['main']:.2f} s, managed {load['managed']:.2f} s ({spread(load_cmp)})",
        f"- per round, main medians {', '.join(f'{v:.3f}' for v in medians['main'])}; "
        f"managed {', '.join(f'{v:.3f}' for v in medians['managed'])}",
        f"- packages: main {packages['main']}, managed {packages['managed']}",
        f"- machine load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())} ({os.cpu_count()} CPUs)",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
