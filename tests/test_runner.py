"""The harness keeps going when backends crash, hang, raise or cannot run here."""

from whisper_speedtest.audio import collect_clips
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench.session import BenchmarkRequest, run_benchmark, select_backends
from whisper_speedtest.results import DecodeSettings
from tests.fake_backends import MacOnlyBackend


def test_failures_become_rows_and_the_others_still_run(fakes):
    clips = tuple(collect_clips(None))
    request = BenchmarkRequest(
        model="tiny.en",
        backends=select_backends(("fake-killed", "fake-hang", "fake-raise", "fake-mac", "fake-echo")),
        clips=clips,
        settings=DecodeSettings("en", 1, 0.0, runs=2, warmup=1, timeout_s=8.0),
        load_options=LoadOptions(),
    )
    run = run_benchmark(request)
    rows = {r.backend: r for r in run.results}
    assert rows["fake-killed"].status == "crashed"
    assert rows["fake-killed"].reason == "backend process killed (signal 9)"  # no evidence of memory trouble: none claimed
    assert rows["fake-hang"].status == "timeout"
    assert rows["fake-raise"].status == "failed"
    assert rows["fake-raise"].reason == "RuntimeError: weights exploded"
    assert rows["fake-mac"].status == "skipped"
    assert "runs only on " + ", ".join(MacOnlyBackend.platforms) in rows["fake-mac"].reason
    echo = rows["fake-echo"]
    assert echo.status == "ok" and echo.transcribe.n == 2
    assert echo.score.wer > 0.5  # the fake says only five words of the reference
    assert echo.model.fingerprint  # the real tiny.en weights were located and fingerprinted
    assert run.succeeded
    for row in run.results:
        assert "\n" not in row.reason


def test_out_of_memory_is_said_only_with_evidence(fakes):
    """A child at its RLIMIT_AS is labelled out of memory when killed, and stopped when it spins there."""
    request = BenchmarkRequest(
        model="tiny.en",
        backends=select_backends(("fake-oom-killed", "fake-oom-stuck")),
        clips=tuple(collect_clips(None)),
        settings=DecodeSettings("en", 1, 0.0, runs=1, warmup=0, timeout_s=12.0),  # stuck after 3 s
        load_options=LoadOptions(),
    )
    run = run_benchmark(request)
    killed, stuck = run.results
    assert killed.status == "crashed"
    assert killed.reason.startswith("backend process killed (signal 9); out of memory: address space ")
    assert "near RLIMIT_AS" in killed.reason
    assert stuck.status == "crashed" and "out of memory" in stuck.reason and "stuck at the limit" in stuck.reason, stuck.reason


def test_cgroup_v2_and_v1_memory_files_are_read(tmp_path):
    from whisper_speedtest.bench.memory_watch import cgroup_memory_max, oom_kill_count

    v2, v1 = tmp_path / "v2", tmp_path / "v1"
    v2.mkdir(), v1.mkdir()
    (v2 / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\n")
    (v2 / "memory.max").write_text("1073741824\n")
    (v1 / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n")
    (v1 / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    assert (oom_kill_count(v2), cgroup_memory_max(v2)) == (2, 2**30)
    assert (oom_kill_count(v1), cgroup_memory_max(v1)) == (5, None)  # v1's "no limit" is a huge number
    assert (oom_kill_count(None), cgroup_memory_max(None)) == (None, None)
