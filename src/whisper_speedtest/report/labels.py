"""Short human labels for rows, weights caveats and machines, shared by the HTML page and the charts."""

from __future__ import annotations

from collections.abc import Sequence

from ..results import BackendResult, BenchmarkRun, Provenance


def result_label(result: BackendResult) -> str:
    """Backend display name, plus ``@variant`` when a quantized variant was asked for."""
    variant = getattr(result, "variant", "default") or "default"
    return result.display_name + ("" if variant == "default" else f"@{variant}")


def weights_caveat(result: BackendResult) -> str:
    """Why this row's numbers are not plain OpenAI Whisper weights ("" when they are)."""
    model = result.model
    if model is None:
        return ""
    notes = []
    if model.synthetic:
        notes.append("synthetic weights")
    if model.family != "whisper":
        notes.append(f"{model.family} model, not Whisper")
    return ", ".join(notes)


def machine_label(provenance: Provenance) -> str:
    """One line naming the machine: CPU, cores, RAM and GPU."""
    cores = provenance.cores_logical or provenance.cores_physical
    parts = [provenance.cpu or provenance.machine or "unknown CPU"]
    if cores:
        parts.append(f"{cores} cores")
    if provenance.ram_gb:
        parts.append(f"{provenance.ram_gb:.0f} GiB")
    parts.append(", ".join(provenance.gpus) if provenance.gpus else "no GPU")
    return " · ".join(parts)


def short_machine_label(provenance: Provenance) -> str:
    """The CPU, and the first GPU if there is one: short enough for a table column or a legend."""
    cpu = provenance.cpu or provenance.machine or "unknown CPU"
    return f"{cpu} + {provenance.gpus[0]}" if provenance.gpus else cpu


def run_labels(runs: Sequence[BenchmarkRun]) -> list[str]:
    """A distinct short label per run: the machine, with the run id added where machines repeat."""
    machines = [short_machine_label(run.provenance) for run in runs]
    return [m if machines.count(m) == 1 else f"{m} · {run.run_id[:8]}" for m, run in zip(machines, runs, strict=True)]
