"""Device, dtype and thread choices shared by the PyTorch-based backends (imported inside load())."""

from __future__ import annotations

from dataclasses import dataclass

from ..base import physical_cores


@dataclass(frozen=True)
class TorchPlacement:
    device: str  # cuda | mps | cpu
    dtype_name: str  # float16 | float32
    threads: int | None

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype_name)


def choose_placement(requested_device: str, threads: int | None) -> TorchPlacement:
    """CUDA gets fp16, Apple's MPS fp16, the CPU fp32 with one thread per physical core."""
    import torch

    device = requested_device
    if device == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    if device == "cpu":
        count = threads or physical_cores()
        torch.set_num_threads(count)
        return TorchPlacement("cpu", "float32", count)
    return TorchPlacement(device, "float16", None)


def synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def peak_memory(device: str) -> int | None:
    import torch

    if device == "cuda":
        return int(torch.cuda.max_memory_reserved())
    return None


def release(device: str) -> None:
    import gc

    import torch

    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()


class TorchDeviceMixin:
    """Device synchronize, peak memory and release for backends that keep a ``_placement``."""

    _placement: TorchPlacement | None = None

    def synchronize(self) -> None:
        if self._placement is not None:
            synchronize(self._placement.device)

    def peak_device_memory(self) -> int | None:
        return peak_memory(self._placement.device) if self._placement is not None else None

    def release_device(self) -> None:
        if self._placement is not None:
            release(self._placement.device)
