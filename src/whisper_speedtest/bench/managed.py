"""Backends that run in a managed environment: which environment, and planning there.

A backend runs in one when it declares ``own_environment`` and is not available in this one, or when
a version of its library is pinned (``-b faster-whisper==1.1.1``). Its planning (availability, locating
and converting weights: optimum's exports need optimum) happens in that environment's interpreter too,
in a child like the benchmark's own; the child itself then runs that interpreter (``run_child(python=)``).
Nothing here makes an environment: a missing or broken one is a skipped row naming the command that makes it.
"""

from __future__ import annotations

import queue as queue_module
import time
from collections.abc import Callable
from dataclasses import replace

from ..backends.base import Backend, LoadOptions
from ..environments.spawn import EnvironmentContext
from ..environments.spec import EnvironmentSpec
from ..environments.state import EnvironmentState, inspect
from ..results import FAILED
from .lifeline import Lifeline, follow_parent
from ..models.locations import Scan
from ..models.weights_mode import WeightsMode
from .plan import BackendPlan, plan_backend

PLAN_TIMEOUT_S = 3600.0  # an export of a large model in the environment can take long


def environment_for(cls: type[Backend], version: str | None = None) -> EnvironmentSpec | None:
    """The managed environment ``cls`` runs in (pinned to ``version`` of its library), or None for this one."""
    if version is not None:
        return EnvironmentSpec.pinned(cls.name, cls.extra or cls.name, cls.requires[0], version)
    if cls.own_environment and not cls.available().ok:
        return EnvironmentSpec.for_extras(cls.own_environment)
    return None


def environments_named(names: list[str]) -> tuple[EnvironmentSpec, ...]:
    """The environments ``backends install`` is asked for: extras (onnx, lightning), backend names
    (onnxruntime), or ``backend==version``; unknown names raise ``UnknownBackend`` with the valid ones."""
    from ..backends import all_backends, get_backend
    from ..errors import UnknownBackend

    managed = [cls for cls in all_backends().values() if cls.own_environment]
    specs: dict[EnvironmentSpec, None] = {}
    for name in names:
        backend, _, version = name.partition("==")
        if version.strip():
            specs[environment_for(get_backend(backend), version.strip())] = None
            continue
        found = [cls for cls in managed if name in cls.own_environment or name.lower() == cls.name]
        if not found:
            known = sorted({extra for cls in managed for extra in cls.own_environment} | {cls.name for cls in managed})
            raise UnknownBackend(f"no backend needs an environment called {name!r}; these do: {', '.join(known)} "
                                 f"(or pin a version: faster-whisper==1.1.1)")
        specs.update(dict.fromkeys(EnvironmentSpec.for_extras(cls.own_environment) for cls in found))
    return tuple(specs)


def _plan_child(queue, lifeline: Lifeline, arguments: tuple) -> None:
    follow_parent(lifeline)
    try:
        plan = plan_backend(*arguments[:3], lambda text: queue.put(("note", text)), *arguments[3:])
        queue.put(("plan", plan))
    except BaseException as exc:  # reported as the row's reason
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def plan_in_environment(
    state: EnvironmentState, cls: type[Backend], model_name: str, load_options: LoadOptions,
    on_note: Callable[[str], None], synthetic: bool = False, weights: WeightsMode = WeightsMode.SAME, version: str | None = None,
) -> BackendPlan:
    """``plan_backend`` run in ``state``'s environment; the plan then runs its child there too."""
    skipped = BackendPlan(cls, None, load_options, weights=weights, version=version, environment=state.folder.name)
    if not state.ready:
        return replace(skipped, skip_reason=f"environment {state.spec.label} {state.describe()}")
    context = EnvironmentContext(state.python)
    messages = context.Queue()
    arguments = (cls, model_name, load_options, synthetic, weights)
    process = context.Process(target=_plan_child, args=(messages, Lifeline.of_this_process(), arguments),
                              name=f"whisper-speedtest:plan:{cls.name}")
    process.start()
    deadline = time.monotonic() + PLAN_TIMEOUT_S
    try:
        while True:
            try:
                kind, payload = messages.get(timeout=0.5)
            except queue_module.Empty:
                if process.is_alive() and time.monotonic() < deadline:
                    continue
                why = "timed out" if process.is_alive() else f"ended with exit code {process.exitcode}"
                return replace(skipped, skip_reason=f"planning in environment {state.spec.label} {why}", skip_status=FAILED)
            if kind == "note":
                on_note(payload)
                continue
            if kind == "error":
                return replace(skipped, skip_reason=f"in environment {state.spec.label}: {payload}", skip_status=FAILED)
            return replace(payload, python=str(state.python), version=version, environment=state.folder.name)
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
        messages.close()
        messages.join_thread()


def plan_routed(
    cls: type[Backend], model_name: str, load_options: LoadOptions, on_note: Callable[[str], None],
    synthetic: bool = False, weights: WeightsMode = WeightsMode.SAME, version: str | None = None, scan: Scan | None = None,
) -> BackendPlan:
    """Plan ``cls`` here (with the run's one ``scan``), or in its managed environment when it has one."""
    spec = environment_for(cls, version)
    if spec is None:
        return plan_backend(cls, model_name, load_options, on_note, synthetic, weights, scan)
    return plan_in_environment(inspect(spec), cls, model_name, load_options, on_note, synthetic, weights, version)

