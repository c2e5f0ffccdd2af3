"""Runs the real ``whisper_speedtest.cli.main`` with the results commands registered.

Until ``cli._register_subcommands`` calls ``cli_results.register`` itself, this adds them; afterwards
it changes nothing. Used as ``python -m tests.results_cli ARGS`` by the tests.
"""

import sys

from whisper_speedtest import cli, cli_results

_register_builtin = cli._register_subcommands


def _register_all() -> None:
    _register_builtin()
    names = {command.name for command in cli.app.registered_commands}
    if "history" not in names:
        cli_results.register(cli.app)


cli._register_subcommands = _register_all

if __name__ == "__main__":
    sys.exit(cli.main())
