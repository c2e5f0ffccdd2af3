"""The typed path to the child and back: a picklable WorkerJob in, a WorkerResult out, one row made of it;
and the backend registry, read once per process."""

import pickle

import numpy as np

from tests.fake_backends import EchoBackend
from whisper_speedtest.audio import AudioClip
from whisper_speedtest.backends.base import LoadOptions, ModelRef
from whisper_speedtest.backends.loader import VariantPlan
from whisper_speedtest.bench.job import WorkerJob, WorkerResult
from whisper_speedtest.bench.plan import BackendPlan
from whisper_speedtest.bench.row_assembly import assemble_row
from whisper_speedtest.bench.run_policy import RunPolicy
from whisper_speedtest.bench.worker import run_job
from whisper_speedtest.results import DecodeSettings

REFERENCE = "and so my fellow americans ask not"


def _job() -> WorkerJob:
    model = ModelRef("tiny.en", "ct2", "/nowhere", fingerprint="f" * 64)
    clips = tuple(AudioClip(f"clip{i}", "(generated)", np.zeros(8000 * (i + 1), dtype=np.float32), REFERENCE) for i in range(2))
    settings = DecodeSettings(language="en", runs=2, warmup=1, timeout_s=60.0)
    return WorkerJob(EchoBackend, VariantPlan("default", model, model), LoadOptions(), decode=settings, clips=clips,
                     policy=RunPolicy.of(settings), warmup=1, measure_warm_load=False)


def test_a_job_carries_the_backend_class_and_the_clips_through_pickle():
    job = _job()
    back = pickle.loads(pickle.dumps(job))
    assert back.backend is EchoBackend  # by reference: the child imports it as the parent did
    assert [c.name for c in back.clips] == ["clip0", "clip1"] and back.audio_s == 1.5
    assert back.decode == job.decode


def test_the_child_answers_with_a_typed_result_that_makes_one_row():
    job = _job()
    messages = []
    result = run_job(job, lambda kind, payload: messages.append(kind))
    assert isinstance(result, WorkerResult) and pickle.loads(pickle.dumps(result)) == result
    assert len(result.times) == 2 and all(len(t) == 2 for t in result.times)
    assert result.texts == ("and so my fellow americans",) * 2 and result.load.actual == "float16"
    assert result.params == {"device": "none"} and result.peak_rss > 0
    assert "loaded" in messages and "pass" in messages
    row = assemble_row(BackendPlan(EchoBackend, job.variant, job.load_options), job, result)
    assert row.ok and row.transcribe.n == 2 and [c.clip for c in row.clips] == ["clip0", "clip1"]
    assert 0 < row.score.wer < 1 and row.model.fingerprint == "f" * 64


def test_a_load_probe_is_the_same_job_with_nothing_to_transcribe():
    model = ModelRef("tiny.en", "ct2", "/nowhere")
    result = run_job(WorkerJob.load_only(EchoBackend, model), lambda *_: None)
    assert result.times == () and result.texts == () and result.load.actual == "float16" and result.warm_load_s is None


def test_the_registry_reads_entry_points_once(monkeypatch):
    from whisper_speedtest.backends import registry

    calls = []
    real = registry.metadata.entry_points
    monkeypatch.setattr(registry.metadata, "entry_points", lambda **kw: calls.append(kw) or real(**kw))
    registry._discovered.cache_clear()
    try:
        first = registry.all_backends()
        assert registry.all_backends() == first and len(calls) == 1
        assert "faster-whisper" in first and first["whisperkit"].__module__ == "whisper_speedtest.backends.swift.whisperkit"
    finally:
        registry._discovered.cache_clear()


def test_a_dataset_row_is_assembled_by_the_same_function_and_names_the_weights_that_ran():
    """One assemble_row for both modes: a dataset pass that fell back names the fallback weights and says why."""
    from tests.conftest import DATA
    from whisper_speedtest.backends.base import LoadResult
    from whisper_speedtest.bench.dataset_pass import DatasetPass
    from whisper_speedtest.cli.benchmark import BenchmarkOptions, prepare

    selection = prepare(BenchmarkOptions(dataset=str(DATA / "utterances" / "manifest.jsonl"))).request.dataset
    wanted, fallback = ModelRef("tiny.en", "ct2", "/int8", "int8", "a" * 64), ModelRef("tiny.en", "ct2", "/f16", "float16", "b" * 64)
    job = WorkerJob(EchoBackend, VariantPlan("int8", wanted, fallback), LoadOptions(quantization="int8"), dataset=selection, batch_size=4)
    texts = tuple(e.reference for e in selection.entries[:-1]) + (None,)
    measured = DatasetPass(texts, ((len(texts) - 1, "RuntimeError: bad clip"),), "longest first", 30.0, 3.0, 0.5, 2.0, 3)
    result = WorkerResult(1.0, LoadResult("int8", "float16", True, "int8 failed to load"), texts, {"device": "none"}, {}, 2**20,
                          dataset=measured)
    row = assemble_row(BackendPlan(EchoBackend, job.variant, job.load_options), job, result)
    assert row.ok and row.dataset.rtfx == 10.0 and row.dataset.model_rtfx == 15.0 and row.params["batch"] == 4
    assert row.model.fingerprint == "b" * 64 and row.did_fallback and row.fallback_reason == "int8 failed to load"
    assert [f.name for f in row.dataset.failed] == [selection.entries[-1].name] and row.score.wer == 0.0
