"""The backends whose extras conflict with ``[all]`` hold their tests in their managed environments.

ONNX Runtime and OpenVINO pin transformers 4.57 (optimum), lightning-whisper-mlx pins tiktoken 0.3.3.
Where they are not installed here (the README's test command installs ``[all]``, where they cannot be),
a session fixture per environment makes it (``backends install onnx openvino`` / ``lightning``), and
their own tests run in that environment's interpreter: real optimum, real exports, real MLX, the plain
library call, the same fingerprinted weights. For the optimum pair: every test of
``tests/test_onnx_openvino.py`` but its six-clip WER check, which ``tests/test_parity.py``'s per-clip
cases repeat on 13 clips (one CLI run for both rows, one plain call each), so CI pays for the exports
and the parity once. For lightning: its tests of ``tests/test_apple_backends.py``. pytest itself is
linked in from this test environment (only pytest's own packages, nothing of the libraries under test).
Where an environment cannot be made (no package index), its test skips and says why.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO
from whisper_speedtest.backends import get_backend
from whisper_speedtest.environments.build import EnvironmentBuildFailed, build
from whisper_speedtest.environments.spec import EnvironmentSpec
from whisper_speedtest.environments.state import inspect

PYTEST_PACKAGES = ("pytest", "_pytest", "pluggy", "iniconfig", "py")


@dataclass(frozen=True)
class ManagedTests:
    backends: tuple[str, ...]  # the backends whose own environment it is (the first one's declares it)
    files: tuple[str, ...]
    select: str  # pytest -k
    at_least: int  # tests that must pass there (a count: a selection that silently shrank would fail)


OPTIMUM = ManagedTests(("onnxruntime", "openvino"), ("tests/test_onnx_openvino.py", "tests/test_parity.py"),
                       "(onnxruntime or openvino) and not dataset and not test_wer_matches_the_plain_library_call", 9)
LIGHTNING = ManagedTests(("lightning-whisper-mlx",), ("tests/test_apple_backends.py",), "lightning", 4)


def _environment(tests: ManagedTests):
    if all(get_backend(name).available().ok for name in tests.backends):
        pytest.skip(f"{', '.join(tests.backends)} installed here: their own tests run in this environment")
    spec = EnvironmentSpec.for_extras(get_backend(tests.backends[0]).own_environment)
    if not inspect(spec).ready:
        try:
            build(spec)
        except EnvironmentBuildFailed as exc:
            pytest.skip(f"the {spec.label} environment cannot be made here: {exc}")
    return inspect(spec)


def _pytest_only(folder: Path) -> Path:
    """A folder holding links to this environment's pytest packages, for the other interpreter's PYTHONPATH."""
    folder.mkdir(exist_ok=True)
    for name in PYTEST_PACKAGES:
        found = importlib.util.find_spec(name)
        if found is None or found.origin is None:
            continue
        origin = Path(found.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        for item in (source, *source.parent.glob(f"{name}-*.dist-info")):  # its metadata too (pytest reads it)
            link = folder / item.name
            if not link.exists():
                link.symlink_to(item)
    return folder


def _run_there(environment, tests: ManagedTests, folder: Path) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(_pytest_only(folder / "pytest-only")), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("WHISPER_SPEEDTEST_HOME", None)  # the inner session makes its own store, as this one did
    env["WHISPER_SPEEDTEST_PARITY_ONLY"] = ",".join(tests.backends)  # test_parity's rows: these only
    done = subprocess.run(
        # -m 'not slow': the inner session keeps the default lane's selection (test_parity's base cases are slow)
        [str(environment.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:warnings", "-o", "addopts=",
         "-m", "not slow", "-rs", *tests.files, "-k", tests.select],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=3000,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
    print(f"in {environment.folder.name}: {summary}")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= tests.at_least, summary
    assert "cannot run here" not in done.stdout, done.stdout[-3000:]  # nothing skipped for want of the libraries
    return summary


@pytest.mark.integration
def test_onnx_and_openvino_tests_pass_in_their_managed_environment(tmp_path):
    _run_there(_environment(OPTIMUM), OPTIMUM, tmp_path)


@pytest.mark.integration
@pytest.mark.skipif(not sys.platform.startswith(("linux", "darwin")), reason="MLX has wheels for Linux and macOS only")
def test_lightning_tests_pass_in_its_managed_environment(tmp_path):
    _run_there(_environment(LIGHTNING), LIGHTNING, tmp_path)
