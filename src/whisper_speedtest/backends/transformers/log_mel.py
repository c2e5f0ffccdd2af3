"""Whisper log-mel features computed and kept on the model's device.

transformers' feature extractor can run its STFT on a GPU, but it pads on the host first and hands
the features back as a NumPy array, so a large batch crosses the bus twice. This computes the same
features (its window, hop, mel filters and clamping) from the raw clips, on the device, batched.

Each clip is copied into its own zero-padded 30 s row. Joining a batch's clips into one pinned host
buffer and sending it in one copy was measured as the alternative and was slower (0.53x on an H100:
``benchmarks/log_mel_copy.py``, ``benchmarks/results/h100-graph-decoder-20h-2026-12-08.md``).
"""

from __future__ import annotations

import numpy as np


def padded_waves(audios: list[np.ndarray], length: int, device):
    """(clips, length) float32 on ``device``: each clip's first ``length`` samples, zero-padded after."""
    import torch

    waves = torch.zeros(len(audios), length, device=device, dtype=torch.float32)
    for row, audio in zip(waves, audios):
        clip = torch.from_numpy(np.ascontiguousarray(audio[:length], dtype=np.float32))
        row[: clip.shape[0]].copy_(clip)
    return waves


def log_mel_batch(audios: list[np.ndarray], extractor, device, dtype):
    """(batch, n_mels, frames) features for clips of at most 30 s, padded like the extractor pads."""
    return log_mel_from_waves(padded_waves(audios, extractor.n_samples, device), extractor, dtype)


def log_mel_from_waves(waves, extractor, dtype):
    """The extractor's log-mel of (clips, n_samples) padded waves, on their device."""
    import torch

    device = waves.device
    window = torch.hann_window(extractor.n_fft, device=device)
    spectrum = torch.stft(waves, extractor.n_fft, extractor.hop_length, window=window, return_complex=True)
    power = spectrum[..., :-1].abs() ** 2
    filters = torch.from_numpy(np.asarray(extractor.mel_filters, dtype=np.float32)).to(device)
    log_spec = torch.clamp(filters.T @ power, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.amax(dim=(1, 2), keepdim=True) - 8.0)
    return ((log_spec + 4.0) / 4.0).to(dtype)
