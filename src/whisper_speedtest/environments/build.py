"""Making a managed environment: uv where it is installed (the ``uv`` package), venv + pip otherwise.

Atomic either way, so that a killed build leaves nothing that looks usable:

- **uv** builds a relocatable virtual environment (``uv venv --relocatable``) in a staging folder beside
  the final one, installs into it, writes the completion marker last, then renames it into place.
- **pip** (no uv): a venv embeds its absolute path in its scripts, so it is built at its final path under
  the same lock, and only the completion marker, written last, makes it usable (``state.inspect`` calls a
  folder without one broken, and the next install removes it).

The main environment's torch version is a constraint in every environment (the same torch for every
row; on a CPU machine its CPU build). pip finds local wheels through its own configuration; uv does not
read pip's, so pip's ``find-links`` (``pip config list``, ``PIP_FIND_LINKS``) are handed to uv too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from .spec import MARKER, EnvironmentSpec, ToolSource, failure_note, main_torch_constraint, python_of, this_tool
from .state import EnvironmentState, inspect

LineCallback = Callable[[str], None]
# uv trusts its own bundled roots unless told otherwise, pip (truststore) the system's: with these, a
# machine whose index is reached through a company CA that pip trusts works for uv too (UV_NATIVE_TLS is
# the older uv's name). Set in the environment, the user's own values win.
SYSTEM_CERTS = {"UV_SYSTEM_CERTS": "1", "UV_NATIVE_TLS": "1"}
FORCE_PIP = "WHISPER_SPEEDTEST_INSTALLER"  # =pip: use venv + pip even where uv is installed
_LIST_PACKAGES = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"


class EnvironmentBuildFailed(UserError):
    """An environment could not be made: the installer's reason in one line, and the command to retry."""


@dataclass(frozen=True)
class BuildReport:
    state: EnvironmentState
    seconds: float
    installer: str


def uv_binary() -> str | None:
    """The uv executable of the ``uv`` package, or None (then venv + pip is used)."""
    if os.environ.get(FORCE_PIP, "").lower() == "pip":
        return None
    try:
        import uv

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None


def pip_find_links() -> tuple[str, ...]:
    """The ``find-links`` of pip's own configuration (files and ``PIP_FIND_LINKS``), for uv."""
    found = os.environ.get("PIP_FIND_LINKS", "").split()
    try:
        listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                                timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        listed = ""
    for match in re.finditer(r"find-links='([^']*)'", listed):
        found.extend(match.group(1).split())
    return tuple(dict.fromkeys(found))


_CAUSE = ("cause:", "Caused by:", "╰─▶", "├─▶")
_TELLING = ("Failed to fetch", "No solution found", "Because ")  # the causes that say what was asked for


def installer_reason(lines: list[str]) -> str:
    """The installer's own reason in one line: uv's ``error:``/``×`` line with the cause that names what it
    fetched or could not resolve and its innermost cause, or pip's last ``ERROR:`` line."""
    text = [line.strip() for line in lines if line.strip()]
    for index, line in enumerate(text):
        if line.startswith(("error:", "×")):
            head = line.removeprefix("error:").removeprefix("×").strip().rstrip(":")
            causes = []
            for cause in text[index + 1:]:
                if cause.startswith(_CAUSE):
                    for prefix in _CAUSE:
                        cause = cause.removeprefix(prefix)
                    causes.append(cause.strip().rstrip(":"))
            telling = [c for c in causes if c.startswith(_TELLING)][:1]
            return ": ".join(dict.fromkeys([head, *telling, *causes[-1:]]))
    errors = [line for line in text if line.startswith("ERROR:")]
    if errors:
        return errors[-1].removeprefix("ERROR:").strip()
    return text[-1] if text else "the installer failed without a message"


def _run(command: list[str], on_line: LineCallback, tail: list[str]) -> int:
    """Run an installer step, passing each output line on (and keeping the last ones for the reason)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                               env={**SYSTEM_CERTS, **os.environ, "PIP_NO_INPUT": "1"})
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        tail.append(line)
        del tail[:-200]
        if line.strip():
            on_line(line)
    return process.wait()


@contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """One builder per environment at a time (an advisory lock file beside it)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # Windows: no advisory locks; the marker still guards usability
            pass
        yield


