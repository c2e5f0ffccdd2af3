"""Backends, discovered through the ``whisper_speedtest.backends`` entry-point group."""

from .registry import all_backends, get_backend, register, unregister

__all__ = ["all_backends", "get_backend", "register", "unregister"]
