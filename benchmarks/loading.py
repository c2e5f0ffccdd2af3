"""Fast loading: float16 vs int8 vs int4 load times, parallel weight reading, and background loading.

In one process, per backend:

1. Variants. Every variant is located (and created in the store where it is made there: ggml
   q8_0/q4_0, MLX 8/4-bit) BEFORE anything is timed, so creation is never counted. Then each
   variant is loaded with ``whisper_speedtest.load(backend, model, quantization=q)`` in rounds
   whose order rotates; before every load the weight files are evicted from the page cache with
   ``posix_fadvise(DONTNEED)`` ("cold-ish": disk read included, Python imports already warm; one
   untimed float16 load first pays the imports). ``load_result.seconds``, ``actual`` and
   ``did_fallback`` are reported, the ratios float16/int8 and float16/int4 where the variant really
   loaded, and the WER of each variant against float16's (goal: within +0.02).
2. Parallel reading. Reading a CT2 model.bin and building canonical tensors
   (``read_ct2`` + ``canonical_tensors``) sequentially vs in a two-thread pool that splits the
   encoder and decoder variables (each side copies its memory-mapped arrays with ``np.array`` and
   builds its canonical tensors); the results are checked to be identical.
3. Background load. ``load(..., background=True)``, a simulated 5 s recording (``time.sleep(5)``),
   then ``wait_until_ready``: how much of the load was hidden behind the recording and what was left.

Goal: >= 2.4x faster loading for the smallest variant (vs float16) on at least one backend.

    python benchmarks/loading.py [--model auto] [--rounds 2] [--backends whisper.cpp,faster-whisper]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from whisper_speedtest import load
from whisper_speedtest.audio import bundled_sample, load_clip
from whisper_speedtest.backends import get_backend
from whisper_speedtest.backends.loader import plan_variant
from whisper_speedtest.bench.scoring import score
from whisper_speedtest.errors import ModelNotAvailable
from whisper_speedtest.models import sources
from whisper_speedtest.models.formats import canonical as C
from whisper_speedtest.models.formats.ct2 import read_ct2, resolve_model_bin

BACKENDS = ("faster-whisper", "transformers", "openai-whisper", "whisper.cpp", "mlx-whisper")
QUANTS = ("float16", "int8", "int4")
GOAL_RATIO = 2.4
WER_TOLERANCE = 0.02
RECORDING_S = 5.0


def choose_model(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        sources.locate("base", "ct2")
        return "base"
    except ModelNotAvailable:
        return "tiny.en"


def evict(paths: list[str | None]) -> None:
    """Drop the files' clean pages from the page cache (no root needed; mapped pages stay)."""
    for path in filter(None, paths):
        p = Path(path)
        for f in [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]:
            fd = os.open(f, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def wer_of(reference: str | None, text: str) -> float | None:
    s = score(reference, text)
    return s.wer if s else None


# -- 1. variants ---------------------------------------------------------------------------------


def variant_loads(name: str, model: str, audio: np.ndarray, reference: str | None, rounds: int) -> dict:
    cls = get_backend(name)
    availability = cls.available()
    if not availability.ok:
        return {"backend": name, "skip": availability.reason}
    plans, paths, prep = {}, {}, {}
    for q in QUANTS:  # creates missing variants in the store now, untimed for the comparison
        start = time.perf_counter()
        plan = plan_variant(cls, model, q)
        prep[q] = time.perf_counter() - start
        if q != "float16" and q not in cls.quantizations:
            continue  # the backend has no such variant: nothing to time
        plans[q] = plan
        paths[q] = [plan.model.path if plan.model else None, plan.fallback_model.path]
    load(name, model, quantization="float16").close()  # pays the imports, untimed
    gc.collect()
    seconds: dict[str, list[float]] = {q: [] for q in plans}
    results, wers, texts = {}, {}, {}
    order = list(plans)
    for r in range(rounds):
        for q in order[r % len(order):] + order[: r % len(order)]:
            evict(paths[q])
            session = load(name, model, quantization=q)
            result = session.load_result
            seconds[q].append(result.seconds)
            results[q] = result
            if q not in texts:
                texts[q] = session.transcribe(audio).text
                wers[q] = wer_of(reference, texts[q])
            session.close()
            del session
            gc.collect()
    return {"backend": name, "plans": plans, "prep": prep, "seconds": seconds, "results": results,
            "wers": wers, "texts": texts, "no_variant": [q for q in QUANTS if q not in plans]}


def smallest_real(row: dict) -> str | None:
    """The smallest variant that really loaded (no fallback), other than float16."""
    real = [q for q in ("int4", "int8") if q in row["results"] and not row["results"][q].did_fallback]
    return real[0] if real else None


def print_variants(row: dict) -> list[float]:
    name = row["backend"]
    medians = {q: statistics.median(v) for q, v in row["seconds"].items()}
    prep = " ".join(f"{q} {s:.2f}s" for q, s in row["prep"].items())
    print(f"\n{name}: locate/create variants before timing (not counted): {prep}")
    for q in row["no_variant"]:
        print(f"  {q}: no such variant for {name} (not timed)")
    print("| variant | requested | actual | did_fallback | load median s | loads s | WER | ΔWER vs float16 |")
    print("|---|---|---|---|---|---|---|---|")
    base_wer = row["wers"].get("float16")
    for q, result in row["results"].items():
        wer = row["wers"][q]
        delta = "-" if wer is None or base_wer is None else f"{wer - base_wer:+.3f}"
        loads = " ".join(f"{s:.3f}" for s in row["seconds"][q])
        print(f"| {q} | {result.requested} | {result.actual} | {result.did_fallback} | {medians[q]:.3f} | {loads} | "
              f"{'-' if wer is None else f'{wer:.3f}'} | {delta} |")
    for q, result in row["results"].items():
        if result.did_fallback:
            print(f"  {q} fell back: {result.fallback_reason}")
        if q != "float16" and row["texts"][q] != row["texts"].get("float16"):
            print(f"  {q} text differs from float16: {row['texts'][q]!r}")
    ratios = []
    for q in ("int8", "int4"):
        if q not in row["results"]:
            continue
        if row["results"][q].did_fallback:
            print(f"  float16/{q}: n/a ({q} fell back to float16)")
            continue
        ratio = medians["float16"] / medians[q]
        wer, ok = row["wers"][q], True
        if wer is not None and base_wer is not None:
            ok = wer - base_wer <= WER_TOLERANCE
        print(f"  float16/{q} load ratio: {ratio:.2f}x · WER within +{WER_TOLERANCE}: {'yes' if ok else 'NO'}")
        if q == smallest_real(row):
            ratios.append(ratio if ok else 0.0)
    return ratios


# -- 2. sequential vs parallel reading -----------------------------------------------------------


def _materialize(ct2, names) -> object:
    """A Ct2Model whose ``names`` are real copies (the other variables stay memory-mapped views)."""
    variables = dict(ct2.variables)
    for key in names:
        variables[key] = np.array(variables[key])
    return replace(ct2, variables=variables)


def read_sequential(path: Path) -> dict[str, np.ndarray]:
    ct2 = read_ct2(path)
    return C.canonical_tensors(_materialize(ct2, list(ct2.variables)))


def _encoder_part(ct2) -> dict[str, np.ndarray]:
    ct2 = _materialize(ct2, [k for k in ct2.variables if k.startswith("encoder/")])
    out: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        C._linear(ct2, f"encoder/{conv}", f"encoder.{conv}", out)
    if ct2.has("encoder/position_encodings/encodings"):
        out["encoder.positional_embedding"] = C._f16(ct2.get("encoder/position_encodings/encodings"))
    else:
        out["encoder.positional_embedding"] = C._f16(C.sinusoids(1500, out["encoder.conv1.weight"].shape[0]))
    for i in range(C._count_layers(ct2, "encoder")):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        C._layer_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln", out)
        C._fused_qkv(ct2, f"{src}/self_attention/linear_0", f"{dst}.attn", out)
        C._linear(ct2, f"{src}/self_attention/linear_1", f"{dst}.attn.out", out)
        C._ffn(ct2, f"{src}/ffn", dst, out)
    C._layer_norm(ct2, "encoder/layer_norm", "encoder.ln_post", out)
    return out


def _decoder_part(ct2) -> dict[str, np.ndarray]:
    ct2 = _materialize(ct2, [k for k in ct2.variables if not k.startswith("encoder/")])
    out: dict[str, np.ndarray] = {}
    out["decoder.token_embedding.weight"] = C._f16(ct2.float_weight("decoder/embeddings/weight"))
    out["decoder.positional_embedding"] = C._f16(ct2.get("decoder/position_encodings/encodings"))
    for i in range(C._count_layers(ct2, "decoder")):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        C._layer_norm(ct2, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln", out)
        C._fused_qkv(ct2, f"{src}/self_attention/linear_0", f"{dst}.attn", out)
        C._linear(ct2, f"{src}/self_attention/linear_1", f"{dst}.attn.out", out)
        C._layer_norm(ct2, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln", out)
        C._linear(ct2, f"{src}/attention/linear_0", f"{dst}.cross_attn.query", out)
        C._fused_kv(ct2, f"{src}/attention/linear_1", f"{dst}.cross_attn", out)
        C._linear(ct2, f"{src}/attention/linear_2", f"{dst}.cross_attn.out", out)
        C._ffn(ct2, f"{src}/ffn", dst, out)
    C._layer_norm(ct2, "decoder/layer_norm", "decoder.ln", out)
    return out


def read_parallel(path: Path, pool: ThreadPoolExecutor) -> dict[str, np.ndarray]:
    ct2 = read_ct2(path)
    encoder = pool.submit(_encoder_part, ct2)
    decoder = pool.submit(_decoder_part, ct2)
    out = {**encoder.result(), **decoder.result()}
    C.validate(out, C.ct2_dims(ct2, out))
    return out


def parallel_reading(model: str, rounds: int) -> None:
    model_bin = resolve_model_bin(sources.locate(model, "ct2").path)
    size_mb = model_bin.stat().st_size / 1e6
    sequential_fp = C.fingerprint(read_sequential(model_bin))
    times: dict[str, list[float]] = {"sequential": [], "parallel": []}
    with ThreadPoolExecutor(max_workers=2) as pool:
        parallel_fp = C.fingerprint(read_parallel(model_bin, pool))  # also warms the pool
        sides = (("sequential", lambda: read_sequential(model_bin)), ("parallel", lambda: read_parallel(model_bin, pool)))
        for r in range(rounds):
            for side, fn in sides if r % 2 == 0 else sides[::-1]:
                gc.collect()  # closes the previous round's memory map so eviction can drop its pages
                evict([str(model_bin)])
                start = time.perf_counter()
                tensors = fn()
                times[side].append(time.perf_counter() - start)
                del tensors
    s, p = statistics.median(times["sequential"]), statistics.median(times["parallel"])
    print(f"\nread_ct2 + canonical_tensors, {model} model.bin {size_mb:.0f} MB, page cache evicted before each, "
          f"median of {rounds}; parallel = 2 threads (encoder | decoder)")
    print("| reading | median s | runs s |")
    print("|---|---|---|")
    for side in times:
        print(f"| {side} | {statistics.median(times[side]):.3f} | {' '.join(f'{x:.3f}' for x in times[side])} |")
    same = "identical" if sequential_fp == parallel_fp else "DIFFERENT (bug)"
    helps = s / p >= 1.05 and same == "identical"
    print(f"sequential/parallel: {s / p:.2f}x · canonical tensors {same} · "
          f"{'parallel helps: keep it' if helps else 'parallel does not help (< 1.05x): keep sequential'}")


def _mlx_half(path: Path, encoder: bool) -> dict:
    """One half of the weights (encoder, or the rest), loaded and evaluated on a stream of this thread's own."""
    import mlx.core as mx

    with mx.stream(mx.new_stream(mx.cpu)):
        weights = {k: v for k, v in mx.load(str(path / "weights.safetensors")).items() if k.startswith("encoder.") == encoder}
        mx.eval(weights)
    return weights


def _mlx_build(path: Path, parallel: ThreadPoolExecutor | None):
    """mlx-whisper's ``load_model`` (float16), with the weights read in one go, or as encoder | decoder in two
    threads. MLX loads safetensors lazily: the file is read when the arrays are evaluated."""
    import json as _json

    import mlx.core as mx
    from mlx.utils import tree_unflatten
    from mlx_whisper import whisper as mlx_whisper_model

    config = _json.loads((path / "config.json").read_text())
    config.pop("model_type", None)
    config.pop("quantization", None)
    model = mlx_whisper_model.Whisper(mlx_whisper_model.ModelDimensions(**config), mx.float16)
    if parallel is None:
        weights = mx.load(str(path / "weights.safetensors"))
    else:
        weights = {k: v for half in parallel.map(lambda e: _mlx_half(path, e), (True, False)) for k, v in half.items()}
    model.update(tree_unflatten(list(weights.items())))
    mx.eval(model.parameters())
    return model


def mlx_parallel_loading(model: str, rounds: int) -> None:
    """Issue 16: the fast-loading design's parallel encoder/decoder loading, measured on MLX as well."""
    try:
        import mlx.core as mx
        from mlx.utils import tree_flatten

        path = Path(sources.locate(model, "mlx").path)  # made in the store before anything is timed
    except Exception as exc:
        print(f"\nMLX parallel loading: skipped — {type(exc).__name__}: {' '.join(str(exc).split())[:160]}")
        return

    def digest(m) -> float:
        return float(sum(mx.sum(v.astype(mx.float32)).item() for _, v in tree_flatten(m.parameters())))

    times: dict[str, list[float]] = {"sequential": [], "parallel": []}
    with ThreadPoolExecutor(max_workers=2) as pool:
        same = digest(_mlx_build(path, None)) == digest(_mlx_build(path, pool))  # also pays the imports
        sides = (("sequential", None), ("parallel", pool))
        for r in range(rounds):
            for side, executor in sides if r % 2 == 0 else sides[::-1]:
                gc.collect()
                evict([str(path)])
                start = time.perf_counter()
                built = _mlx_build(path, executor)
                times[side].append(time.perf_counter() - start)
                del built
    s, p = statistics.median(times["sequential"]), statistics.median(times["parallel"])
    size_mb = sum(f.stat().st_size for f in path.glob("weights.*")) / 1e6
    print(f"\nmlx-whisper load_model, {model} {size_mb:.0f} MB float16, page cache evicted before each, median of {rounds}; "
          f"parallel = 2 threads evaluating encoder | decoder parameters")
    print("| loading | median s | runs s |")
    print("|---|---|---|")
    for side in times:
        print(f"| {side} | {statistics.median(times[side]):.3f} | {' '.join(f'{x:.3f}' for x in times[side])} |")
    helps = s / p >= 1.05 and same
    print(f"sequential/parallel: {s / p:.2f}x · parameters {'identical' if same else 'DIFFERENT (bug)'} · "
          f"{'parallel helps: adopt it in the mlx-whisper backend' if helps else 'parallel does not help (< 1.05x): keep sequential'}")


# -- 3. background load -----------------------------------------------------------------------------


def background_load(name: str, model: str) -> str:
    cls = get_backend(name)
    if not cls.available().ok:
        return f"| {name} | – | – | – | skipped: {cls.available().reason} |"
    evict([sources.locate(model, cls.model_format).path])
    start = time.perf_counter()
    session = load(name, model, quantization="float16", background=True)
    time.sleep(RECORDING_S)  # the user is speaking
    after_recording = time.perf_counter()
    result = session.wait_until_ready(timeout=120)
    remaining = time.perf_counter() - after_recording
    hidden = min(result.seconds, RECORDING_S)
    session.close()
    gc.collect()
    total = after_recording - start + remaining
    return (f"| {name} | {result.seconds:.3f} | {hidden:.3f} ({hidden / result.seconds:.0%}) | {remaining:.3f} | "
            f"ready {total:.2f} s after start vs {RECORDING_S + result.seconds:.2f} s loading after the recording |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="auto", help="auto = base if its CT2 weights are here, else tiny.en")
    parser.add_argument("--rounds", type=int, default=2, help="timed loads per variant")
    parser.add_argument("--read-rounds", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()

    model = choose_model(args.model)
    clip = load_clip(bundled_sample())
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    print(f"model {model} · {clip.name} {clip.duration_s:.1f} s · {os.cpu_count()} logical cores · "
          f"{args.rounds} cold-ish loads per variant (page cache evicted, imports warm)")

    best: list[tuple[float, str]] = []
    for name in names:
        try:
            row = variant_loads(name, model, clip.samples, clip.reference, args.rounds)
        except Exception as exc:  # one backend's failure must not stop the others
            row = {"backend": name, "skip": f"failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}
        if "skip" in row:
            print(f"\n{name}: skipped — {row['skip']}")
            continue
        best.extend((ratio, f"{name} {smallest_real(row)}") for ratio in print_variants(row))

    parallel_reading(model, args.read_rounds)
    if "mlx-whisper" in names:
        mlx_parallel_loading(model, args.read_rounds)

    print(f"\nbackground load (float16, page cache evicted), simulated {RECORDING_S:.0f} s recording")
    print("| backend | load s | hidden s | remaining wait s | |")
    print("|---|---|---|---|---|")
    for name in names:
        try:
            print(background_load(name, model))
        except Exception as exc:
            print(f"| {name} | – | – | – | failed: {type(exc).__name__}: {' '.join(str(exc).split())[:160]} |")

    top = max(best, default=(0.0, "none"))
    verdict = "met" if top[0] >= GOAL_RATIO else "NOT met"
    print(f"\ngoal: >= {GOAL_RATIO}x faster loading for the smallest variant on at least one backend "
          f"(WER within +{WER_TOLERANCE}) -> {verdict}; best: {top[1]} {top[0]:.2f}x")


if __name__ == "__main__":
    main()
