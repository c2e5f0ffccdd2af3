"""Backend discovery: built-ins and plugins alike register in the entry-point group."""

from __future__ import annotations

from importlib import metadata

from ..errors import UnknownBackend
from .base import Backend

GROUP = "whisper_speedtest.backends"
_extra: dict[str, type[Backend]] = {}


def register(backend: type[Backend]) -> None:
    """Register a backend class at run time (tests and embedding applications)."""
    _extra[backend.name] = backend


def unregister(name: str) -> None:
    _extra.pop(name, None)


def _entry_point_backends() -> dict[str, type[Backend]]:
    """Backends from installed entry points; a plugin that fails to import is reported, not fatal."""
    found: dict[str, type[Backend]] = {}
    for ep in metadata.entry_points(group=GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # a broken third-party plugin must not stop the run
            _warn_once(f"backend plugin {ep.name!r} failed to import and is ignored: {type(exc).__name__}: {exc}")
            continue
        found[cls.name] = cls
    return found


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    import sys

    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr)


def all_backends() -> dict[str, type[Backend]]:
    """Every known backend class by name, installed or not."""
    return {**_entry_point_backends(), **_extra}


def get_backend(name: str) -> type[Backend]:
    """The backend called ``name``: ours, or mac-whisper-speedtest's class name for it (any case)."""
    backends = all_backends()
    key = name.strip().lower()
    if key in backends:
        return backends[key]
    for cls in backends.values():
        if key in (alias.lower() for alias in cls.__dict__.get("original_names", ())):
            return cls
    raise UnknownBackend(f"unknown backend {name!r}; valid backends: {', '.join(sorted(backends))}")


def alias_note(name: str) -> str | None:
    """One line naming our backend when ``name`` is mac-whisper-speedtest's name for it; None for our names."""
    cls = get_backend(name)
    if name.strip().lower() == cls.name:
        return None
    return f"note: {name.strip()} is mac-whisper-speedtest's name; ours is {cls.name}"
