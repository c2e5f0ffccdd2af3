"""What the libraries inside a backend child print (tqdm bars, warnings, C++ logs), kept off the screen.

The child's file descriptors 1 and 2 go to a log file from its first line on, so nothing a library
writes, from Python or from native code, reaches the terminal under our display. The parent reads the
log once the child has ended; the row keeps it (``BackendResult.library_log``) and ``-v`` shows it.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

LOG_LIMIT_CHARS = 20_000  # the tail is kept: the last lines say most about a failure
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def new_log_path(label: str) -> Path:
    """An empty file for one child's output (the parent removes it with :func:`collect`)."""
    handle, name = tempfile.mkstemp(prefix=f"whisper-speedtest-{re.sub(r'[^A-Za-z0-9_.-]', '_', label)}-", suffix=".log")
    os.close(handle)
    return Path(name)


def redirect_output(path: str | os.PathLike[str]) -> None:
    """In the child: send file descriptors 1 and 2 (and so ``sys.stdout``/``sys.stderr``) to ``path``."""
    import sys

    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    for stream, number in ((sys.stdout, 1), (sys.stderr, 2)):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
        os.dup2(fd, number)
    os.close(fd)


def clean(text: str) -> str:
    """Terminal control removed: colours dropped, and a line redrawn with ``\\r`` (a progress bar)
    kept as it was last drawn."""
    lines = []
    for line in _ANSI.sub("", text).split("\n"):
        drawn = [part for part in line.split("\r") if part.strip()]
        if drawn:
            lines.append(drawn[-1].rstrip())
    text = "\n".join(lines)
    if len(text) > LOG_LIMIT_CHARS:
        text = f"[first {len(text) - LOG_LIMIT_CHARS} characters left out]\n" + text[-LOG_LIMIT_CHARS:]
    return text


def collect(path: Path) -> str:
    """The child's output, cleaned, and the file removed ("" when it wrote nothing)."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")  # not read_text: it would turn \r into \n
    except OSError:
        return ""
    finally:
        path.unlink(missing_ok=True)
    return clean(text)
