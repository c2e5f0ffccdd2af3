"""The transformers row's Mac tuning, with torch's MPS calls faked: this machine has no Apple GPU.

What is faked: ``torch.cuda.is_available`` (False), ``torch.backends.mps.is_available`` (True),
``Module.to("mps")`` (stays on the CPU), the available memory, and ``pipeline()`` itself (a recorder).
What is real: the tiny.en weights, ``WhisperForConditionalGeneration.from_pretrained`` and our load().
"""

import numpy as np
import pytest

from whisper_speedtest.backends.base import DecodeOptions, LoadOptions
from whisper_speedtest.backends.transformers import mac_tuning
from whisper_speedtest.backends.transformers.mac_tuning import GIB, chunk_seconds, mps_batch_size


def test_batch_size_follows_the_originals_memory_table():
    assert [mps_batch_size(gib * GIB) for gib in (64, 32, 20, 16, 12, 8, 6, 4, 2)] == [16, 16, 12, 12, 10, 10, 16, 16, 12]
    assert {chunk_seconds("mps"), chunk_seconds("cuda"), chunk_seconds("cpu")} == {20, 30}
    assert chunk_seconds("mps") == 20


class RecordingPipeline:
    """Stands in for transformers' pipeline(): records each call's keyword arguments."""

    def __init__(self) -> None:
        self.calls = []

    def __call__(self, inputs, **kwargs):
        self.calls.append(kwargs)
        if isinstance(inputs, list):
            return [{"text": " short"} for _ in inputs]
        return {"text": " long", "chunks": [{"timestamp": (0.0, 20.0), "text": " long"}]}


@pytest.fixture
def faked_mps(monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from whisper_speedtest.backends.transformers.pipeline_backend import TransformersBackend

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    real_to = torch.nn.Module.to

    def to(self, *args, **kwargs):
        if args and str(args[0]) == "mps":
            return self  # no Metal here: the model stays where it is, as a failed move would leave it
        return real_to(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", to)
    monkeypatch.setattr(mac_tuning, "available_memory", lambda: 20 * GIB)
    recorder = RecordingPipeline()
    monkeypatch.setattr(TransformersBackend, "_build_pipeline", staticmethod(lambda network, processor, placement: recorder))
    return TransformersBackend, recorder


def test_mps_load_uses_the_mac_tuning_and_reports_the_device_read_back(faked_mps):
    from whisper_speedtest.models import sources

    backend_cls, recorder = faked_mps
    backend = backend_cls()
    backend.load(sources.locate("tiny.en", "hf"), LoadOptions(device="auto"))
    params = backend.params()
    assert params["batch_size"] == 12 and params["chunk_s"] == 20 and params["dtype"] == "float16"
    # The parameters never reached MPS (Module.to was faked), and the row says so rather than "mps".
    assert params["device"] == "cpu" and params["device_requested"] == "mps"

    options = DecodeOptions("en", 1, 0.0, True)
    backend.transcribe(np.zeros(25 * 16000, dtype=np.float32), options)  # longer than a 20 s chunk
    long_call = recorder.calls[-1]
    assert long_call["chunk_length_s"] == 20 and long_call["batch_size"] == 12
    assert backend.params()["longform"] == "chunked-batched"
    backend.transcribe(np.zeros(15 * 16000, dtype=np.float32), options)  # one chunk: the plain batched call
    assert "chunk_length_s" not in recorder.calls[-1]


def test_an_explicit_batch_size_wins_over_the_memory_table(faked_mps):
    from whisper_speedtest.models import sources

    backend_cls, _ = faked_mps
    backend = backend_cls()
    backend.load(sources.locate("tiny.en", "hf"), LoadOptions(device="mps", batch_size=3))
    assert backend.params()["batch_size"] == 3 and backend.params()["chunk_s"] == 20
