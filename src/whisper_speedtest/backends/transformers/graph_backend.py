"""Our own GPU decoder, on transformers' Whisper modules and the same weights: its own row, never "transformers".

What runs is not ``pipeline()`` or ``generate()``: the log-mel is computed on the GPU from the raw
clips (``log_mel.py``), the encoder runs once per batch, and greedy decoding steps over a static KV
cache are replayed as CUDA graphs (``graph_decoder.py``). It applies ``generate()``'s prompt and
token-suppression rules, and a test checks that it gives ``generate()``'s tokens. Where it cannot
run (beam search, sampling, language detection, clips over 30 s) or a graph capture fails, the row
goes through the stock pipeline instead and its params say which decoder ran, and why.

Optional speed-ups, each off unless named in the ``graph_speedups`` backend option
(``options.GraphSpeedup``), so one ``benchmarks/gpu.py`` run measures them side by side: row
compaction in the decoder (``graph_decoder.py``), the next batch's log-mel overlapped with this
batch's decoding (``feature_staging.py``, in dataset runs), and a ``torch.compile``d encoder
(compiled on the first, untimed batch; every batch is then padded to the dataset batch size, so no
new shape is compiled inside a timed region).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..base import Availability, DecodeOptions, LoadOptions, Transcript
from .options import CUDA_GRAPHS, GRAPH_SPEEDUPS, GraphSpeedup
from .pipeline_backend import TransformersBackend, is_long

OURS = "ours: log-mel on the GPU, static KV cache, CUDA graphs"
COMPILE_MODES = {GraphSpeedup.COMPILE: "default", GraphSpeedup.COMPILE_AUTOTUNE: "max-autotune-no-cudagraphs"}


def nvidia_gpu_count() -> int:
    """NVIDIA GPUs that NVML sees (0 where there is no driver); no torch import."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return int(pynvml.nvmlDeviceGetCount())
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        return 0


