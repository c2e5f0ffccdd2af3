"""Tuned vs default: our adapter's configuration against each library's out-of-the-box defaults.

For every backend, in one process and on the same audio, the adapter (``cls().load(...)`` with
``LoadOptions()``, then ``transcribe(samples, DecodeOptions(beam_size=1))``) is timed against the
library called directly with its defaults at the same beam size:

    faster-whisper   WhisperModel(path)                       compute_type "default", cpu_threads 0
    transformers     pipeline("automatic-speech-recognition", model=path)
    openai-whisper   whisper.load_model(path).transcribe(audio, beam_size=None), torch's default threads
    whisper.cpp      pywhispercpp Model(path)                 n_threads min(4, cores)
    mlx-whisper      mlx_whisper.transcribe(audio, path_or_hf_repo=path)

Both sides are warmed up once, then run alternately (the order flips every round) so that machine
noise hits them alike; the median of ``--runs`` is reported. Goal: tuned >= 1.3x faster than the
default at a WER no more than 0.01 worse; where the default is faster, the verdict says so.

    python benchmarks/tuning.py [--model tiny.en] [--runs 3] [--backends faster-whisper,whisper.cpp]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import statistics
import time
import warnings
from collections.abc import Callable
from importlib import metadata

import numpy as np

from whisper_speedtest.audio import bundled_sample, load_clip
from whisper_speedtest.backends import get_backend
from whisper_speedtest.backends.base import DecodeOptions, LoadOptions
from whisper_speedtest.bench.scoring import score
from whisper_speedtest.models import sources

BACKENDS = ("faster-whisper", "transformers", "openai-whisper", "whisper.cpp", "mlx-whisper")
GOAL_RATIO = 1.3
WER_TOLERANCE = 0.01
BEAM = 1


def torch_default_threads() -> int | None:
    """torch's own thread count, read before any adapter calls torch.set_num_threads."""
    try:
        metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None
    import torch

    return torch.get_num_threads()


def set_torch_threads(count: int | None) -> None:
    if count:
        import torch

        torch.set_num_threads(count)


class Default:
    """A library called directly with its defaults: ``transcribe(audio) -> text``."""

    def __init__(self, transcribe: Callable[[np.ndarray], str], settings: str, torch_threads: int | None = None,
                 keep: object = None) -> None:
        self.transcribe, self.settings, self.torch_threads, self.keep = transcribe, settings, torch_threads, keep


def default_faster_whisper(path: str, _torch_threads: int | None) -> Default:
    from faster_whisper import WhisperModel

    model = WhisperModel(path)  # device "auto", compute_type "default", cpu_threads 0

    def run(audio: np.ndarray) -> str:
        segments, _ = model.transcribe(audio, beam_size=BEAM)
        return "".join(s.text for s in segments).strip()

    return Default(run, f"compute_type={model.model.compute_type} cpu_threads=0 (library default)", keep=model)


def default_transformers(path: str, torch_threads: int | None) -> Default:
    from transformers import pipeline

    set_torch_threads(torch_threads)
    pipe = pipeline("automatic-speech-recognition", model=path)

    def run(audio: np.ndarray) -> str:
        result = pipe({"raw": audio.copy(), "sampling_rate": 16_000}, generate_kwargs={"num_beams": BEAM})
        return result["text"].strip()

    model = pipe.model
    settings = (f"dtype={str(model.dtype).removeprefix('torch.')} attention={model.config._attn_implementation} "
                f"device={model.device} torch_threads={torch_threads}")
    return Default(run, settings, torch_threads, keep=pipe)


def default_openai_whisper(path: str, torch_threads: int | None) -> Default:
    import whisper

    set_torch_threads(torch_threads)
    model = whisper.load_model(path)

    def run(audio: np.ndarray) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "FP16 is not supported on CPU; using FP32 instead"
            return model.transcribe(audio, beam_size=None)["text"].strip()

    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    return Default(run, f"device={model.device} dtype={dtype} fp16=True(default) torch_threads={torch_threads}",
                   torch_threads, keep=model)


def default_whisper_cpp(path: str, _torch_threads: int | None) -> Default:
    from pywhispercpp.model import Model

    with contextlib.redirect_stdout(io.StringIO()):
        model = Model(path)

    def run(audio: np.ndarray) -> str:
        with contextlib.redirect_stdout(io.StringIO()):  # default print_progress writes to stdout
            segments = model.transcribe(audio.astype(np.float32, copy=False))
        return " ".join(s.text.strip() for s in segments).strip()

    threads = getattr(getattr(model, "_params", None), "n_threads", None)
    if threads is None:
        threads = f"min(4, {os.cpu_count()})"
    return Default(run, f"n_threads={threads} greedy (library default)", keep=model)


def default_mlx_whisper(path: str, _torch_threads: int | None) -> Default:
    import mlx.core as mx
    import mlx_whisper

    def run(audio: np.ndarray) -> str:
        return mlx_whisper.transcribe(audio, path_or_hf_repo=path)["text"].strip()

    return Default(run, f"device={mx.default_device()} fp16=True temperature=(0.0..1.0) (library defaults)")


