"""Whether a managed environment is present, missing or broken, and why: read, never changed."""

from __future__ import annotations

import enum
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .spec import MARKER, EnvironmentSpec, ToolSource, envs_root, failure_note, python_of, this_tool

# Run in the environment's interpreter: its own whisper-speedtest, read the way the parent reads its own.
_SELF_CHECK = "import importlib.metadata as m, whisper_speedtest.version as v; print(m.version('whisper-speedtest'), v.__version__)"


LEFT_OVER = "left over"


class EnvStatus(enum.Enum):
    PRESENT = "present"
    MISSING = "missing"
    BROKEN = "broken"


@dataclass(frozen=True)
class EnvironmentState:
    spec: EnvironmentSpec
    folder: Path
    status: EnvStatus
    reason: str = ""  # why it is broken (or missing)
    packages: tuple[tuple[str, str], ...] = ()  # (distribution, version) as recorded when it was made
    installer: str = ""

    @property
    def python(self) -> Path:
        return python_of(self.folder)

    @property
    def ready(self) -> bool:
        return self.status is EnvStatus.PRESENT

    def describe(self) -> str:
        if self.ready:
            return f"present ({self.folder})"
        if self.status is EnvStatus.MISSING:
            last = f" ({self.reason})" if self.reason != "not made yet" else ""
            return f"missing{last}: {self.spec.install_command()} makes it"
        if self.reason.startswith(LEFT_OVER):
            return f"{self.reason} ({self.folder})"
        return f"broken: {self.reason}; {self.spec.install_command()} makes it again"


def read_marker(folder: Path) -> dict:
    return json.loads((folder / MARKER).read_text())


def inspect(spec: EnvironmentSpec, source: ToolSource | None = None, *, run_check: bool = True) -> EnvironmentState:
    """The state of ``spec``'s environment. ``run_check`` also starts its interpreter once and asks it for
    its whisper-speedtest (a deleted or damaged install shows up there)."""
    source = source or this_tool()
    folder = spec.folder(source)

    def broken(reason: str) -> EnvironmentState:
        return EnvironmentState(spec, folder, EnvStatus.BROKEN, reason)

    if not folder.exists():
        note = failure_note(folder)
        last = note.read_text().strip() if note.is_file() else ""
        return EnvironmentState(spec, folder, EnvStatus.MISSING, f"its last install failed: {last}" if last else "not made yet")
    if not (folder / MARKER).is_file():
        return broken("incomplete (no completion marker: its build was stopped or failed)")
    try:
        marker = read_marker(folder)
        made_for = marker["tool"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return broken(f"unreadable marker {MARKER} ({type(exc).__name__})")
    if made_for != source.as_json():
        was = ToolSource(made_for.get("version", "?"), Path(made_for["tree"]) if made_for.get("tree") else None)
        return broken(f"made for whisper-speedtest {was.describe()}, this is {source.describe()}")
    if not python_of(folder).exists():
        return broken(f"its interpreter {python_of(folder)} is missing")
    if run_check:
        problem = _self_check(python_of(folder), source.version)
        if problem:
            return broken(problem)
    packages = tuple(sorted((marker.get("packages") or {}).items()))
    return EnvironmentState(spec, folder, EnvStatus.PRESENT, packages=packages, installer=marker.get("installer", ""))


def _self_check(python: Path, version: str) -> str | None:
    try:
        done = subprocess.run([str(python), "-I", "-c", _SELF_CHECK], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"its interpreter does not start ({type(exc).__name__}: {exc})"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"its whisper-speedtest does not import ({last})"
    found = done.stdout.split()
    if found[:1] != [version]:
        return f"it holds whisper-speedtest {' / '.join(found) or '?'}, this is {version}"
    return None


def made_environments(source: ToolSource | None = None) -> tuple[EnvironmentState, ...]:
    """Every environment folder under ``envs/`` (pinned versions included), read from its marker: its state
    when its spec still names that folder, else broken (made from other requirements)."""
    found = []
    root = envs_root()
    for folder in sorted(root.iterdir()) if root.is_dir() else ():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            marker = read_marker(folder)
            spec = EnvironmentSpec(marker["label"], tuple(marker["extras"]), tuple(marker["pins"]), marker.get("asked_as", ""))
        except (OSError, ValueError, KeyError, TypeError):
            spec = EnvironmentSpec(folder.name, ())
            found.append(EnvironmentState(spec, folder, EnvStatus.BROKEN, "no readable completion marker"))
            continue
        if spec.folder(source) != folder:
            found.append(EnvironmentState(spec, folder, EnvStatus.BROKEN, f"{LEFT_OVER}: made from other requirements, no longer used (safe to delete)"))
            continue
        found.append(inspect(spec, source))
    return tuple(found)
