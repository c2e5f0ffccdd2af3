"""The command line: ``app`` (every command group, registered side by side) and ``main``, the console entry point."""

from .app import app, main

__all__ = ["app", "main"]
