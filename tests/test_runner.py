"""The harness keeps going when backends crash, hang, raise or cannot run here."""

import pytest

from tests import fake_backends
from whisper_speedtest.audio import collect_clips
from whisper_speedtest.backends import register, unregister
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench.session import BenchmarkRequest, run_benchmark
from whisper_speedtest.results import DecodeSettings


@pytest.fixture
def fakes():
    for cls in fake_backends.ALL:
        register(cls)
    try:
        yield
    finally:
        for cls in fake_backends.ALL:
            unregister(cls.name)


def test_failures_become_rows_and_the_others_still_run(fakes):
    clips = tuple(collect_clips(None))
    request = BenchmarkRequest(
        model="tiny.en",
        backends=("fake-killed", "fake-hang", "fake-raise", "fake-mac", "fake-echo"),
        clips=clips,
        settings=DecodeSettings("en", 1, 0.0, runs=2, warmup=1, timeout_s=8.0),
        load_options=LoadOptions(),
    )
    run = run_benchmark(request)
    rows = {r.backend: r for r in run.results}
    assert rows["fake-killed"].status == "crashed"
    assert "SIGKILL" in rows["fake-killed"].reason and "out of memory" in rows["fake-killed"].reason
    assert rows["fake-hang"].status == "timeout"
    assert rows["fake-raise"].status == "failed"
    assert rows["fake-raise"].reason == "RuntimeError: weights exploded"
    assert rows["fake-mac"].status == "skipped" and "darwin" in rows["fake-mac"].reason or "win32" in rows["fake-mac"].reason
    echo = rows["fake-echo"]
    assert echo.status == "ok" and echo.transcribe.n == 2
    assert echo.score.wer > 0.5  # the fake says only five words of the reference
    assert echo.model.fingerprint  # the real tiny.en weights were located and fingerprinted
    assert run.succeeded
    for row in run.results:
        assert "\n" not in row.reason
