"""Managed backend environments (``environments/``, ``bench/managed.py``, ``backends install``).

- state: a deleted, unfinished (killed build), unmarked or other-version environment is missing or broken,
  never present; ``backends`` says which and why;
- the spawn context really starts another interpreter, with that interpreter's own ``sys.path``;
- with the package index unreachable, ``backends install`` is one line and exit 2, and in ``benchmark``
  the row that needed it is skipped with the installer's reason while the other rows run;
- a version the index does not have: the installer's reason in one line;
- ``-b faster-whisper,faster-whisper==1.1.1``: two rows, each with its own faster-whisper version
  (a real environment made with uv from PyPI; skipped when the index cannot be reached).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import sys
import urllib.request
import venv
from pathlib import Path

import pytest

from tests.conftest import JFK
from whisper_speedtest.bench.managed import environment_for, environments_named
from whisper_speedtest.cli.app import main
from whisper_speedtest.environments.build import installer_reason
from whisper_speedtest.environments.spawn import EnvironmentContext
from whisper_speedtest.environments.spec import MARKER, EnvironmentSpec, this_tool
from whisper_speedtest.environments.state import EnvStatus, inspect

OLD_FASTER_WHISPER = "1.2.0"  # an older release than the main environment's 1.2.1


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """The console entry point in this process (user errors become one line and exit 2 there)."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once it is closed


@pytest.fixture
def no_index(monkeypatch, tmp_path):
    """The package index at a closed local port, for uv and pip, and an empty uv cache."""
    url = f"http://127.0.0.1:{_closed_port()}/simple"
    for name in ("PIP_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX"):
        monkeypatch.setenv(name, url)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    return url


def _index_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/faster-whisper/", timeout=10).close()
        return True
    except OSError:
        return False


def _pinned() -> EnvironmentSpec:
    from whisper_speedtest.backends import get_backend

    return environment_for(get_backend("faster-whisper"), OLD_FASTER_WHISPER)


def test_folder_is_named_by_label_and_requirements_and_records_how_the_tool_is_installed():
    spec = _pinned()
    assert spec.folder().name.startswith(f"faster-whisper-{OLD_FASTER_WHISPER}-")
    assert f"faster-whisper=={OLD_FASTER_WHISPER}" in spec.requirements()
    other = EnvironmentSpec.pinned("faster-whisper", "faster-whisper", "faster-whisper", "1.0.3")
    assert other.folder() != spec.folder()
    # a development checkout installs itself editable from this very tree
    assert this_tool().tree == Path(__file__).resolve().parents[1]
    assert this_tool().requirement(("onnx",)) == ("-e", f"{this_tool().tree}[onnx]")
    assert spec.install_command() == f"whisper-speedtest backends install faster-whisper=={OLD_FASTER_WHISPER}"


def test_names_for_install_are_extras_backends_or_pins(capsys):
    (optimum,) = environments_named(["onnx", "openvino", "onnxruntime"])  # one environment for both optimum backends
    assert optimum.extras == ("onnx", "openvino")
    (lightning,) = environments_named(["lightning"])
    assert lightning.extras == ("lightning",)
    (pinned,) = environments_named([f"faster-whisper=={OLD_FASTER_WHISPER}"])
    assert pinned.pins == (f"faster-whisper=={OLD_FASTER_WHISPER}",)
    code, _, err = cli(capsys, "backends", "install", "nonsense")
    assert code == 2 and "these do: " in err and len(err.strip().splitlines()) == 1


def _fake_made(spec: EnvironmentSpec, tool: dict) -> Path:
    """The folder layout of a made environment (its interpreter, a marker), without installing anything."""
    folder = spec.folder()
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").symlink_to(sys.executable)
    (folder / MARKER).write_text(json.dumps({"tool": tool, "packages": {}}))
    return folder


def test_missing_unfinished_other_version_and_unreadable_environments_are_never_present(tmp_path):
    spec = EnvironmentSpec("statetest", ("faster-whisper",), ("faster-whisper==9.9.9",), "faster-whisper==9.9.9")
    assert inspect(spec).status is EnvStatus.MISSING
    staging = spec.folder().parent / f".staging-{spec.folder().name}-dead"
    staging.mkdir(parents=True)  # what a build killed before its rename leaves
    assert inspect(spec).status is EnvStatus.MISSING
    folder = _fake_made(spec, {"version": "0.0.1", "tree": None})
    state = inspect(spec)
    assert state.status is EnvStatus.BROKEN and "made for whisper-speedtest 0.0.1" in state.reason
    (folder / MARKER).write_text("{not json")
    assert "unreadable marker" in inspect(spec).reason
    (folder / MARKER).unlink()  # a build in place (venv + pip) that never finished
    state = inspect(spec)
    assert state.status is EnvStatus.BROKEN and "no completion marker" in state.reason
    assert "makes it again" in state.describe() and spec.install_command() in state.describe()


