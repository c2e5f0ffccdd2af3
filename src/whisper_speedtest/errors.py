"""Exception types. ``UserError`` subclasses become one stderr line and exit code 2 in the CLI."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: reported as one line, exit code 2, no traceback."""


class AudioError(UserError):
    """Audio that is missing, empty, truncated or not audio at all."""


class DatasetError(UserError):
    """A ``--dataset`` that cannot be read: missing, without the named column or split, or the library is absent."""


class UnknownModel(UserError):
    """A model name that the catalog does not know."""


class UnknownBackend(UserError):
    """A backend name that no registered plugin provides."""


class BadOption(UserError):
    """An option value outside its valid range."""


class MissingExtra(UserError):
    """A feature whose optional dependency is not installed; the message names the extra to install."""


class OutputError(UserError):
    """A results file that cannot be written where the user asked."""


def check_seconds(option: str, value: float, *, zero_allowed: bool = False) -> float:
    """A duration option must be a finite number, positive (or zero where ``zero_allowed``): never nan or inf."""
    import math

    bound_ok = value >= 0 if zero_allowed else value > 0
    if not math.isfinite(value) or not bound_ok:
        wanted = "zero or a positive number" if zero_allowed else "a positive number"
        raise BadOption(f"{option} must be {wanted} of seconds (got {value:g})")
    return value


class ModelFormatError(UserError):
    """Weights on disk that are corrupt, truncated, incomplete or in no known format."""


class CorruptWeights(ModelFormatError):
    """Weights in the store that differ from what was written there, and cannot be made again."""


class UnsafeImport(UserError):
    """A folder to import whose symlinks lead out of it, nowhere, or round in a loop."""


class ModelNotAvailable(UserError):
    """The requested model is not present locally and cannot be obtained offline."""


class BackendUnavailable(Exception):
    """A backend cannot run on this machine (missing package, wrong platform)."""


class QuantizationUnavailable(UserError):
    """A requested quantized variant cannot be loaded and fallback was disabled."""


class LoadTimeout(Exception):
    """A background load did not finish within the wait."""


class ModelNotReady(Exception):
    """Transcription was asked for before the model finished loading."""


class StoreUnusable(UserError):
    """``$WHISPER_SPEEDTEST_HOME`` cannot hold anything: a file in the way, read-only, or full."""



def os_error_line(exc: OSError) -> str:
    """An ``OSError`` as a short lower-case phrase: "no space left on device (path)".

    ``shutil.copytree`` gathers one error per file into a ``shutil.Error``: the first one speaks for all.
    """
    first = exc.args[0] if exc.args else None
    if isinstance(first, list) and first and isinstance(first[0], tuple) and len(first[0]) == 3:
        import re

        text = re.sub(r"^\[Errno \d+\] ", "", str(first[0][2]))
        return text[:1].lower() + text[1:] + (f" (and {len(first) - 1} more file(s))" if len(first) > 1 else "")
    what = (exc.strerror or str(exc) or type(exc).__name__).strip()
    where = f" ({exc.filename})" if exc.filename else ""
    return f"{what[:1].lower()}{what[1:]}{where}"
