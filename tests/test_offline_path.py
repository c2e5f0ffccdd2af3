"""No route to the Hub: one reachability check decides for the whole command, and every command that
needs the Hub fails fast with one whole line naming what could not be reached and what works offline.

The Hub is an endpoint on a closed local port (connection refused), and ``HF_HUB_OFFLINE`` is off, so
the check itself is what has to notice.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, run_cli

LIMIT_S = 3.0  # beyond the interpreter's own start-up, measured in the same test


@pytest.fixture
def no_hub(tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return {"HF_ENDPOINT": f"http://127.0.0.1:{port}", "HF_HUB_OFFLINE": "0", "WHISPER_SPEEDTEST_HOME": str(tmp_path / "home")}


def _startup_s() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import whisper_speedtest.cli.app"], cwd=REPO, check=True)
    return time.perf_counter() - start


def _timed(*args: str, env: dict) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    result = run_cli(*args, env=env, timeout=120)
    return result, time.perf_counter() - start


def _assert_quiet(result: subprocess.CompletedProcess) -> None:
    both = result.stdout + result.stderr
    assert "Retrying" not in both and "Traceback" not in both and "huggingface_hub" not in both, both


@pytest.mark.parametrize(
    ("args", "works_offline"),
    [
        (["board", "--repo", "me/whisper-board", "-o", "{tmp}/board.html"], "report"),
        (["publish", "{run}", "--repo", "me/whisper-board"], "--dry-run"),
    ],
)
def test_board_and_publish_fail_in_one_line(no_hub, tmp_path, args, works_offline):
    from tests.run_fixtures import make_run
    from whisper_speedtest.results import run_to_json

    run_file = tmp_path / "run.json"
    run_file.write_text(run_to_json(make_run()))
    args = [a.format(tmp=tmp_path, run=run_file) for a in args]
    startup = _startup_s()
    result, elapsed = _timed(*args, env=no_hub)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"cannot reach {no_hub['HF_ENDPOINT']}" in lines[0] and works_offline in lines[0]
    _assert_quiet(result)
    assert elapsed - startup < LIMIT_S, (elapsed, startup)


def test_native_weights_and_download_say_why_without_retries(no_hub):
    startup = _startup_s()
    result, elapsed = _timed("benchmark", "--weights", "native", "-b", "whisper.cpp", "-n", "1", "--warmup", "0",
                             "--no-history", env=no_hub)
    _assert_quiet(result)
    assert elapsed - startup < LIMIT_S, (elapsed, startup)
    reason = " ".join(result.stdout.split())  # the row's reason, whole (the terminal may wrap it)
    assert f"cannot be fetched: cannot reach {no_hub['HF_ENDPOINT']}" in reason and "leave out --weights native" in reason

    result, elapsed = _timed("download", "-m", "small", "-b", "faster-whisper", env=no_hub)
    _assert_quiet(result)
    assert elapsed - startup < LIMIT_S, (elapsed, startup)
    offline = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Offline:")]
    assert offline == [f"Offline: downloading is not possible (cannot reach {no_hub['HF_ENDPOINT']} ([Errno 111] Connection refused))."], result


def test_the_check_is_made_once_per_command(no_hub, monkeypatch):
    from whisper_speedtest.models import hub_remote

    for name, value in no_hub.items():
        monkeypatch.setenv(name, value)
    hub_remote.forget_reachability()
    calls = []
    real_probe = hub_remote._probe
    monkeypatch.setattr(hub_remote, "_probe", lambda endpoint: calls.append(endpoint) or real_probe(endpoint))
    try:
        reasons = {hub_remote.offline_reason() for _ in range(3)} | {hub_remote.HubRemote().offline_reason}
    finally:
        hub_remote.forget_reachability()
    assert calls == [no_hub["HF_ENDPOINT"]]
    assert reasons == {f"cannot reach {no_hub['HF_ENDPOINT']} ([Errno 111] Connection refused)"}
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_remote.offline_reason() == "HF_HUB_OFFLINE is set"  # honoured without asking