def test_an_environment_whose_own_install_is_damaged_is_broken():
    spec = EnvironmentSpec("damaged", ("faster-whisper",), ("faster-whisper==9.9.8",), "faster-whisper==9.9.8")
    _fake_made(spec, this_tool().as_json())  # its python is this interpreter, run isolated (-I): no tool there
    state = inspect(spec)
    assert state.status is EnvStatus.BROKEN and "does not import" in state.reason


def _report_interpreter(path: Path) -> str:
    """Code for the child (run by the builtin ``exec``, which pickles as itself): where it runs, and its sys.path."""
    return f"import json, sys; open({str(path)!r}, 'w').write(json.dumps({{'prefix': sys.prefix, 'path': sys.path}}))"


def test_spawn_context_runs_the_other_interpreter_with_its_own_sys_path(tmp_path):
    other = tmp_path / "other-venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(other)
    site = next((other / "lib").glob("python3*/site-packages"))
    # the other environment sees this tree (as an editable install would), nothing else of ours
    (site / "ours.pth").write_text(f"{Path(__file__).resolve().parents[1] / 'src'}\n")
    out = tmp_path / "seen.json"
    context = EnvironmentContext(other / "bin" / "python")
    process = context.Process(target=exec, args=(_report_interpreter(out),))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    seen = json.loads(out.read_text())
    assert Path(seen["prefix"]) == other
    ours = [entry for entry in sys.path if "site-packages" in entry]
    assert ours and not set(ours) & set(seen["path"])  # none of this environment's packages
    # an ordinary spawn context afterwards is untouched
    plain = mp.get_context("spawn").Process(target=exec, args=(_report_interpreter(out),))
    plain.start()
    plain.join(60)
    assert Path(json.loads(out.read_text())["prefix"]) == Path(sys.prefix)


def test_installer_reason_is_one_line_with_the_innermost_cause():
    uv_output = [  # uv 0.13 with its output on a pipe, the index at a closed port
        "error: Failed to build `whisper-speedtest @ file:///work/wt-28`",
        "  cause: Failed to resolve requirements from `build-system.requires`",
        "  cause: No solution found when resolving: `setuptools>=68`",
        "  cause: Request failed after 3 retries in 6.9s",
        "  cause: Failed to fetch: http://127.0.0.1:9/simple/setuptools/",
        "  cause: tcp connect error",
        "  cause: Connection refused (os error 111)",
    ]
    assert installer_reason(uv_output) == (
        "Failed to build `whisper-speedtest @ file:///work/wt-28`: No solution found when resolving: `setuptools>=68`: "
        "Connection refused (os error 111)"
    )
    pip_output = ["Looking in indexes: x", "ERROR: Could not find a version that satisfies the requirement a==9",
                  "ERROR: No matching distribution found for a==9"]
    assert installer_reason(pip_output) == "No matching distribution found for a==9"


def test_no_index_is_one_line_exit_2_for_install(no_index, capsys):
    code, _, err = cli(capsys, "backends", "install", "-q", f"faster-whisper=={OLD_FASTER_WHISPER}")
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "could not make the environment" in lines[0], err
    assert f"retry with: whisper-speedtest backends install faster-whisper=={OLD_FASTER_WHISPER}" in lines[0]
    assert "Connect" in lines[0] or "connect" in lines[0] or "refused" in lines[0]
    assert inspect(_pinned()).status is EnvStatus.MISSING  # nothing that looks usable
    code, out, _ = cli(capsys, "backends", "--json")
    (row,) = [r for r in json.loads(out) if r["name"] == "onnxruntime"]
    assert code == 0 and (row["available"] or row["environment"]["status"] in ("missing", "broken"))


