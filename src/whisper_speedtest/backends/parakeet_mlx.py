"""parakeet-mlx: NVIDIA's Parakeet TDT (not Whisper) on MLX, with weights from the Hugging Face cache.

Parakeet is a different model family, so it never runs a catalog Whisper model: whichever Whisper
model a benchmark asks for, this backend runs its own Parakeet model (from :data:`PARAKEET_MODELS`),
and its rows say ``family = "parakeet"``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadOption, ModelNotAvailable, QuantizationUnavailable
from ..models.hub_cache import HubCache, extra_hub_cache_dirs
from ..models.locations import OwnPlace, own_copy
from ..models.ref import ModelRef
from .base import Availability, Backend, DecodeOptions, LoadOptions, LoadResult, Transcript

MODEL_FORMAT = "parakeet"
MODEL_ENV = "WHISPER_SPEEDTEST_PARAKEET_MODEL"  # documented with the others in docs/environment.md
CHUNK_SECONDS = 120.0  # parakeet-mlx's CLI defaults for long audio
OVERLAP_SECONDS = 15.0
_WEIGHT_FILES = ("config.json", "model.safetensors")
STREAM_CONTEXT = (256, 256)  # transcribe_stream's defaults: left and right attention context, in encoder frames
STREAM_DEPTH = 1


@dataclass(frozen=True)
class ParakeetModel:
    """One Parakeet checkpoint and where each runtime publishes it."""

    name: str
    mlx_repo: str  # parakeet-mlx (config.json + model.safetensors)
    coreml_repo: str  # FluidAudio (Core ML packages)
    languages: tuple[str, ...]  # empty: multilingual with automatic detection


PARAKEET_MODELS: dict[str, ParakeetModel] = {
    m.name: m
    for m in (
        ParakeetModel("parakeet-tdt-0.6b-v2", "mlx-community/parakeet-tdt-0.6b-v2", "FluidInference/parakeet-tdt-0.6b-v2-coreml", ("en",)),
        ParakeetModel("parakeet-tdt-0.6b-v3", "mlx-community/parakeet-tdt-0.6b-v3", "FluidInference/parakeet-tdt-0.6b-v3-coreml", ()),
    )
}
DEFAULT_PARAKEET = "parakeet-tdt-0.6b-v2"  # English, like the bundled sample


def parakeet_model(name: str | None = None) -> ParakeetModel:
    """The Parakeet model to run: ``name``, else ``$WHISPER_SPEEDTEST_PARAKEET_MODEL``, else v2."""
    key = name or os.environ.get(MODEL_ENV) or DEFAULT_PARAKEET
    if key not in PARAKEET_MODELS:
        raise BadOption(f"unknown Parakeet model {key!r}; choose from {', '.join(PARAKEET_MODELS)}")
    return PARAKEET_MODELS[key]


def check_language(model: ParakeetModel, language: str | None) -> str:
    """The language actually used: Parakeet has no language switch, so a mismatch is refused."""
    if not model.languages:
        return "auto (Parakeet detects it)"
    if language not in (None, *model.languages):
        raise BadOption(f"{model.name} transcribes only {', '.join(model.languages)}, not {language!r}")
    return model.languages[0]


def parakeet_places(name: str | None = None) -> tuple[OwnPlace, ...]:
    """The parakeet-mlx repo's snapshot in each Hugging Face cache (``HF_HUB_CACHE``, then
    ``$WHISPER_SPEEDTEST_HUB_CACHES``); a cache without it gives the repo's folder, which is missing."""
    from huggingface_hub.file_download import repo_folder_name

    model = parakeet_model(name)
    places = []
    for cache in (HubCache(), *(HubCache(d) for d in extra_hub_cache_dirs())):
        listing = cache.listing(model.mlx_repo)
        folder = (listing.repo_dir / "snapshots" / listing.revision if listing.repo_dir and listing.revision
                  else cache.cache_dir / repo_folder_name(repo_id=model.mlx_repo, repo_type="model"))
        places.append(OwnPlace(model.name, MODEL_FORMAT, folder, _WEIGHT_FILES, model.mlx_repo))
    return tuple(places)