DEFAULTS = {
    "faster-whisper": default_faster_whisper,
    "transformers": default_transformers,
    "openai-whisper": default_openai_whisper,
    "whisper.cpp": default_whisper_cpp,
    "mlx-whisper": default_mlx_whisper,
}


def timed(fn: Callable[[], str]) -> tuple[float, str]:
    start = time.perf_counter()
    text = fn()
    return time.perf_counter() - start, text


def verdict(ratio: float, wer_tuned: float | None, wer_default: float | None) -> str:
    wer_ok = wer_tuned is None or wer_default is None or wer_tuned <= wer_default + WER_TOLERANCE
    if ratio < 1.0:
        return "default already best — keep it" if wer_ok or wer_default is None else "default faster, tuned more accurate"
    if ratio >= GOAL_RATIO and wer_ok:
        return f"goal met (>= {GOAL_RATIO}x, WER within +{WER_TOLERANCE})"
    if ratio >= GOAL_RATIO:
        return f"faster but WER worse than +{WER_TOLERANCE}: goal NOT met"
    return f"tuned faster, below {GOAL_RATIO}x: goal NOT met"


def fmt_wer(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def measure(name: str, model: str, audio: np.ndarray, reference: str | None, runs: int,
            torch_threads: int | None) -> dict:
    cls = get_backend(name)
    availability = cls.available()
    if not availability.ok:
        return {"backend": name, "skip": availability.reason}
    ref = sources.locate(model, cls.model_format)
    tuned = cls()
    tuned.load(ref, LoadOptions())
    tuned_params = tuned.params()
    tuned_threads = tuned_params.get("threads") if name in ("transformers", "openai-whisper") else None
    default = DEFAULTS[name](ref.path, torch_threads)
    decode = DecodeOptions(beam_size=BEAM)

    def run_tuned() -> str:
        set_torch_threads(tuned_threads)
        return tuned.transcribe(audio, decode).text

    def run_default() -> str:
        set_torch_threads(default.torch_threads)
        return default.transcribe(audio)

    run_tuned(), run_default()  # warm-up
    times: dict[str, list[float]] = {"tuned": [], "default": []}
    texts: dict[str, str] = {}
    sides = (("tuned", run_tuned), ("default", run_default))
    for i in range(runs):
        for side, fn in sides if i % 2 == 0 else sides[::-1]:
            seconds, texts[side] = timed(fn)
            times[side].append(seconds)
    tuned.close()
    settings_d = default.settings
    default.keep = None
    gc.collect()
    wer = {side: (s.wer if (s := score(reference, texts[side])) else None) for side in texts}
    t, d = statistics.median(times["tuned"]), statistics.median(times["default"])
    settings_t = " ".join(f"{k}={v}" for k, v in tuned_params.items() if k not in ("beam_size", "decoder", "longform"))
    return {"backend": name, "tuned": t, "default": d, "ratio": d / t, "wer_tuned": wer["tuned"],
            "wer_default": wer["default"], "verdict": verdict(d / t, wer["tuned"], wer["default"]),
            "times": times, "settings_tuned": settings_t, "settings_default": settings_d, "texts": texts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args()

    clip = load_clip(bundled_sample())  # jfk.txt beside it is the reference
    torch_threads = torch_default_threads()
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    print(f"model {args.model} · {clip.name} {clip.duration_s:.1f} s · beam {BEAM} · warm-up 1 · median of {args.runs}"
          f" · {os.cpu_count()} logical cores · torch default threads {torch_threads}")
    rows = []
    for name in names:
        if name not in DEFAULTS:
            print(f"{name}: skipped — no out-of-the-box default defined in this script")
            continue
        try:
            row = measure(name, args.model, clip.samples, clip.reference, args.runs, torch_threads)
        except Exception as exc:  # one backend's failure must not stop the others
            row = {"backend": name, "skip": f"failed: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"}
        rows.append(row)
        if "skip" in row:
            print(f"{name}: skipped — {row['skip']}")
            continue
        print(f"\n{name}")
        print(f"  tuned   : {row['settings_tuned']}")
        print(f"  default : {row['settings_default']}")
        print(f"  tuned runs   {' '.join(f'{x:.3f}' for x in row['times']['tuned'])} s")
        print(f"  default runs {' '.join(f'{x:.3f}' for x in row['times']['default'])} s")
        if row["texts"]["tuned"] != row["texts"]["default"]:
            print(f"  tuned text  : {row['texts']['tuned']}")
            print(f"  default text: {row['texts']['default']}")

    print("\n| backend | tuned median s | default median s | default/tuned | WER tuned | WER default | verdict |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        if "skip" in row:
            print(f"| {row['backend']} | – | – | – | – | – | skipped: {row['skip']} |")
        else:
            print(f"| {row['backend']} | {row['tuned']:.3f} | {row['default']:.3f} | {row['ratio']:.2f}x | "
                  f"{fmt_wer(row['wer_tuned'])} | {fmt_wer(row['wer_default'])} | {row['verdict']} |")


if __name__ == "__main__":
    main()