class GraphDecoderBackend(TransformersBackend):
    name = "graph-decoder"
    display_name = "graph decoder (ours, transformers modules)"
    extra = "transformers"
    quantizations: dict[str, str] = {}
    batch_mode = f"batched ({OURS})"
    platforms = ("linux", "win32")

    @classmethod
    def available(cls) -> Availability:
        availability = super().available()
        if availability.ok and nvidia_gpu_count() == 0:
            return Availability(False, "runs on NVIDIA GPUs only (our CUDA-graph decoder); no NVIDIA GPU found")
        return availability

    def __init__(self) -> None:
        super().__init__()
        self._use_graphs = True
        self._decoders: dict[str | None, Any] = {}
        self._capture_failure = ""
        self._speedups: tuple[GraphSpeedup, ...] = ()
        self._encoder = None  # the compiled encoder, where one was asked for
        self._stager = None  # FeatureStager, with the overlap speed-up
        self._next_batch = None  # how to fetch the next batch's clips (stage_next_batch), for the next call

    def _after_load(self, options: LoadOptions, quantized: bool) -> None:
        self._use_graphs = options.backend_option(CUDA_GRAPHS, True)
        self._params["features"] = "log-mel on the device (ours)"
        self._speedups = GraphSpeedup.parse(options.backend_option(GRAPH_SPEEDUPS, ()))
        self._encoder, self._stager, self._next_batch = None, None, None
        mode = next((COMPILE_MODES[s] for s in self._speedups if s in COMPILE_MODES), None)
        if mode is not None:
            import torch

            self._encoder = torch.compile(self._network.model.encoder, mode=mode, dynamic=False)
            self._params["encoder"] = f"torch.compile(mode={mode!r})"
        if GraphSpeedup.OVERLAP in self._speedups or GraphSpeedup.OVERLAP_ENCODER in self._speedups:
            from .feature_staging import FeatureStager

            network = self._network
            encode = self._run_encoder if GraphSpeedup.OVERLAP_ENCODER in self._speedups else None
            self._stager = FeatureStager(self._processor.feature_extractor, network.device, network.dtype,
                                         lambda clip: not is_long(clip), encode)
        if self._speedups:
            self._params["speedups"] = "+".join(s.value for s in self._speedups)

    def stage_next_batch(self, fetch) -> None:
        """Dataset runs: ``fetch()`` returns the next batch's clips; with ``overlap`` their log-mel is computed
        while the next call decodes its batch (see ``feature_staging.py``). Without it, nothing is done."""
        if self._stager is not None:
            self._next_batch = fetch

    def _decoder_for(self, options: DecodeOptions):
        """Our greedy decoder for these settings, or None with the reason the pipeline runs instead."""
        if self._capture_failure:
            return None, f"{self._capture_failure}; fell back to pipeline()"
        if options.beam_size != 1 or options.temperature > 0:
            return None, "beam search and sampling run through pipeline()"
        language = options.language if self._multilingual else None
        if self._multilingual and not language:
            return None, "language detection runs through pipeline()"
        decoder = self._decoders.get(language)
        if decoder is None:
            from .graph_decoder import GraphDecoder, rules_for

            rules = rules_for(self._network, language, self._synthetic_tokens)
            decoder = GraphDecoder(self._network, rules, capacity=self._batch_size, use_graphs=self._use_graphs,
                                   compact=GraphSpeedup.COMPACT in self._speedups, encoder=self._encoder)
            self._decoders[language] = decoder
        return decoder, ""

    def transcribe(self, audio: np.ndarray, options: DecodeOptions) -> Transcript:
        if is_long(audio):
            self._params["fallback"] = "clips over 30 s run through pipeline()"
            return super().transcribe(audio, options)
        return self.transcribe_batch([audio], options)[0]

    def transcribe_batch(self, audios: list[np.ndarray], options: DecodeOptions) -> list[Transcript]:
        upcoming, self._next_batch = self._next_batch, None  # for this call only
        if any(is_long(a) for a in audios):
            return [self.transcribe(a, options) for a in audios]
        decoder, why_not = self._decoder_for(options)
        if decoder is not None:
            try:
                return self._decode_ours(decoder, audios, options, upcoming)
            except RuntimeError as exc:
                from .graph_decoder import GraphCaptureFailed

                if not isinstance(exc, GraphCaptureFailed):
                    raise
                self._capture_failure, why_not = str(exc), f"{exc}; fell back to pipeline()"
                self._decoders.clear()
        self._params["fallback"] = why_not
        if self._synthetic_tokens:
            return self._synthetic_batch(audios, options)
        return super().transcribe_batch(audios, options)

    def _decode_ours(self, decoder, audios: list[np.ndarray], options: DecodeOptions, upcoming=None) -> list[Transcript]:
        import torch

        from .log_mel import log_mel_batch

        network = self._network
        with torch.inference_mode():
            staged = self._stager.take(audios) if self._stager is not None else None
            encoded = staged.encoded if staged is not None else None
            if encoded is None:
                features = staged.features if staged is not None else log_mel_batch(
                    list(audios), self._processor.feature_extractor, network.device, network.dtype)
                encoded = self._run_encoder(features)
            state = decoder.encode_from(encoded, len(audios))
            if upcoming is not None:  # after encode_from(): no graph capture runs beside the staging thread
                self._stager.stage(upcoming)
            tokens = decoder.run_decoder(state)
        texts = self._processor.tokenizer.batch_decode(tokens, skip_special_tokens=True)
        self.record_params(beam_size=options.beam_size, decoder=self._description(decoder))
        if self._stager is not None and self._stager.failure:
            self._params["staging_failure"] = self._stager.failure
        return [Transcript(t.strip(), (), options.language) for t in texts]

    def _run_encoder(self, features):
        """The encoder's output for a batch of features (call in inference mode); the compiled encoder sees
        one shape only, so there a smaller batch is padded to the batch size first (the padding rows are
        never decoded)."""
        import torch

        capacity = max(1, self._batch_size)
        if self._encoder is None:
            return self._network.model.encoder(features).last_hidden_state
        rows = features.shape[0]
        if rows < capacity:
            features = torch.cat([features, features.new_zeros((capacity - rows, *features.shape[1:]))])
        return self._encoder(features).last_hidden_state

    def _description(self, decoder) -> str:
        text = decoder.description
        if self._stager is not None:
            encoder_too = GraphSpeedup.OVERLAP_ENCODER in self._speedups
            text += " + next batch's log-mel" + (" and encoder" if encoder_too else "") + " overlapped"
        if self._encoder is not None:
            text += " + compiled encoder"
        return text

    def close(self) -> None:
        if self._stager is not None:
            self._stager.close()
        self._decoders, self._stager, self._encoder, self._next_batch = {}, None, None, None
        super().close()
