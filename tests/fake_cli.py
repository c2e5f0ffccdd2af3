"""The real ``whisper_speedtest.cli.main`` with the fake backends of ``tests.fake_backends`` registered.

Used as ``python -m tests.fake_cli ARGS`` (see ``conftest.run_fake_cli``), so tests drive the real
command, its real child processes and real signals with backends that misbehave on purpose.
"""

import sys

from tests import fake_backends
from whisper_speedtest import cli
from whisper_speedtest.backends import register

if __name__ == "__main__":
    for backend in fake_backends.ALL:
        register(backend)
    sys.exit(cli.main())