def locate_parakeet(name: str | None = None) -> ModelRef:
    """The parakeet-mlx weights in a Hugging Face cache, or raise."""
    model = parakeet_model(name)
    places = parakeet_places(name)
    found = own_copy(places)
    if found is None:
        missing = [f for f in _WEIGHT_FILES if not (places[0].path / f).is_file()]
        raise ModelNotAvailable(
            f"Parakeet weights {model.mlx_repo} are not in the Hugging Face cache (missing {', '.join(missing)}); "
            f"fetch them with: hf download {model.mlx_repo}"
        )
    dtype = safetensors_dtype(found.path / "model.safetensors")
    return ModelRef(model.name, MODEL_FORMAT, str(found.path), dtype, None, f"hf:{model.mlx_repo}")


def safetensors_dtype(path: Path) -> str:
    """The most common tensor dtype in a safetensors file, read from its JSON header only."""
    import json
    import struct
    from collections import Counter

    names = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "I8": "int8", "U32": "uint32"}
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    counts = Counter(v["dtype"] for k, v in header.items() if k != "__metadata__")
    common = counts.most_common(1)[0][0] if counts else "unknown"
    return names.get(common, common.lower())


def transcript_from_aligned(result: Any, language: str | None) -> Transcript:
    """A Transcript from parakeet-mlx's ``AlignedResult`` (one segment per sentence)."""
    segments = tuple(
        {"start": round(float(s.start), 3), "end": round(float(s.end), 3), "text": s.text} for s in result.sentences
    )
    return Transcript(result.text.strip(), segments, language)


