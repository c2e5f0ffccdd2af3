"""mac-whisper-speedtest's Apple-silicon tuning of the transformers pipeline (its insanely-fast-whisper row), on MPS only.

As the original had it: the chunk batch from the memory available when the model loads, 20 s
chunks instead of 30 s, and every clip longer than a chunk through ``pipeline()``'s chunked,
batched path. Nothing here imports torch; the backend asks it after placing the model.
"""

from __future__ import annotations

MPS_CHUNK_S = 20  # the original: "reduce chunk length for better memory efficiency" on MPS
DEFAULT_CHUNK_S = 30
GIB = 2**30


def mps_batch_size(available_bytes: int) -> int:
    """The original's table for Apple silicon, by available (unified) memory, kept as it was:
    >= 32 GiB: 16, >= 16: 12, >= 8: 10, >= 4: 16 ("more aggressive for unified memory"), else 12."""
    gib = available_bytes / GIB
    if gib >= 32:
        return 16
    if gib >= 16:
        return 12
    if gib >= 8:
        return 10
    if gib >= 4:
        return 16
    return 12


def available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def chunk_seconds(device: str) -> int:
    """Seconds per pipeline chunk: 20 on MPS, Whisper's 30 elsewhere."""
    return MPS_CHUNK_S if device == "mps" else DEFAULT_CHUNK_S


def device_of(network) -> str:
    """Where the model's parameters really are ("cuda", "mps", "cpu"), read back after placing it."""
    return next(network.parameters()).device.type
