"""Holding back what libraries print (``datasets``' log lines and tqdm bars, pyarrow's C++ messages).

Both Python's ``sys.stderr`` and file descriptor 2 are sent to a temporary file for the block. After a
success the text is written out as it would have been; after a ``UserError`` it goes into the error's
``details`` (the CLI prints them with ``--debug``), so the user's error stays one line.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator

from ..errors import UserError


@contextlib.contextmanager
def _fd2_into(sink) -> Iterator[None]:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (an embedding host): Python's stream alone is held back
        yield
        return
    os.dup2(sink.fileno(), 2)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def held_back(error: type[UserError] = UserError) -> Iterator[None]:
    """Run the block with library output held back (see the module docstring)."""
    python_stream = io.StringIO()
    with tempfile.TemporaryFile() as sink:
        try:
            with _fd2_into(sink), contextlib.redirect_stderr(python_stream):
                yield
        except error as exc:
            sink.seek(0)
            exc.details = (python_stream.getvalue() + sink.read().decode("utf-8", "replace")).strip()
            raise
        sink.seek(0)
        shown = python_stream.getvalue() + sink.read().decode("utf-8", "replace")
    if shown:
        sys.stderr.write(shown)
        sys.stderr.flush()