class ParakeetMlxBackend(Backend):
    name = "parakeet-mlx"
    original_names = ("ParakeetMLXImplementation",)
    display_name = "parakeet-mlx (Parakeet TDT)"
    requires = ("parakeet-mlx", "mlx")
    platforms = ("darwin", "linux")
    model_format = MODEL_FORMAT
    family = "parakeet"
    extra = "parakeet"
    library_streaming = (f"parakeet-mlx transcribe_stream (context {STREAM_CONTEXT[0]}/{STREAM_CONTEXT[1]} frames, depth {STREAM_DEPTH}): "
                         "finalized tokens committed, draft tokens shown")

    def __init__(self) -> None:
        super().__init__()
        self._model = None
        self._spec: ParakeetModel | None = None
        self._dtype = None

    @classmethod
    def available(cls) -> Availability:
        base = super().available()
        if not base.ok:
            return base
        try:
            locate_parakeet()
        except (ModelNotAvailable, BadOption) as exc:
            return Availability(False, str(exc))
        if not hasattr(Backend, "locate_model"):
            return Availability(False, "the benchmark planner cannot locate Parakeet models yet (Backend.locate_model)")
        return Availability(True)

    @classmethod
    def locate_model(cls, name: str) -> ModelRef:
        """Parakeet ignores the Whisper model asked for and runs its own (see the module docstring)."""
        return locate_parakeet()

    @classmethod
    def model_places(cls, name: str) -> tuple[OwnPlace, ...]:
        return parakeet_places()

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        if model.format != MODEL_FORMAT or model.name not in PARAKEET_MODELS:
            raise ModelNotAvailable(
                f"parakeet-mlx runs Parakeet models ({', '.join(PARAKEET_MODELS)}), not {model.name} ({model.format})"
            )
        if options.quantization not in (None, "float16"):
            raise QuantizationUnavailable("parakeet-mlx has no quantized variants here")
        import mlx.core as mx
        from parakeet_mlx import from_pretrained

        on_gpu = mx.default_device().type == mx.gpu
        # The library's default is bfloat16; the MLX CPU device runs float32 far better.
        self._dtype = mx.bfloat16 if on_gpu else mx.float32
        self._model = from_pretrained(model.path, dtype=self._dtype)
        self._spec = PARAKEET_MODELS[model.name]
        actual = "bfloat16" if on_gpu else "float32"
        self._params = {"device": f"mlx-{'gpu' if on_gpu else 'cpu'}", "dtype": actual, "model": model.name}
        return LoadResult(requested=options.quantization or "default", actual=actual)

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        import mlx.core as mx
        from parakeet_mlx import Beam, DecodingConfig, Greedy
        from parakeet_mlx.audio import get_logmel

        language = check_language(self._spec, options.language)
        decoding = Beam(beam_size=options.beam_size) if options.beam_size > 1 else Greedy()
        config = DecodingConfig(decoding=decoding)
        if len(audio) / 16000 <= CHUNK_SECONDS:
            # Uncached: get_logmel is an unbounded lru_cache, which would keep every run's audio alive.
            logmel = getattr(get_logmel, "__wrapped__", get_logmel)
            mel = logmel(mx.array(np.asarray(audio, dtype=np.float32)), self._model.preprocessor_config)
            result = self._model.generate(mel, decoding_config=config)[0]
        else:
            result = self._transcribe_long(audio, config)
        self.record_params(
            language=language,
            beam_size=options.beam_size,
            decoder="beam" if options.beam_size > 1 else "greedy",
            temperature="n/a (TDT decoding)",
            chunk_s=CHUNK_SECONDS,
            overlap_s=OVERLAP_SECONDS,
        )
        return transcript_from_aligned(result, None if language.startswith("auto") else language)

    def _transcribe_long(self, audio: np.ndarray, config) -> Any:
        """Over two minutes: the library's own chunking, which reads a file through ffmpeg."""
        import shutil

        import soundfile as sf

        if shutil.which("ffmpeg") is None:
            raise RuntimeError("parakeet-mlx needs ffmpeg on PATH for audio longer than 120 s")
        with tempfile.TemporaryDirectory(prefix="whisper-speedtest-parakeet-") as tmp:
            wav = Path(tmp) / "audio.wav"
            sf.write(str(wav), np.asarray(audio, dtype=np.float32), 16000, subtype="FLOAT")
            return self._model.transcribe(
                wav, dtype=self._dtype, decoding_config=config, chunk_duration=CHUNK_SECONDS, overlap_duration=OVERLAP_SECONDS
            )


    @classmethod
    def library_streaming_unavailable(cls) -> str | None:
        """Why the library's own streaming cannot run here (its local attention is a Metal kernel), or None."""
        try:
            import mlx.core as mx
        except ImportError:
            return None  # the backend's own availability says what to install
        if not mx.metal.is_available():
            return "parakeet-mlx's streaming needs Metal (an Apple GPU): its local attention is a Metal kernel, and this MLX has no Metal"
        return None

    def open_library_stream(self, options: DecodeOptions) -> "ParakeetStream":
        """The library's streaming context (local attention over a rotating cache), fed chunk by chunk."""
        from parakeet_mlx import DecodingConfig, Greedy

        check_language(self._spec, options.language)
        if options.beam_size > 1:
            raise NotImplementedError("parakeet-mlx streams with greedy decoding only; run it with --beam-size 1")
        context = self._model.transcribe_stream(context_size=STREAM_CONTEXT, depth=STREAM_DEPTH,
                                                decoding_config=DecodingConfig(decoding=Greedy()))
        self.record_params(stream_context=list(STREAM_CONTEXT), stream_depth=STREAM_DEPTH)
        return ParakeetStream(context)

    def close(self) -> None:
        self._model = None


class ParakeetStream:
    """``StreamingParakeet`` as a ``LibraryStream``: its finalized tokens confirmed, its draft tokens not."""

    def __init__(self, context: Any) -> None:
        self._context = context.__enter__()
        self._entered = context

    @staticmethod
    def _pieces(tokens) -> tuple:
        from .base import TimedWord

        return tuple(TimedWord(t.text, float(t.start), float(t.end)) for t in tokens)

    def feed(self, samples: np.ndarray):
        import mlx.core as mx

        from .library_stream import LibraryUpdate

        self._context.add_audio(mx.array(np.asarray(samples, dtype=np.float32)))
        return LibraryUpdate(self._pieces(self._context.finalized_tokens), self._pieces(self._context.draft_tokens))

    def end(self):
        from .library_stream import LibraryUpdate

        return LibraryUpdate(self._pieces(list(self._context.finalized_tokens) + list(self._context.draft_tokens)), ())

    def close(self) -> None:
        if self._entered is not None:
            self._entered.__exit__(None, None, None)
            self._entered = None
