"""Which registered backends can run here, and why the others cannot: ``whisper_speedtest.backends()``."""

from __future__ import annotations

from dataclasses import dataclass

from .registry import all_backends


@dataclass(frozen=True)
class BackendInfo:
    """A registered backend and whether it can run here (``reason`` says why not)."""

    name: str
    display_name: str
    available: bool
    reason: str = ""
    model_format: str = ""

    def __str__(self) -> str:
        return self.name


def installed(*, include_unavailable: bool = False) -> list[BackendInfo]:
    """The backends installed and runnable here, by name; ``include_unavailable`` adds the rest, with why not.

    Availability is judged as the benchmark judges it (package metadata and platform, no heavy import)."""
    found = []
    for cls in sorted(all_backends().values(), key=lambda c: c.name):
        availability = cls.available()
        if availability.ok or include_unavailable:
            found.append(BackendInfo(cls.name, cls.display_name, availability.ok, availability.reason, cls.model_format))
    return found
