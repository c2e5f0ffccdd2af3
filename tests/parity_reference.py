"""Reference parity: each library's own plain, documented call, and our rows to compare with it.

The plain calls here are written from each library's documentation with the decode settings every
row of ours runs with (language en, temperature 0 with no fallback, greedy = beam 1, conditioning on
the previous window's text). They never call our adapters. They load the files our row loaded and
use the compute type the row reports (faster-whisper's int8 on CPU, transformers' float32, ...).

Used by ``tests/test_parity.py`` (13 clips) and ``benchmarks/parity.py`` (the 77-clip set).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.conftest import run_cli
from whisper_speedtest.dataset.reading import manifest_selection
from whisper_speedtest.bench.scoring import normalize, score_many

BACKENDS = ("faster-whisper", "transformers", "openai-whisper", "whisper.cpp", "mlx-whisper", "whisper-mps",
            "onnxruntime", "openvino")
LIBRARIES = {  # the import each plain call needs, to skip with a reason where it is missing
    "faster-whisper": "faster_whisper",
    "transformers": "transformers",
    "openai-whisper": "whisper",
    "whisper.cpp": "pywhispercpp",
    "mlx-whisper": "mlx_whisper",
    "whisper-mps": "whisper_mps",
    "onnxruntime": "optimum.onnxruntime",
    "openvino": "optimum.intel",
}
LANGUAGE = "en"
PER_CLIP, DATASET = "per-clip", "dataset"


@dataclass(frozen=True)
class Clips:
    """A manifest's audio (read with soundfile, independently of our reader) and references."""

    paths: tuple[str, ...]
    references: tuple[str, ...]
    audios: tuple[np.ndarray, ...]


def first_clips(manifest: Path, count: int, directory: Path) -> Path:
    """A manifest of the first ``count`` entries of ``manifest`` (absolute audio paths), in ``directory``."""
    entries = manifest_selection(manifest).entries[:count]
    subset = directory / f"{manifest.stem}-first{count}.jsonl"
    subset.write_text("".join(json.dumps({"audio": e.path, "text": e.reference}) + "\n" for e in entries))
    return subset


def read_clips(manifest: Path) -> Clips:
    import soundfile as sf

    entries = manifest_selection(manifest).entries
    audios = []
    for entry in entries:
        samples, rate = sf.read(entry.path, dtype="float32")
        assert rate == 16_000 and samples.ndim == 1, f"{entry.path}: expected 16 kHz mono"
        audios.append(samples)
    return Clips(tuple(e.path for e in entries), tuple(e.reference or "" for e in entries), tuple(audios))


@dataclass(frozen=True)
class Row:
    """One backend's row of a CLI run: the files it loaded, the variant it reports, its transcripts."""

    backend: str
    status: str
    reason: str
    model_path: str | None
    fingerprint: str | None
    variant: str
    texts: tuple[str, ...]


def _row(result: dict, mode: str) -> Row:
    model = result.get("model") or {}
    if mode == DATASET:
        texts = tuple((result.get("dataset") or {}).get("transcripts") or ())
    else:
        texts = tuple(clip["text"] for clip in result.get("clips") or ())
    return Row(
        result["backend"], result["status"], result.get("reason", ""),
        model.get("path"), model.get("fingerprint"), result.get("actual_variant", ""), texts,
    )


def benchmark_rows(model: str, backends: tuple[str, ...], manifest: Path, mode: str, output: Path,
                   batch_size: int = 5, timeout: float = 1800) -> dict[str, Row]:
    """Our rows, from one run of the real CLI over every backend; a CLI failure raises with its stderr."""
    audio = ["--dataset", str(manifest), "--batch-size", str(batch_size)] if mode == DATASET else ["-a", str(manifest)]
    args = ["benchmark", "-m", model, "-b", ",".join(backends), *audio,
            "-n", "1", "--warmup", "0", "-o", str(output), "--no-history", "-q"]
    done = run_cli(*args, timeout=timeout)
    assert done.returncode == 0, f"benchmark {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    results = json.loads(output.read_text())["results"]
    return {r["backend"]: _row(r, mode) for r in results}


# --- the plain calls: (model path, row variant, clips, mode, batch size) -> one text per clip -----

