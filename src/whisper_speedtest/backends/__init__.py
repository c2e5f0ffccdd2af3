"""Backends: the built-ins, and third-party ones from the ``whisper_speedtest.backends`` entry-point group.

The package is also the public ``whisper_speedtest.backends()``: calling it lists the backends that can run
here (:func:`.listing.installed`). A subpackage and a function cannot share the name ``backends`` on the
package otherwise: importing the subpackage sets that attribute to the module.
"""

import sys
import types

from .listing import BackendInfo, installed
from .registry import alias_note, all_backends, get_backend, register, unregister

__all__ = ["BackendInfo", "alias_note", "all_backends", "get_backend", "installed", "register", "unregister"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *, include_unavailable: bool = False) -> list[BackendInfo]:
        """The backends installed and runnable here; ``include_unavailable`` adds the rest, with why not."""
        return installed(include_unavailable=include_unavailable)


sys.modules[__name__].__class__ = _CallablePackage
