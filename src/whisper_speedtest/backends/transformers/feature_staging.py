"""The next batch's log-mel, computed while this batch decodes (the graph decoder's ``overlap`` speed-up).

The dataset pass hands the backend a way to fetch the next batch's decoded clips
(``stage_next_batch``). After this batch's encoder is queued, a thread waits for those clips and
computes their log-mel features, on CUDA on a second stream, so the host-to-device copies and the
STFT run beside this batch's decoder steps. The next call takes the features if it is given the
very same clip arrays (anything else, such as a batch retried clip by clip, computes its own), and
on CUDA makes its stream wait for the second stream's work and records the features' use on it, so
the caching allocator does not hand their memory out early. On CPU the same thread computes them
(no streams), which keeps the hand-over tested there.

With ``encode`` given (the ``overlap-encoder`` speed-up), the thread also runs the encoder on the
next batch's features, on the same second stream: the encoder is compute-bound and the decoder's
steps memory- or launch-bound, so the two share the GPU. Only the encoder's output is made there;
the decoder's cross-attention keys and values are filled from it by the next call, after this
batch's steps have read the current ones.

No graph is ever captured while the thread runs: captures happen when a decoder state is made, in
``encode()``, and the thread is joined before each batch's ``encode()`` and started after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .log_mel import log_mel_batch


@dataclass(frozen=True)
class StagedBatch:
    clips: tuple[np.ndarray, ...]
    features: Any  # (clips, n_mels, frames) on the device
    encoded: Any  # the encoder's output for ``features`` (padded as ``encode`` pads), or None
    ready: Any  # CUDA event recorded after both, or None off CUDA


class FeatureStager:
    def __init__(self, extractor, device, dtype, fits: Callable[[np.ndarray], bool],
                 encode: Callable | None = None) -> None:
        import torch

        self._extractor, self._device, self._dtype, self._fits, self._encode = extractor, device, dtype, fits, encode
        self._stream = torch.cuda.Stream(device=device) if device.type == "cuda" else None
        self._thread: threading.Thread | None = None
        self._staged: StagedBatch | None = None
        self.failure = ""  # the last staging error, one line (the batch then computes its own features)
        self.used = 0  # batches whose features came from here

    def stage(self, fetch: Callable[[], Sequence[np.ndarray]]) -> None:
        """Start computing the features of the clips ``fetch()`` returns (it may block until they are decoded)."""
        self._join()
        self._staged = None
        self._thread = threading.Thread(target=self._work, args=(fetch,), name="log-mel staging", daemon=True)
        self._thread.start()

    def _work(self, fetch) -> None:
        import torch

        try:
            clips = list(fetch())
            if not clips or not all(self._fits(c) for c in clips):
                return
            with torch.inference_mode():
                if self._stream is None:
                    features = log_mel_batch(clips, self._extractor, self._device, self._dtype)
                    encoded = self._encode(features) if self._encode is not None else None
                    self._staged = StagedBatch(tuple(clips), features, encoded, None)
                    return
                with torch.cuda.stream(self._stream):
                    features = log_mel_batch(clips, self._extractor, self._device, self._dtype)
                    encoded = self._encode(features) if self._encode is not None else None
                    ready = torch.cuda.Event()
                    ready.record(self._stream)
                self._staged = StagedBatch(tuple(clips), features, encoded, ready)
        except Exception as exc:  # never fatal: the batch computes its own features
            self.failure = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]

    def take(self, clips: Sequence[np.ndarray]) -> StagedBatch | None:
        """What was staged if it is for ``clips`` (the same arrays, in order), ready for this stream; else None."""
        self._join()
        staged, self._staged = self._staged, None
        if staged is None:
            return None
        if len(staged.clips) != len(clips) or any(a is not b for a, b in zip(staged.clips, clips)):
            return None
        if staged.ready is not None:
            import torch

            current = torch.cuda.current_stream(self._device)
            current.wait_event(staged.ready)
            for tensor in (staged.features, staged.encoded):
                if tensor is not None:
                    tensor.record_stream(current)
        self.used += 1
        return staged

    def _join(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def close(self) -> None:
        self._join()
        self._staged = None