def _faster_whisper(path: str, variant: str, clips: Clips, mode: str, batch_size: int) -> list[str]:
    """``WhisperModel.transcribe``; our dataset mode runs it clip by clip too."""
    from faster_whisper import WhisperModel

    model = WhisperModel(path, device="cpu", compute_type=variant)
    texts = []
    for audio in clips.audios:
        segments, _ = model.transcribe(
            audio, language=LANGUAGE, beam_size=1, temperature=0.0, condition_on_previous_text=True
        )
        texts.append("".join(s.text for s in segments))
    return texts


def _transformers(path: str, variant: str, clips: Clips, mode: str, batch_size: int) -> list[str]:
    """``pipeline("automatic-speech-recognition", model=<hf folder>)``; a list with ``batch_size`` in dataset mode.

    transformers 5 loads the stored float16 weights as float16 unless told (``dtype="auto"``) and
    beam-searches with 5 beams where the generation config sets none: both are given as our row ran.
    """
    import torch
    from transformers import pipeline

    pipe = pipeline("automatic-speech-recognition", model=path, device="cpu", dtype=getattr(torch, variant))
    generate_kwargs = {"num_beams": 1}
    if getattr(pipe.model.generation_config, "is_multilingual", False):
        generate_kwargs.update(language=LANGUAGE, task="transcribe")
    inputs = [{"raw": a, "sampling_rate": 16_000} for a in clips.audios]
    if mode == DATASET:
        outputs = pipe(inputs, batch_size=batch_size, generate_kwargs=generate_kwargs)
    else:
        outputs = [pipe(one, generate_kwargs=generate_kwargs) for one in inputs]
    return [o["text"] for o in outputs]


def _openai_whisper(path: str, variant: str, clips: Clips, mode: str, batch_size: int) -> list[str]:
    """``model.transcribe`` per clip; ``whisper.decode`` over batches of 30 s log-mels in dataset mode."""
    import whisper

    model = whisper.load_model(path, device="cpu")
    fp16 = variant == "float16"
    if mode == PER_CLIP:
        return [
            model.transcribe(a, language=LANGUAGE, temperature=0.0, condition_on_previous_text=True, fp16=fp16)["text"]
            for a in clips.audios
        ]
    import torch

    options = whisper.DecodingOptions(language=LANGUAGE, temperature=0.0, fp16=fp16, without_timestamps=True)
    texts = []
    for start in range(0, len(clips.audios), batch_size):
        batch = clips.audios[start : start + batch_size]
        mels = torch.stack([whisper.log_mel_spectrogram(whisper.pad_or_trim(a), model.dims.n_mels) for a in batch])
        texts.extend(r.text for r in whisper.decode(model, mels, options))
    return texts


def _whisper_cpp(path: str, variant: str, clips: Clips, mode: str, batch_size: int) -> list[str]:
    """pywhispercpp ``Model(path).transcribe``: greedy (its default), temperature 0 without fallback.

    Its defaults start every call fresh (``no_context=True``) and condition each 30 s window on the
    previous one's text within a call (``n_max_text_ctx=16384``), i.e. condition_on_previous_text.
    """
    from pywhispercpp.model import Model

    model = Model(path, redirect_whispercpp_logs_to=None, print_progress=False, print_realtime=False)
    return [
        " ".join(s.text.strip() for s in model.transcribe(a, language=LANGUAGE, temperature=0.0, temperature_inc=0.0))
        for a in clips.audios
    ]


def _mlx_whisper(path: str, variant: str, clips: Clips, mode: str, batch_size: int) -> list[str]:
    """``mlx_whisper.transcribe(audio, path_or_hf_repo=<mlx folder>)``."""
    import mlx_whisper

    return [
        mlx_whisper.transcribe(
            a, path_or_hf_repo=path, language=LANGUAGE, temperature=0.0, condition_on_previous_text=True, verbose=None
        )["text"]
        for a in clips.audios
    ]


def _whisper_mps(path: str, variant: str, clips: Clips, mode: str, batch_size: int) -> list[str]:
    """whisper-mps ``transcribe(audio, model=...)``.

    Its ``load_model`` takes only official names and downloads them (checking OpenAI's SHA-256),
    so without network the model is built from our checkpoint with the library's own
    ``torch_whisper`` and ``torch_to_mlx`` and put where ``transcribe`` looks models up.
    """
    import importlib

    import mlx.core as mx
    import torch
    from whisper_mps.whisper import torch_whisper
    from whisper_mps.whisper.load_models import torch_to_mlx

    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    network = torch_whisper.Whisper(torch_whisper.ModelDimensions(**checkpoint["dims"]))
    network.load_state_dict(checkpoint["model_state_dict"])
    module = importlib.import_module("whisper_mps.whisper.transcribe")  # the package re-exports the function
    module.ModelHolder.model, module.ModelHolder.model_name = torch_to_mlx(network, mx.float16), path
    try:
        return [
            module.transcribe(
                a, model=path, language=LANGUAGE, temperature=0.0, condition_on_previous_text=True, verbose=None
            )["text"]
            for a in clips.audios
        ]
    finally:
        module.ModelHolder.model = module.ModelHolder.model_name = None