@pytest.mark.integration
def test_no_index_in_benchmark_skips_that_row_with_the_reason_and_runs_the_others(no_index, tmp_path, capsys):
    out = tmp_path / "run.json"
    code, _, err = cli(capsys,
        "benchmark", "-b", f"faster-whisper,faster-whisper=={OLD_FASTER_WHISPER}", "--install-missing", "-n", "1",
        "--warmup", "0", "-a", str(JFK), "--no-history", "-q", "-o", str(out),
    )
    assert code == 0, err
    rows = {r["backend"]: r for r in json.loads(out.read_text())["results"]}
    assert rows["faster-whisper"]["status"] == "ok", rows["faster-whisper"]["reason"]
    pinned = rows[f"faster-whisper=={OLD_FASTER_WHISPER}"]
    assert pinned["status"] == "skipped" and "its last install failed" in pinned["reason"]
    assert "refused" in pinned["reason"].lower() or "connect" in pinned["reason"].lower()


@pytest.mark.integration
def test_a_version_the_index_does_not_have_gives_the_installers_reason(capsys):
    if not _index_reachable():
        pytest.skip("the package index (pypi.org) cannot be reached from here")
    code, _, err = cli(capsys, "backends", "install", "-q", "faster-whisper==0.0.0.999")
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "faster-whisper==0.0.0.999" in lines[0] and "retry with" in lines[0], err


@pytest.mark.integration
def test_two_versions_of_faster_whisper_side_by_side(tmp_path, capsys):
    if not _index_reachable():
        pytest.skip("the package index (pypi.org) cannot be reached from here: the pinned environment cannot be made")
    code, _, err = cli(capsys, "backends", "install", f"faster-whisper=={OLD_FASTER_WHISPER}")
    assert code == 0, err
    state = inspect(_pinned())
    assert state.ready and dict(state.packages)["faster-whisper"] == OLD_FASTER_WHISPER
    code, listed, _ = cli(capsys, "backends")
    assert code == 0 and f"{state.folder.name}: present" in listed
    out = tmp_path / "run.json"
    code, _, err = cli(capsys,
        "benchmark", "-b", f"faster-whisper,faster-whisper=={OLD_FASTER_WHISPER}", "-n", "1", "--warmup", "0",
        "-a", str(JFK), "--no-history", "-q", "-o", str(out),
    )
    assert code == 0, err
    rows = {r["backend"]: r for r in json.loads(out.read_text())["results"]}
    new, old = rows["faster-whisper"], rows[f"faster-whisper=={OLD_FASTER_WHISPER}"]
    assert new["status"] == old["status"] == "ok", (new["reason"], old["reason"])
    assert old["packages"]["faster-whisper"] == OLD_FASTER_WHISPER != new["packages"]["faster-whisper"]
    assert old["environment"] == state.folder.name and new["environment"] == ""
    assert old["model"]["fingerprint"] == new["model"]["fingerprint"]  # the same weights
    assert "fellow americans" in old["clips"][0]["text"].lower()
    assert old["display_name"] == f"faster-whisper=={OLD_FASTER_WHISPER}"
    code, shown, err = cli(capsys, "compare", str(out), "--rows", f"faster-whisper,faster-whisper=={OLD_FASTER_WHISPER}", "--json")
    assert code == 0, err
    (pair,) = json.loads(shown)["rows"]
    assert pair["verdict"] in ("faster", "slower", "no clear difference") and pair["ratio_b_over_a"] > 0
    # a deleted environment is reported, and made again by install
    import shutil

    shutil.rmtree(state.folder)
    assert inspect(_pinned()).status is EnvStatus.MISSING
    code, _, err = cli(capsys, "backends", "install", "-q", f"faster-whisper=={OLD_FASTER_WHISPER}")
    assert code == 0 and inspect(_pinned()).ready, err


def test_backend_pins_are_parsed_beside_plain_names_and_variants_keep_their_at():
    from whisper_speedtest.backends import get_backend
    from whisper_speedtest.cli.options import backend_entries
    from whisper_speedtest.errors import BadOption

    fw = get_backend("faster-whisper")
    classes, versions, _ = backend_entries(["faster-whisper,faster-whisper==1.2.0", "whisper.cpp"])
    assert classes == (fw, fw, get_backend("whisper.cpp")) and versions == (None, "1.2.0", None)
    assert backend_entries(["faster-whisper"])[1] == ()  # nothing pinned: the request is as before
    with pytest.raises(BadOption, match="give a version after =="):
        backend_entries(["faster-whisper=="])
