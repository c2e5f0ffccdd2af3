"""The architecture numbers of a Whisper checkpoint, as every format reads and writes them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dims:
    """Architecture of a Whisper checkpoint (the fields of openai-whisper's ``ModelDimensions``)."""

    n_mels: int
    n_vocab: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int
