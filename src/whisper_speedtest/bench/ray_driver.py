"""Dataset mode on Ray Data: CPU decoders feed an actor pool of backends (one per GPU, or per N CPUs).

``--ray`` starts a local Ray for the run; ``--ray-address`` joins a running cluster. The pass gives
back the same ``WorkerResult`` as the in-process worker (``run_job``), so the row, the table and the
JSON/CSV/MD/HTML are the same. Clips go through longest first in batches; a batch that fails is
tried again clip by clip, and an actor that dies is restarted by Ray and its batch retried once: a
clip that fails twice becomes a failed clip, and a batch lost twice makes its clips failed clips.

The clock: the pass starts when the first actor has loaded its backend and warmed up (as the
in-process pass starts after load and warm-up); Ray's start and the loads are reported apart.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
import warnings
from dataclasses import dataclass, replace

from ..child_messages import ChildMessage
from ..errors import UserError
from .dataset_pass import batches, longest_first

RAY_HINT = "pip install 'whisper-speedtest[ray]'"
LOST_REASON = "its batch was lost twice (a Ray worker died); left out"


class RayUnavailable(UserError):
    """``--ray`` without Ray installed."""


@dataclass(frozen=True)
class RaySettings:
    address: str | None = None  # None: start a local Ray for the run
    actors: int | None = None  # model actors; default one per GPU, or one per ``cpus_per_actor`` CPUs
    cpus_per_actor: int = 1  # CPU-only clusters: CPUs (and backend threads) per model actor
    decoders: int | None = None  # CPU decoder actors; default two per model actor, within the CPUs there are

    def describe(self) -> str:
        return f"ray ({'local' if self.address is None else self.address})"


def check_ray() -> None:
    if importlib.util.find_spec("ray") is None:
        raise RayUnavailable(f"--ray needs Ray, which is not installed: {RAY_HINT}")


def _plan_actors(settings: RaySettings, device: str) -> tuple[int, int, int]:
    """(model actors, CPUs of each when it takes a GPU (0: CPU-only actors), decoder actors) for this cluster."""
    import ray

    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
    on_gpu = gpus > 0 and device in ("auto", "cuda")
    if on_gpu:  # the CPUs left after the decoders go to the model actors (Ray sets their OMP_NUM_THREADS to it)
        actors = settings.actors or gpus
        decoders = settings.decoders or max(1, min(2 * actors, cpus // 4))
        return actors, max(1, (cpus - decoders) // actors), decoders
    actors = settings.actors or max(1, (cpus - 1) // settings.cpus_per_actor)
    return actors, 0, settings.decoders or max(1, min(2 * actors, cpus - actors * settings.cpus_per_actor))


class RayPassTimeout(Exception):
    """The Ray pass ran past ``--timeout``, or made no progress for that long."""


def run_on_ray(job, settings: RaySettings, report, timeout_s: float | None = None):
    """The dataset pass of ``job`` (a ``WorkerJob``) on Ray; a ``WorkerResult``, as ``run_job`` gives.

    With ``timeout_s``, the pass stops (``RayPassTimeout``) once it has run that long, checked as
    batches arrive, or once Ray Data has seen no progress for that long (a hung actor).
    """
    import ray
    import ray.data

    from .ray_stages import Decoder, Transcriber

    selection = job.dataset
    entries = selection.entries
    began = time.time()
    report(ChildMessage.PROGRESS, f"starting {settings.describe()}")
    ray.init(address=settings.address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False,
             logging_level=logging.WARNING)
    try:
        actors, gpu_actor_cpus, decoders = _plan_actors(settings, job.load_options.device)
        on_gpu = gpu_actor_cpus > 0
        if not on_gpu:
            job = replace(job, load_options=replace(job.load_options, threads=job.load_options.threads or settings.cpus_per_actor))
        order = longest_first([e.duration_s for e in entries])
        groups = batches(order, job.batch_size)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.max_errored_blocks = len(groups)  # a batch lost twice becomes failed clips, never a lost run
        context.execution_no_progress_timeout_s = timeout_s or -1
        warmup = replace(selection, entries=tuple(entries[p] for p in groups[0]))
        rows = ray.data.from_items([{"group": g} for g in range(len(groups))], override_num_blocks=len(groups))
        decoded = rows.map_batches(Decoder, fn_constructor_kwargs={"selection": selection, "groups": groups}, batch_size=1,
                                   compute=ray.data.ActorPoolStrategy(size=decoders), num_cpus=1)
        model_resources = {"num_gpus": 1, "num_cpus": gpu_actor_cpus} if on_gpu else {"num_cpus": settings.cpus_per_actor}
        with warnings.catch_warnings():  # max_restarts/max_task_retries: Ray Data's documented way, flagged as deprecated
            warnings.simplefilter("ignore")
            transcribed = decoded.map_batches(Transcriber, fn_constructor_kwargs={"job": job, "warmup": warmup}, batch_size=1,
                                              compute=ray.data.ActorPoolStrategy(size=actors), max_restarts=3, max_task_retries=1,
                                              **model_resources)
        report(ChildMessage.TOTAL, len(entries))
        report(ChildMessage.PROGRESS, f"{settings.describe()} · {actors} model actor(s) on {'GPU' if on_gpu else 'CPU'} · batch {job.batch_size}")
        collected = []
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.WARNING)  # Ray Data logs each execution at INFO on stderr
        try:
            for batch in transcribed.iter_batches(batch_size=None, batch_format="numpy"):
                collected.append(batch)
                report(ChildMessage.TICK, sum(len(json.loads(p)) for p in batch["positions"]))
                if timeout_s is not None and time.time() - began > timeout_s:
                    raise RayPassTimeout(f"no result within --timeout {timeout_s:g} s; Ray pass stopped")
        except ray.data.exceptions.ExecutionTimeoutError:
            raise RayPassTimeout(f"no progress for --timeout {timeout_s:g} s; Ray pass stopped") from None
        finished = time.time()
    finally:
        ray.shutdown()
    return _raw_result(collected, len(entries), len(groups), began, finished, actors, on_gpu, settings)


def _raw_result(collected, clips: int, groups: int, began: float, finished: float, actors: int, on_gpu: bool,
                settings: RaySettings):
    """The collected batches as one ``WorkerResult``: texts in manifest order, the slowest load, the largest peaks."""
    from ..backends.base import LoadResult
    from .dataset_pass import DatasetPass
    from .job import WorkerResult

    texts: list[str | None] = [None] * clips
    failed: dict[int, str] = {}
    audio_s = decode_s = inference_s = 0.0
    seen_actors: dict[str, dict] = {}
    for batch in collected:
        for positions, batch_texts, errors in zip(batch["positions"], batch["texts"], batch["errors"]):
            for position, text, error in zip(json.loads(positions), json.loads(batch_texts), json.loads(errors)):
                if error:
                    failed[position] = error
                else:
                    texts[position] = text
        audio_s += float(batch["audio_s"].sum())
        decode_s += float(batch["decode_s"].sum())
        inference_s += float(batch["inference_s"].sum())
        for actor in batch["actor"]:
            record = json.loads(actor)
            seen_actors[record["where"]] = record
    for position in range(clips):
        if texts[position] is None and position not in failed:
            failed[position] = LOST_REASON
    if not seen_actors:
        raise RuntimeError("no batch came back from the Ray actors")
    records = list(seen_actors.values())
    start = min(r["ready_at"] for r in records)
    first = records[0]
    dataset = DatasetPass(
        texts=tuple(texts), failed=tuple(sorted(failed.items())), order="longest first", audio_s=audio_s,
        wall_s=max(finished - start, 1e-9), decode_s=decode_s, inference_s=inference_s, batches=groups,
        driver=f"{settings.describe()}: {actors} model actor(s), {'1 GPU' if on_gpu else f'{settings.cpus_per_actor} CPU(s)'} each",
        workers=tuple(sorted(seen_actors)), startup_s=start - began,
    )
    return WorkerResult(
        load_s=max(r["load_s"] for r in records),
        load=LoadResult(**first["load_result"]),
        texts=tuple(texts),
        params=first["params"],
        packages=first["packages"],
        peak_rss=max(r["peak_rss"] for r in records),
        peak_vram=max(r["peak_vram"] for r in records) or None,
        dataset=dataset,
    )
