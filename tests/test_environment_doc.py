"""Every ``WHISPER_SPEEDTEST_*`` environment variable the code or the tests read is documented in docs/environment.md."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = re.compile(r"WHISPER_SPEEDTEST_[A-Z0-9_]*[A-Z0-9]")


def _names_in(folder: Path) -> set[str]:
    return {name for path in folder.rglob("*.py") for name in NAME.findall(path.read_text(encoding="utf-8"))}


def test_every_variable_read_is_documented():
    documented = set(NAME.findall((ROOT / "docs" / "environment.md").read_text(encoding="utf-8")))
    read = _names_in(ROOT / "src") | _names_in(ROOT / "tests")
    assert read - documented == set()
    assert "WHISPER_SPEEDTEST_BRIDGE_TIMEOUT_S" in read  # the scan sees the constants the backends define
