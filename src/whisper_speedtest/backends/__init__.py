"""Backends: the built-ins, and third-party ones from the ``whisper_speedtest.backends`` entry-point group."""

from .registry import alias_note, all_backends, get_backend, register, unregister

__all__ = ["alias_note", "all_backends", "get_backend", "register", "unregister"]