def _remove(folder: Path) -> None:
    """Move a folder aside first (so nothing half-deleted keeps its name), then delete it."""
    if not folder.exists():
        return
    aside = folder.parent / f".trash-{folder.name}-{uuid.uuid4().hex[:8]}"
    folder.rename(aside)
    shutil.rmtree(aside, ignore_errors=True)


def _install_args(spec: EnvironmentSpec, source: ToolSource, constraints: Path) -> list[str]:
    return ["-c", str(constraints), *source.requirement(spec.extras), *spec.pins]


def _write_marker(folder: Path, spec: EnvironmentSpec, source: ToolSource, installer: str, requirements) -> None:
    listed = subprocess.run([str(python_of(folder)), "-I", "-c", _LIST_PACKAGES], capture_output=True, text=True,
                            timeout=120)
    packages = json.loads(listed.stdout) if listed.returncode == 0 else {}
    marker = {
        "tool": source.as_json(), "label": spec.label, "extras": list(spec.extras), "pins": list(spec.pins),
        "asked_as": spec.asked_as, "requirements": list(requirements), "installer": installer, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0], "packages": packages,
    }
    staging = folder / f".{MARKER}.tmp"
    staging.write_text(json.dumps(marker, indent=1, sort_keys=True))
    staging.replace(folder / MARKER)


def build(spec: EnvironmentSpec, on_line: LineCallback = lambda line: None, *, source: ToolSource | None = None) -> BuildReport:
    """Make (or make again) ``spec``'s environment; raises ``EnvironmentBuildFailed`` with the installer's reason."""
    source = source or this_tool()
    final = spec.folder(source)
    requirements = spec.requirements(source)
    started = time.perf_counter()
    uv = uv_binary()
    with _lock(final), tempfile.TemporaryDirectory(prefix="whisper-speedtest-env-") as scratch:
        constraints = Path(scratch) / "constraints.txt"
        torch = main_torch_constraint()
        constraints.write_text(f"{torch}\n" if torch else "")
        for leftover in final.parent.glob(f".staging-{final.name}-*"):
            shutil.rmtree(leftover, ignore_errors=True)  # a build killed earlier (we hold the lock)
        tail: list[str] = []
        if uv is not None:
            installer = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.strip() or "uv"
            folder = final.parent / f".staging-{final.name}-{uuid.uuid4().hex[:8]}"
            steps = [
                [uv, "venv", "--relocatable", "--quiet", "--python", sys.executable, str(folder)],
                [uv, "pip", "install", "--python", str(python_of(folder)),
                 *(arg for link in pip_find_links() for arg in ("--find-links", link)),
                 *_install_args(spec, source, constraints)],
            ]
        else:
            installer = "venv + pip"
            folder = final
            _remove(final)
            steps = [
                [sys.executable, "-m", "venv", str(folder)],
                [str(python_of(folder)), "-m", "pip", "install", "--progress-bar", "off",
                 *_install_args(spec, source, constraints)],
            ]
        try:
            for step in steps:
                if _run(step, on_line, tail) != 0:
                    reason = installer_reason(tail)
                    failure_note(final).write_text(reason + "\n")
                    raise EnvironmentBuildFailed(
                        f"could not make the environment {spec.label}: {reason}; retry with: {spec.install_command()}"
                    )
            _write_marker(folder, spec, source, installer, requirements)
            if folder != final:
                _remove(final)
                folder.rename(final)
            failure_note(final).unlink(missing_ok=True)
        except BaseException:
            if folder != final:
                shutil.rmtree(folder, ignore_errors=True)
            raise
    state = inspect(spec, source)
    if not state.ready:
        raise EnvironmentBuildFailed(f"the environment {spec.label} was made but is not usable: {state.reason}")
    return BuildReport(state, time.perf_counter() - started, installer)
