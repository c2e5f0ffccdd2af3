import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("COLUMNS", "160")  # the width every command test reads, set before the CLI is imported

# A shell without job control starts a background command ("pytest &", "nohup") with Ctrl-C ignored,
# and an ignored signal stays ignored in every child it execs, so the tests that press Ctrl-C on the
# CLI would see it ignored. They test a terminal's Ctrl-C: give this process Python's own handler
# back (a handler, unlike "ignored", is not inherited: the CLI's children start with the default).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

DATA = Path(__file__).parent / "data"
PACKAGE_DATA = Path(__file__).parent.parent / "src" / "whisper_speedtest" / "data"
JFK = PACKAGE_DATA / "jfk.wav"


@pytest.fixture(scope="session", autouse=True)
def isolated_store(tmp_path_factory):
    """Every test session gets its own model store, so tests never touch the user's cache."""
    home = tmp_path_factory.mktemp("store")
    os.environ["WHISPER_SPEEDTEST_HOME"] = str(home)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    yield home


REPO = Path(__file__).parent.parent


def _cli_env(env: dict | None) -> dict:
    return {**os.environ, "COLUMNS": "160", **(env or {})}


# Variables that libraries read once, when imported (huggingface_hub's constants, torch's threads, the
# import path): a call that sets one runs in a fresh interpreter, where it takes effect.
IMPORT_TIME_ENV = ("HF_", "TRANSFORMERS_", "PYTHONPATH", "OMP_", "MKL_")


def run_cli(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the command line's ``main`` in this process, as the console script would, with ``env`` set
    for the call and stdout/stderr captured (Typer's ``CliRunner`` isolation). Backends still run in
    their own spawned children. ``timeout`` is kept for the signature's sake: use ``run_cli_process``
    where a hang, a signal, an exit status under kill or the console script itself is under test, or
    where ``env`` must be seen by a library at import time (``HF_HUB_OFFLINE``, ``HF_ENDPOINT``)."""
    if any(key.startswith(IMPORT_TIME_ENV) for key in env or {}):
        return run_cli_process(*args, timeout=timeout, env=env)
    from typer.testing import CliRunner

    from whisper_speedtest.cli import main

    argv = [str(a) for a in args]
    with CliRunner().isolation(env={"COLUMNS": "160", **(env or {})}) as (stdout, stderr, _):
        saved_argv = sys.argv
        sys.argv = ["whisper-speedtest", *argv]
        try:
            code = main(argv)
        except SystemExit as exc:  # a command that calls sys.exit itself
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = saved_argv
            sys.stdout.flush()
            sys.stderr.flush()
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    return subprocess.CompletedProcess(["whisper-speedtest", *argv], code, out, err)


def run_cli_process(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real console entry point in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "whisper_speedtest", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_cli_env(env),
    )


def start_fake_cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    """Start the real CLI with the fake backends of ``tests.fake_backends`` registered; the caller waits."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fake_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=_cli_env(env),
    )


def run_fake_cli(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """``start_fake_cli`` run to the end."""
    process = start_fake_cli(*args, env=env)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def wait_for_file(path: Path, timeout: float = 60) -> str:
    """The text of ``path`` once it exists (a child writes it), failing after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written within {timeout} s"
        time.sleep(0.05)
    return path.read_text()


@pytest.fixture
def fakes():
    """The misbehaving backends of ``tests.fake_backends``, registered for one test (unregistered in ``finally``)."""
    from tests import fake_backends
    from whisper_speedtest.backends import register, unregister

    for cls in fake_backends.ALL:
        register(cls)
    try:
        yield
    finally:
        for cls in fake_backends.ALL:
            unregister(cls.name)
