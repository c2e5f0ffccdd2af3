"""Which rows may stand side by side: a row's key, and a line naming the part of the key that differs.

A row is keyed by (model, weights fingerprint, audio set, decode settings, backend, variant). Rows of two
runs are *matched* by backend and variant, then *compared* only when the rest of the key agrees.

Variant names, normalized here and nowhere else: a row of a run without ``--quant`` has the variant
"default"; it is named by the precision that actually ran, read from ``actual_variant`` (faster-whisper's
CPU default computes in int8, so its default row is ``faster-whisper@int8``; a float16 or float32 load is
``@float16``). So the float16 row of a ``--quant`` sweep is the same row as a default run's float16 row.
When a run already has an explicit row of that name, its default row keeps the name "default".
"""

from __future__ import annotations

from collections.abc import Sequence

from ..results import BackendResult, BenchmarkRun, DecodeSettings

_PRECISIONS = (
    ("int4", ("int4", "q4", "4bit", "4-bit")),
    ("int8", ("int8", "q8", "8bit", "8-bit")),
    ("float16", ("float16", "fp16", "f16", "half", "float32", "fp32", "f32", "float", "bfloat16", "bf16")),
)


def precision_of(actual: str) -> str | None:
    """The variant class of what a backend reports it loaded ("int8_float32" -> int8), or None if unknown."""
    text = (actual or "").lower()
    for name, markers in _PRECISIONS:
        if any(marker in text for marker in markers):
            return name
    return None


def row_variants(results: Sequence[BackendResult]) -> list[str]:
    """Each row's normalized variant, in order (see the module docstring)."""
    explicit = {(r.backend, r.variant) for r in results if (r.variant or "default") != "default"}
    names = []
    for r in results:
        variant = r.variant or "default"
        if variant == "default":
            resolved = precision_of(r.actual_variant) or "float16"
            variant = resolved if (r.backend, resolved) not in explicit else "default"
        names.append(variant)
    return names


def row_name(backend_label: str, variant: str) -> str:
    return f"{backend_label}@{variant}"


def describe_audio(run: BenchmarkRun) -> str:
    """The audio a run transcribed, in a few words: its audio set, or (files before 1.4) its clips by name."""
    if run.audio_set is not None:
        a = run.audio_set
        return f"{a.clips} clip(s), {a.duration_s:.1f} s, audio set {a.fingerprint[:12]}"
    total = sum(c.duration_s for c in run.clips)
    names = ", ".join(c.name for c in run.clips[:2]) + (", …" if len(run.clips) > 2 else "")
    return f"{len(run.clips)} clip(s), {total:.1f} s ({names}; known by name)"


def same_audio(a: BenchmarkRun, b: BenchmarkRun) -> bool:
    """Same audio set; a file from before 1.4 is compared by its clips' names, durations and references."""
    if a.audio_set is not None and b.audio_set is not None:
        return a.audio_set.fingerprint == b.audio_set.fingerprint
    return audio_identity_legacy(a) == audio_identity_legacy(b)


def audio_identity_legacy(run: BenchmarkRun) -> tuple:
    return tuple((c.name, round(c.duration_s, 1), c.reference or "") for c in run.clips)


def decode_key(settings: DecodeSettings) -> tuple:
    return (settings.language, settings.beam_size, settings.temperature, settings.condition_on_previous_text)


def describe_decode(settings: DecodeSettings) -> str:
    previous = "on" if settings.condition_on_previous_text else "off"
    return f"language={settings.language} beam={settings.beam_size} temperature={settings.temperature:g} previous-text={previous}"


def run_differences(a: BenchmarkRun, b: BenchmarkRun) -> list[str]:
    """The run-wide parts of the key that differ (audio set, decode settings), one line each."""
    lines = []
    if not same_audio(a, b):
        lines.append(f"different audio: A {describe_audio(a)}, B {describe_audio(b)}")
    if decode_key(a.settings) != decode_key(b.settings):
        lines.append(f"different decode settings: A {describe_decode(a.settings)}, B {describe_decode(b.settings)}")
    return lines


def row_differences(a: BackendResult, b: BackendResult) -> list[str]:
    """The row parts of the key that differ: the model, or the weights' fingerprint (unknown counts as no difference)."""
    ma, mb = a.model, b.model
    if ma is None or mb is None:
        return []
    if ma.name != mb.name:
        return [f"different models: A {ma.name}, B {mb.name}"]
    if ma.fingerprint and mb.fingerprint and ma.fingerprint != mb.fingerprint:
        return [f"different weights: A {ma.fingerprint[:12]}, B {mb.fingerprint[:12]}"]
    return []


def audio_keys(runs: Sequence[BenchmarkRun]) -> list[str]:
    """One audio key per run for grouping: the fingerprints when every run has one, else (a file before 1.4
    among them) the clips' names, durations and references for all, as :func:`same_audio` compares them."""
    if all(run.audio_set is not None for run in runs):
        return [run.audio_set.fingerprint for run in runs]
    return [repr(audio_identity_legacy(run)) for run in runs]


def run_groups(runs: Sequence[BenchmarkRun]) -> list[list[int]]:
    """Indices of runs that may share one table (same audio set and decode settings), in first-seen order."""
    groups: dict[tuple, list[int]] = {}
    for index, (run, audio) in enumerate(zip(runs, audio_keys(runs), strict=True)):
        groups.setdefault((audio, decode_key(run.settings)), []).append(index)
    return list(groups.values())