def optimum_pipeline(backend: str, path: str):
    """optimum's own call, as its documentation shows it: ``ORTModelForSpeechSeq2Seq`` /
    ``OVModelForSpeechSeq2Seq`` from the export folder, inside a transformers ``pipeline()``."""
    from transformers import AutoProcessor, pipeline

    if backend == "onnxruntime":
        from optimum.onnxruntime import ORTModelForSpeechSeq2Seq as Model
    else:
        from optimum.intel import OVModelForSpeechSeq2Seq as Model
    processor = AutoProcessor.from_pretrained(path)
    return pipeline("automatic-speech-recognition", model=Model.from_pretrained(path),
                    tokenizer=processor.tokenizer, feature_extractor=processor.feature_extractor)


def _optimum(backend: str):
    """The plain pipeline per clip with greedy decoding (beam 1); our dataset mode runs these clip by clip."""

    def call(path: str, variant: str, clips: Clips, mode: str, batch_size: int) -> list[str]:
        pipe = optimum_pipeline(backend, path)
        generate_kwargs = {"num_beams": 1}
        if getattr(pipe.model.generation_config, "is_multilingual", False):
            generate_kwargs.update(language=LANGUAGE, task="transcribe")
        return [pipe({"raw": a.copy(), "sampling_rate": 16_000}, generate_kwargs=generate_kwargs)["text"]
                for a in clips.audios]

    return call


PLAIN_CALLS: dict[str, Callable[..., list[str]]] = {
    "faster-whisper": _faster_whisper,
    "transformers": _transformers,
    "openai-whisper": _openai_whisper,
    "whisper.cpp": _whisper_cpp,
    "mlx-whisper": _mlx_whisper,
    "whisper-mps": _whisper_mps,
    "onnxruntime": _optimum("onnxruntime"),
    "openvino": _optimum("openvino"),
}
# Where our dataset mode runs a backend clip by clip, its plain reference is the per-clip one.
BATCHED_PLAIN = {"transformers", "openai-whisper"}


def plain_texts(backend: str, row: Row, clips: Clips, mode: str, batch_size: int = 5) -> list[str]:
    """The library's plain call on the files ``row`` loaded, with its reported variant."""
    texts = PLAIN_CALLS[backend](row.model_path, row.variant, clips, mode, batch_size)
    return [t.strip() for t in texts]


def plain_mode(backend: str, mode: str) -> str:
    """The plain call's mode that ``mode`` is compared with (dataset mode is per clip unless batched)."""
    return mode if backend in BATCHED_PLAIN else PER_CLIP


# --- comparison ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    backend: str
    wer_ours: float
    wer_plain: float
    identical: int
    clips: int
    differing: tuple[tuple[str, str, str], ...]  # (clip, ours, plain), normalized

    @property
    def diff(self) -> float:
        return abs(self.wer_ours - self.wer_plain)

    def describe(self) -> str:
        lines = [
            f"{self.backend}: WER ours {self.wer_ours:.4f} vs plain {self.wer_plain:.4f} "
            f"(|diff| {self.diff:.4f}); {self.identical}/{self.clips} transcripts identical after normalization"
        ]
        lines += [f"  {clip}\n    ours : {ours}\n    plain: {plain}" for clip, ours, plain in self.differing[:5]]
        return "\n".join(lines)


def compare(backend: str, ours: tuple[str, ...], plain: list[str], clips: Clips) -> Comparison:
    assert len(ours) == len(plain) == len(clips.references), (len(ours), len(plain), len(clips.references))
    pairs = [(normalize(o), normalize(p)) for o, p in zip(ours, plain)]
    differing = tuple((Path(c).name, o, p) for c, (o, p) in zip(clips.paths, pairs) if o != p)
    return Comparison(
        backend,
        score_many(clips.references, list(ours)).wer,
        score_many(clips.references, plain).wer,
        len(pairs) - len(differing),
        len(pairs),
        differing,
    )
