import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def run_cli(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real console entry point in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "whisper_speedtest", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "160", **(env or {})},
    )
