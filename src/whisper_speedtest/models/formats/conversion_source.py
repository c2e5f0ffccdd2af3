"""A CTranslate2 model on its way into another format: its files, and its tensors read once, on demand."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ...errors import ModelFormatError
from .canonical import DecodeHints, Weights, canonical_tensors, ct2_dims, decode_hints, is_english_only
from .ct2 import Ct2Model, read_ct2, resolve_model_bin
from .dims import Dims


@dataclass(frozen=True)
class ConversionSource:
    """What a format's writer gets. Nothing is read until a writer asks (copying ct2 reads no tensors).

    ``english_only``, when given, is checked against the vocabulary size as soon as the dims are read.
    ``ggml_dtype`` is the whisper.cpp weight type the ggml writer uses.
    """

    model_bin: Path
    english_only: bool | None = None
    ggml_dtype: str = "f16"

    @cached_property
    def ct2(self) -> Ct2Model:
        return read_ct2(self.model_bin)

    @cached_property
    def tensors(self) -> dict[str, np.ndarray]:
        return canonical_tensors(self.ct2)

    @cached_property
    def dims(self) -> Dims:
        dims = ct2_dims(self.ct2, self.tensors)
        vocab_says = is_english_only(dims)
        if self.english_only is not None and self.english_only != vocab_says:
            kind = "English-only" if vocab_says else "multilingual"
            raise ModelFormatError(f"{self.model_bin}: vocabulary of {dims.n_vocab} tokens means a {kind} model, "
                                   f"but english_only={self.english_only} was given")
        return dims

    @property
    def vocabulary_is_english_only(self) -> bool:
        return is_english_only(self.dims)

    @cached_property
    def hints(self) -> DecodeHints:
        return decode_hints(self.ct2)

    @property
    def tokenizer_json(self) -> Path:
        return self.model_bin.parent / "tokenizer.json"


def read_ct2_weights(path: str | os.PathLike) -> Weights:
    """The ct2 format's reader: canonical tensors and dims of a CTranslate2 model (folder or model.bin)."""
    source = ConversionSource(resolve_model_bin(path))
    return Weights(source.tensors, source.dims)
