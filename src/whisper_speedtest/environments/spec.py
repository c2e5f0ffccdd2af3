"""What a managed environment holds, and where it lives: ``$WHISPER_SPEEDTEST_HOME/envs/<label>-<hash>``.

The hash is of the requirements (the extras' requirement strings, the pins, the torch constraint) and
the Python version, so a changed requirement makes a new folder. This tool itself is installed there
at the same version: editable from the same source tree for a development install (the running code's
tree, or the one the distribution's ``direct_url.json`` names), the same release from the index otherwise.
That is recorded in the environment's marker and checked, not hashed: a mismatch makes it broken.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..models.paths import home
from ..version import __version__

DISTRIBUTION = "whisper-speedtest"
MARKER = "whisper-speedtest-env.json"  # written last: an environment without it is not usable


@dataclass(frozen=True)
class ToolSource:
    """How this tool is installed into an environment: ``tree`` for an editable install, else the release."""

    version: str
    tree: Path | None = None

    def requirement(self, extras: tuple[str, ...]) -> tuple[str, ...]:
        """Installer arguments for this tool with ``extras``."""
        wanted = f"[{','.join(extras)}]" if extras else ""
        if self.tree is not None:
            return ("-e", f"{self.tree}{wanted}")
        return (f"{DISTRIBUTION}{wanted}=={self.version}",)

    def describe(self) -> str:
        return f"{self.version} (editable, {self.tree})" if self.tree else f"{self.version} (from the package index)"

    def as_json(self) -> dict[str, str | None]:
        return {"version": self.version, "tree": str(self.tree) if self.tree else None}


def _is_our_tree(tree: Path) -> bool:
    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file():
        return False
    return re.search(r'^name\s*=\s*"whisper-speedtest"', pyproject.read_text(errors="replace"), re.M) is not None


def _editable_tree_of_distribution() -> Path | None:
    """The source tree of an editable install, from the installed distribution's ``direct_url.json`` (PEP 610)."""
    try:
        text = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    info = json.loads(text)
    url = urlparse(info.get("url", ""))
    if url.scheme != "file" or not info.get("dir_info", {}).get("editable"):
        return None
    return Path(unquote(url.path))


@lru_cache(maxsize=1)
def this_tool() -> ToolSource:
    """This running tool: editable from its own source tree when it runs from one (a development install,
    or a tree put first on ``PYTHONPATH``), else the installed release at this version."""
    running_tree = Path(__file__).resolve().parents[3]  # <tree>/src/whisper_speedtest/environments/spec.py
    if _is_our_tree(running_tree):
        return ToolSource(__version__, running_tree)
    editable = _editable_tree_of_distribution()
    if editable is not None and _is_our_tree(editable):
        return ToolSource(__version__, editable)
    return ToolSource(__version__)


def extra_requirements(extras: tuple[str, ...], source: ToolSource) -> tuple[str, ...]:
    """The requirement strings the extras name, from the source tree's pyproject.toml or the release's metadata."""
    if source.tree is not None:
        import tomllib

        table = tomllib.loads((source.tree / "pyproject.toml").read_text())["project"]["optional-dependencies"]
        return tuple(req for extra in extras for req in table.get(extra, ()))
    found = []
    for req in metadata.requires(DISTRIBUTION) or ():
        match = re.search(r"""extra\s*==\s*["']([^"']+)["']""", req)
        if match and match.group(1) in extras:
            found.append(req)
    return tuple(found)


def main_torch_constraint() -> str | None:
    """``torch==<the main environment's torch>`` (without its local tag), so that every row runs the same torch
    build family (and a CPU machine keeps its CPU build); None where torch is not installed here."""
    try:
        version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None
    return f"torch=={version.split('+')[0]}"


@dataclass(frozen=True)
class EnvironmentSpec:
    """One managed environment: this tool with ``extras``, plus ``pins`` (requirement strings such as
    ``faster-whisper==1.1.1``). ``label`` names it for people (``onnx-openvino``, ``faster-whisper-1.1.1``)."""

    label: str
    extras: tuple[str, ...]
    pins: tuple[str, ...] = ()
    asked_as: str = ""  # what `backends install` is given to make it: extras, or backend==version

    @classmethod
    def for_extras(cls, extras: tuple[str, ...]) -> EnvironmentSpec:
        return cls("-".join(extras), tuple(extras), asked_as=" ".join(extras))

    @classmethod
    def pinned(cls, backend: str, extra: str, distribution: str, version: str) -> EnvironmentSpec:
        return cls(f"{distribution}-{version}", (extra,), (f"{distribution}=={version}",), f"{backend}=={version}")

    def requirements(self, source: ToolSource | None = None) -> tuple[str, ...]:
        """What decides the folder: the extras' requirements, the pins and the torch constraint."""
        source = source or this_tool()
        torch = main_torch_constraint()
        return (*extra_requirements(self.extras, source), *self.pins, *((torch,) if torch else ()))

    def folder(self, source: ToolSource | None = None) -> Path:
        digest = hashlib.sha256(
            json.dumps([list(self.requirements(source)), platform.python_version()]).encode()
        ).hexdigest()[:10]
        return envs_root() / f"{self.label}-{digest}"

    def install_command(self) -> str:
        """The command that makes this environment."""
        return f"whisper-speedtest backends install {self.asked_as or ' '.join(self.extras)}"


def failure_note(folder: Path) -> Path:
    """Where the last failed build of ``folder`` left its one-line reason (removed by a successful one)."""
    return folder.parent / f".{folder.name}.failed"


def envs_root() -> Path:
    return home() / "envs"


def python_of(folder: Path) -> Path:
    """The interpreter of a virtual environment folder."""
    return folder / ("Scripts/python.exe" if platform.system() == "Windows" else "bin/python")
