"""Output paths are checked before any backend runs; a write that still fails at the end loses nothing else."""

import json
import os
import shutil

import pytest

from tests.conftest import run_cli, run_fake_cli, start_fake_cli, wait_for_file


def _one_error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_missing_output_folder_is_refused_and_not_created(tmp_path):
    missing = tmp_path / "no-such-folder"
    result = run_cli("benchmark", "-o", str(missing / "x.json"), timeout=120)
    assert result.returncode == 2
    assert f"folder {missing} does not exist" in _one_error_line(result)
    assert not missing.exists()


def test_output_under_a_file_is_refused(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    result = run_cli("benchmark", "-o", str(a_file / "deeper" / "x.json"), timeout=120)
    assert result.returncode == 2
    assert f"{a_file} is a file, not a folder" in _one_error_line(result)
    assert a_file.read_text() == "not a folder"


def _read_only_folder(tmp_path):
    """A folder nobody can write: chmod for ordinary users; root can write anywhere but sysfs."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if os.path.isdir("/sys/kernel"):
        return "/sys"
    pytest.skip("running as root without sysfs: no folder that root cannot write")


def test_read_only_output_folder_is_refused_before_any_backend_runs(tmp_path):
    folder = _read_only_folder(tmp_path)
    result = run_fake_cli("benchmark", "-b", "fake-slow", "-o", os.path.join(folder, "x.json"), env={"FAKE_SLOW_S": "30"})
    assert result.returncode == 2
    assert "is not writable" in _one_error_line(result)


def test_output_that_fails_at_the_end_keeps_the_table_and_the_history(tmp_path):
    out_dir, pidfile, home = tmp_path / "out", tmp_path / "child.pid", tmp_path / "home"
    out_dir.mkdir()
    good = tmp_path / "kept.csv"
    env = {"FAKE_BACKEND_PIDFILE": str(pidfile), "FAKE_SLOW_S": "1", "WHISPER_SPEEDTEST_HOME": str(home)}
    process = start_fake_cli("benchmark", "-b", "fake-slow", "-n", "1", "--warmup", "0",
                             "-o", str(out_dir / "r.json"), "-o", str(good), env=env)
    try:
        wait_for_file(pidfile)
        shutil.rmtree(out_dir)  # the folder disappears while the backend runs
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 2, stderr
    assert "fake slow" in stdout  # the table was printed
    error_lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and f"cannot write {out_dir / 'r.json'}" in error_lines[0], stderr
    assert "Traceback" not in stderr
    assert not out_dir.exists()  # not re-created
    assert good.read_text().startswith("backend,")  # the other output was still written
    history = run_cli("history", "--json", env={"WHISPER_SPEEDTEST_HOME": str(home)}, timeout=60)
    assert len(json.loads(history.stdout)) == 1
