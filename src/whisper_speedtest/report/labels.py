"""Short human labels for rows, weights caveats and machines, shared by the HTML page and the charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..results import BackendResult, BenchmarkRun, Provenance

if TYPE_CHECKING:
    from ..history import HistoryEntry


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


def history_line(entry: HistoryEntry) -> dict[str, Any]:
    """A history entry as ``history`` shows it (and prints with --json): machine, model, backends, the fastest."""
    fastest = entry.fastest
    return {
        "run_id": entry.run_id,
        "created": entry.created,
        "machine": machine_label(entry.provenance),
        "model": ", ".join(entry.models),
        "backends": [result_label(r) for r in entry.ran],
        "best_backend": result_label(fastest) if fastest else None,
        "best_median_s": fastest.transcribe.median if fastest else None,
        "schema_version": entry.schema_version,
    }
