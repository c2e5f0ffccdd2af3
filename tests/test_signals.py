"""Stop signals: SIGTERM is handled like Ctrl-C, and a backend child never outlives the main process."""

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import REPO, run_cli, start_fake_cli, wait_for_file


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        return True


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


def _start(tmp_path, *args):
    pidfile = tmp_path / "backend.pid"
    env = {"FAKE_BACKEND_PIDFILE": str(pidfile), "WHISPER_SPEEDTEST_HOME": str(tmp_path / "home")}
    process = start_fake_cli("benchmark", "-n", "1", "--warmup", "0", *args, env=env)
    return process, pidfile


def _finish(process, timeout: float = 60):
    try:
        return process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_sigterm_keeps_finished_rows_in_outputs_and_history_and_exits_143(tmp_path):
    results = tmp_path / "results.json"
    process, pidfile = _start(tmp_path, "-b", "fake-echo,fake-slow", "-o", str(results))
    child = int(wait_for_file(pidfile))
    process.send_signal(signal.SIGTERM)
    _, stderr = _finish(process)
    assert process.returncode == 143, stderr
    assert "terminated (SIGTERM); kept 1 finished row(s)" in stderr and "Traceback" not in stderr
    assert _gone_within(child, 5)
    run = json.loads(results.read_text())
    assert run["interrupted"] is True
    assert [(r["backend"], r["status"]) for r in run["results"]] == [("fake-echo", "ok"), ("fake-slow", "skipped")]
    history = run_cli("history", "--json", env={"WHISPER_SPEEDTEST_HOME": str(tmp_path / "home")}, timeout=60)
    assert [entry["run_id"] for entry in json.loads(history.stdout)] == [run["run_id"]]


def test_ctrl_c_before_any_row_finished_leaves_existing_outputs_alone(tmp_path):
    previous = tmp_path / "previous.json"
    previous.write_text('{"kept": true}')
    process, pidfile = _start(tmp_path, "-b", "fake-slow", "-o", str(previous))
    child = int(wait_for_file(pidfile))
    process.send_signal(signal.SIGINT)
    _, stderr = _finish(process)
    assert process.returncode == 130, stderr
    assert "interrupted before any backend finished; nothing written" in stderr
    assert previous.read_text() == '{"kept": true}'
    assert _gone_within(child, 5)
    assert not (tmp_path / "home" / "history.sqlite").exists()


def test_ctrl_c_while_weights_are_prepared_says_what_was_interrupted(tmp_path):
    process, pidfile = _start(tmp_path, "-b", "fake-slow-locate")
    wait_for_file(pidfile)
    process.send_signal(signal.SIGINT)
    _, stderr = _finish(process)
    assert process.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1] == "interrupted while locating tiny.en weights for fake slow locate; no backend ran", stderr


def test_sigkill_of_the_main_process_ends_the_backend_child(tmp_path):
    process, pidfile = _start(tmp_path, "-b", "fake-slow")
    child = int(wait_for_file(pidfile))
    process.kill()
    _finish(process)
    assert _gone_within(child, 5), "the backend child outlived the main process"


WATCHED_CHILD = """
import os, sys, time
from whisper_speedtest.bench.lifeline import Lifeline, follow_parent
follow_parent(Lifeline(os.getppid(), death_signal=False))
print(os.getpid(), flush=True)
time.sleep(60)
"""

MIDDLE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=sys.stdout)
time.sleep(60)
"""


def test_watchdog_alone_ends_a_child_whose_parent_died(tmp_path):
    """Without the kernel's parent-death signal (as off Linux), the watchdog thread ends the child."""
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, WATCHED_CHILD], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        child = int(middle.stdout.readline())
        assert _alive(child)
        middle.kill()
        middle.wait()
        assert _gone_within(child, 5), "the watched child outlived its parent"
    finally:
        middle.kill()
        middle.stdout.close()
