"""Text that every writer can take: JSON, CSV, Markdown, HTML, SQLite and the terminal.

A manifest, a reference file, a file name or a library can hand us strings that no UTF-8 writer accepts (lone
surrogates, as ``"\\ud800"`` in JSON or undecodable bytes in a file name give) or that a terminal or a CSV reader
takes as commands (NUL, ESC and the other control characters). Each becomes U+FFFD, the replacement character;
tab, newline and carriage return stay.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

REPLACEMENT = "\ufffd"
_UNWRITABLE = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """``text`` with lone surrogates and control characters (tab and line breaks kept) replaced by U+FFFD."""
    return _UNWRITABLE.sub(REPLACEMENT, text) if _UNWRITABLE.search(text) else text


def clean_strings(value: Any) -> Any:
    """``value`` with :func:`clean_text` applied to every string in it: frozen dataclasses, dicts, lists, tuples.

    What needs no change is returned as it is (the same object), so a clean run costs one walk.
    """
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, tuple | list):
        cleaned = [clean_strings(v) for v in value]
        return value if all(a is b for a, b in zip(cleaned, value, strict=True)) else type(value)(cleaned)
    if isinstance(value, dict):
        items = [(clean_strings(k), clean_strings(v)) for k, v in value.items()]
        unchanged = all(k2 is k and v2 is v for (k2, v2), (k, v) in zip(items, value.items(), strict=True))
        return value if unchanged else dict(items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            current = getattr(value, f.name)
            cleaned = clean_strings(current)
            if cleaned is not current:
                changes[f.name] = cleaned
        return dataclasses.replace(value, **changes) if changes else value
    return value
