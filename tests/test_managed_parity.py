"""ONNX Runtime and OpenVINO, whose extras pin transformers 4.57, hold their parity in their managed environment.

Where they are not installed here (the README's test command installs ``[all]``, where they cannot be),
a session fixture makes their environment (``backends install onnx openvino``) and their own tests,
``tests/test_onnx_openvino.py`` and their cases of ``tests/test_parity.py``, run in that environment's
interpreter: real optimum, real exports, the plain library call, the same fingerprinted weights. pytest
itself is linked in from this test environment (only pytest's own packages, nothing of the libraries
under test). Where the environment cannot be made (no package index), this skips and says why.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from whisper_speedtest.backends import get_backend
from whisper_speedtest.environments.build import EnvironmentBuildFailed, build
from whisper_speedtest.environments.spec import EnvironmentSpec
from whisper_speedtest.environments.state import inspect

PYTEST_PACKAGES = ("pytest", "_pytest", "pluggy", "iniconfig", "py")
OWN_TESTS = ("tests/test_onnx_openvino.py", "tests/test_parity.py")


@pytest.fixture(scope="session")
def optimum_environment():
    if get_backend("onnxruntime").available().ok and get_backend("openvino").available().ok:
        pytest.skip("onnxruntime and openvino are installed here: their own tests run in this environment")
    spec = EnvironmentSpec.for_extras(get_backend("onnxruntime").own_environment)
    if not inspect(spec).ready:
        try:
            build(spec)
        except EnvironmentBuildFailed as exc:
            pytest.skip(f"the onnx/openvino environment cannot be made here: {exc}")
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


@pytest.mark.integration
@pytest.mark.slow  # about half an hour on 2 busy cores, never yet run to its end in CI's time: pytest -m slow runs it
def test_onnx_and_openvino_tests_pass_in_their_managed_environment(optimum_environment, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(_pytest_only(tmp_path / "pytest-only")), *filter(None, [os.environ.get("PYTHONPATH")])])}
    env.pop("WHISPER_SPEEDTEST_HOME", None)  # the inner session makes its own store, as this one did
    env["WHISPER_SPEEDTEST_PARITY_ONLY"] = "onnxruntime,openvino"  # test_parity's rows: these two only
    done = subprocess.run(
        [str(optimum_environment.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rs", *OWN_TESTS,
         # every test of test_onnx_openvino.py (by its module's name) and their per-clip parity cases; their
         # dataset-mode cases are left to a machine with them installed, to keep CI's time (the rows run clip by clip there too)
         "-k", "(onnxruntime or openvino) and not dataset"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=3000,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
    print(f"in {optimum_environment.folder.name}: {summary}")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 11, summary  # test_onnx_openvino.py's 9, and their tiny.en per-clip parity cases
    assert "cannot run here" not in done.stdout, done.stdout[-3000:]  # nothing skipped for want of the libraries
