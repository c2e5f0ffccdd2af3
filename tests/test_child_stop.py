"""A child stopped mid-run leaves no "leaked semaphore" warning under the table."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp, time
    from whisper_speedtest.bench.child import quiet_resource_tracker

    def hold_a_lock_forever():
        lock = mp.get_context("spawn").RLock()  # registered with the resource tracker, as tqdm's lock is
        time.sleep(600)

    if __name__ == "__main__":
        if QUIET:
            quiet_resource_tracker()
        child = mp.get_context("spawn").Process(target=hold_a_lock_forever)
        child.start()
        time.sleep(3)
        child.kill()  # as a too-slow backend is stopped
        child.join()
    """
)


def _stderr_of(quiet: bool, tmp_path) -> str:
    script = tmp_path / "stop.py"
    script.write_text(SCRIPT.replace("QUIET", str(quiet)))
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60).stderr


def test_a_killed_child_leaves_no_leaked_semaphore_warning(tmp_path):
    assert "leaked semaphore" in _stderr_of(False, tmp_path)  # what users saw under the table
    assert "leaked semaphore" not in _stderr_of(True, tmp_path)
