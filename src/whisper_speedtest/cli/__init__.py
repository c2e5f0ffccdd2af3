"""The command line. ``main`` is the console entry point; ``cli.app.app`` is the Typer app, with every
command group (one module each here) registered side by side."""

from .app import main

__all__ = ["main"]
