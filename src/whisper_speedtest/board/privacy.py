"""What a published run may carry: no hostname, no user name, no absolute path; and where it goes in the repo.

Audio is sent by file name only (``audio_names_only``): its folders stay here unless ``--audio-paths`` asks.
Other paths become relative: to the model store, the Hugging Face cache or site-packages, to the working folder, or to the
home folder; any other absolute path loses its leading slash (``/home/<name>`` and ``/Users/<name>``
lose the name too). The hostname and the user name are replaced wherever they still appear as a
word, except in transcripts and references, which are sent as they are (``--dry-run`` shows them).
"""

from __future__ import annotations

import getpass
import hashlib
import re
import socket
import sysconfig
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from ..results import BenchmarkRun, Provenance

TEXT_FIELDS = frozenset({"text", "reference", "transcripts"})  # what the audio said: left as it is
HOST, USER = "<host>", "<user>"
_ABSOLUTE = re.compile(r"(?<![\w.~/\\-])(?:/(?!/)|[A-Za-z]:\\)[^\s'\"(),;]+")  # not the // of a URL
_PERSONAL_ROOTS = re.compile(r"^(?:/home|/Users|/var/home|[A-Za-z]:\\Users)[/\\][^/\\]+(?:[/\\]|$)")


def _roots() -> list[Path]:
    """Folders that paths are made relative to, most specific first."""
    from ..models import paths
    from ..models.hub_cache import hub_cache_dir

    site_packages = Path(sysconfig.get_paths()["purelib"])  # pip model packages
    roots = [paths.home(), hub_cache_dir(), site_packages, Path.cwd(), Path.home()]
    return [r.expanduser().resolve() for r in roots]


def relative_path(raw: str, roots: Iterable[Path]) -> str:
    """``raw`` relative to the first root that holds it; otherwise without what names its owner."""
    windows = bool(re.match(r"^[A-Za-z]:\\", raw))
    if not windows:
        path = PurePosixPath(raw)
        for root in roots:
            try:
                relative = path.relative_to(PurePosixPath(root))
            except ValueError:
                continue
            return str(relative) if str(relative) != "." else root.name
    stripped = _PERSONAL_ROOTS.sub("", raw)
    if windows:
        return str(PureWindowsPath(stripped).as_posix()).split(":", 1)[-1].lstrip("/")
    return stripped.lstrip("/")


def private_words() -> dict[str, str]:
    """The hostname (and its short form) and the user name, mapped to their placeholders."""
    words = {}
    host = socket.gethostname()
    for name in (host, host.split(".")[0]):
        if name:
            words[name] = HOST
    for name in (getpass.getuser(), Path.home().name):
        if name and name not in words:
            words[name] = USER
    return words


def _scrub_text(value: str, roots: list[Path], words: dict[str, str]) -> str:
    value = _ABSOLUTE.sub(lambda m: relative_path(m.group(0), roots), value)
    for word, placeholder in sorted(words.items(), key=lambda item: -len(item[0])):
        value = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", placeholder, value, flags=re.IGNORECASE)
    return value


def sanitize(data: Any, roots: list[Path] | None = None, words: dict[str, str] | None = None, key: str = "") -> Any:
    """A copy of a run's JSON form with paths made relative and the hostname and user name dropped."""
    roots = _roots() if roots is None else roots
    words = private_words() if words is None else words
    if isinstance(data, dict):
        return {k: sanitize(v, roots, words, k) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [sanitize(v, roots, words, key) for v in data]
    if isinstance(data, str):
        if key in TEXT_FIELDS:
            return data
        return _scrub_text(data, roots, words)
    return data


def _file_name(raw: str) -> str:
    """The last part of a path (POSIX or Windows), or ``raw`` when it names no folder (an ``hf:`` set)."""
    if raw.startswith("hf:") or not raw:
        return raw
    return PureWindowsPath(raw).name if re.match(r"^[A-Za-z]:\\", raw) else PurePosixPath(raw).name or raw


def audio_names_only(data: dict[str, Any]) -> dict[str, Any]:
    """A run's JSON form with each clip's path cut to its file name, and a local ``--dataset`` to its own name.

    The folders audio sits in say who made it and where (a hostname inside a folder name, a client's name);
    ``publish`` sends them only when asked (``--audio-paths``), and then through :func:`sanitize` as well.
    """
    clips = [{**clip, "path": _file_name(clip.get("path") or "")} for clip in data.get("clips", [])]
    results = []
    for row in data.get("results", []):
        dataset = row.get("dataset")
        if isinstance(dataset, dict) and dataset.get("source"):
            row = {**row, "dataset": {**dataset, "source": _file_name(dataset["source"])}}
        results.append(row)
    return {**data, "clips": clips, "results": results}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "unknown"


def machine_id(provenance: Provenance) -> str:
    """A stable, readable name for the machine, from what it is (CPU, cores, RAM, GPUs, OS), never who owns it."""
    p = provenance
    facts = "|".join(str(x) for x in (p.cpu, p.machine, p.cores_physical, p.cores_logical, p.ram_gb, ",".join(p.gpus), p.os.split("-")[0]))
    digest = hashlib.sha256(facts.encode()).hexdigest()[:8]
    gpu = _slug(p.gpus[0]) if p.gpus else "no-gpu"
    return f"{_slug(p.cpu)}-{p.cores_logical or p.cores_physical or 0}c-{gpu}-{digest}"


def repo_path(run: BenchmarkRun) -> str:
    """Where ``run`` goes in the dataset repo: one folder per machine, one file per run."""
    return f"runs/{machine_id(run.provenance)}/{run.created[:10]}-{run.run_id}.json"
