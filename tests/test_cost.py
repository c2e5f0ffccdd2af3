"""Cost measurement: fake RAPL and NVML counters (wraps, unreadable files), the meter's arithmetic, powermetrics."""

from __future__ import annotations

import json

import pytest

from whisper_speedtest.bench import energy
from whisper_speedtest.bench.cost import CostMeter
from whisper_speedtest.bench.energy import EnergySource, NvmlSource, RaplSource, open_nvml, open_rapl, rapl_zones, trapezoid, wrap_delta
from whisper_speedtest.bench.powermetrics import PowerSample, energy_between, parse_power_lines
from whisper_speedtest.results import EnergyReading, RegionCost

from .conftest import run_fake_cli


def within_1_percent(measured: float, expected: float) -> bool:
    return abs(measured - expected) <= 0.01 * abs(expected)


def fake_powercap(root, zones: dict[str, tuple[str, int, int]]):
    """zones: folder -> (name, energy_uj, max_energy_range_uj)."""
    for folder, (name, value, max_range) in zones.items():
        zone = root / folder
        zone.mkdir(parents=True)
        (zone / "name").write_text(name + "\n")
        (zone / "energy_uj").write_text(f"{value}\n")
        (zone / "max_energy_range_uj").write_text(f"{max_range}\n")
    return root


def set_counter(root, folder: str, value: int) -> None:
    (root / folder / "energy_uj").write_text(f"{value}\n")


MAX = 262_143_328_850  # a real package's max_energy_range_uj


def test_wrap_delta_adds_back_one_wrap():
    assert wrap_delta(100, 250, 1000) == 150
    assert wrap_delta(900, 50, 1000) == 150


def test_rapl_reads_package_zones_only_and_handles_a_wrap(tmp_path):
    root = fake_powercap(tmp_path, {
        "intel-rapl:0": ("package-0", MAX - 3_000_000, MAX),
        "intel-rapl:1": ("package-1", 10_000_000, MAX),
        "intel-rapl:0:0": ("core", 5, MAX),  # inside package-0: never added twice
        "intel-rapl:2": ("psys", 7, MAX),  # the platform domain overlaps the packages
    })
    source = open_rapl(root)
    assert isinstance(source, RaplSource) and [z.name for z in source.zones] == ["package-0", "package-1"]
    source.begin()
    set_counter(root, "intel-rapl:0", MAX - 1_000_000)  # +2 J
    set_counter(root, "intel-rapl:1", 15_000_000)  # +5 J
    source.poll()
    set_counter(root, "intel-rapl:0", 4_000_000)  # wraps: +1 J to the top, +4 J after it
    set_counter(root, "intel-rapl:1", 18_000_000)  # +3 J
    source.end()
    reading = source.take()
    assert reading.reason == "" and within_1_percent(reading.joules, 15.0)
    assert reading.domain == "cpu package" and "every process" in reading.scope
    assert source.take().joules == 0.0  # take starts afresh


def test_rapl_counts_only_inside_segments(tmp_path):
    root = fake_powercap(tmp_path, {"intel-rapl:0": ("package-0", 0, 1_000_000_000)})
    source = open_rapl(root)
    source.begin()
    set_counter(root, "intel-rapl:0", 2_000_000)
    source.end()
    set_counter(root, "intel-rapl:0", 900_000_000)  # a warm-up between segments: not counted
    source.begin()
    set_counter(root, "intel-rapl:0", 500_000)  # wrapped: 100 J to the top + 0.5 J
    source.end()
    assert within_1_percent(source.take().joules, 2.0 + 100.5)


def test_rapl_missing_or_unreadable_says_why(tmp_path, monkeypatch):
    assert "no RAPL interface" in open_rapl(tmp_path / "none").take().reason
    root = fake_powercap(tmp_path / "a", {"intel-rapl:0": ("package-0", 1, MAX)})
    (root / "intel-rapl:0" / "energy_uj").unlink()
    (root / "intel-rapl:0" / "energy_uj").mkdir()  # a file that cannot be read as one
    reading = open_rapl(root).take()
    assert reading.joules is None and "energy_uj not readable" in reading.reason

    root = fake_powercap(tmp_path / "b", {"intel-rapl:0": ("package-0", 1, MAX)})
    real_read = energy._read_int

    def denied(path):
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied")
        return real_read(path)

    monkeypatch.setattr(energy, "_read_int", denied)
    reason = rapl_zones(root)
    assert isinstance(reason, str) and "permission denied" in reason and "superuser" in reason


def test_rapl_counter_that_vanishes_mid_run_gives_no_figure(tmp_path):
    root = fake_powercap(tmp_path, {"intel-rapl:0": ("package-0", 1, MAX), "intel-rapl:1": ("package-1", 1, "x")})
    assert "max_energy_range_uj does not hold a number" in rapl_zones(root)
    root = fake_powercap(tmp_path / "b", {"intel-rapl:0": ("package-0", 1, MAX)})
    source = open_rapl(root)
    source.begin()
    (root / "intel-rapl:0" / "energy_uj").unlink()
    source.end()
    reading = source.take()
    assert reading.joules is None and "not readable" in reading.reason


class FakeNvml:
    """pynvml's surface as the energy source uses it; ``energy_mj`` None means no energy counter."""

    class NVMLError_NotSupported(Exception):
        pass

    def __init__(self, clock, watts, energy_mj=None, gpus: int = 1):
        self.clock, self.watts, self.energy_mj, self.gpus = clock, watts, energy_mj, gpus

    def nvmlInit(self):
        pass

    def nvmlDeviceGetCount(self):
        return self.gpus

    def nvmlDeviceGetHandleByIndex(self, index):
        return index

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if self.energy_mj is None:
            raise self.NVMLError_NotSupported("Not Supported")
        return self.energy_mj(self.clock.now)

    def nvmlDeviceGetPowerUsage(self, handle):
        return int(round(self.watts(self.clock.now) * 1000))


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_nvml_total_energy_counter(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    clock = Clock()
    fake = FakeNvml(clock, lambda t: 0.0, energy_mj=lambda t: 5_000_000 + 250_000 * t, gpus=2)  # 250 W each
    source = open_nvml(fake)
    assert isinstance(source, NvmlSource) and source.method == "nvml energy counter"
    source.begin()
    clock.now = 2.0
    source.end()
    assert within_1_percent(source.take().joules, 2 * 250 * 2.0)


def test_nvml_power_samples_integrate_to_the_true_energy():
    clock = Clock()
    fake = FakeNvml(clock, lambda t: 100.0 + 40.0 * t)  # a ramp from 100 W; no energy counter
    source = NvmlSource(fake, [0], clock=clock)
    assert source.method == "nvml power samples"
    source.begin()
    for step in range(1, 31):
        clock.now = step * 0.1
        source.poll()
    clock.now = 3.05
    source.end()
    expected = 100.0 * 3.05 + 20.0 * 3.05**2  # ∫ (100 + 40 t) dt over [0, 3.05]
    assert within_1_percent(source.take().joules, expected)


def test_no_nvidia_gpu_says_so():
    class Missing:
        def nvmlInit(self):
            raise RuntimeError("NVML Shared Library Not Found")

    reading = open_nvml(Missing()).take()
    assert reading.joules is None and reading.reason.startswith("no NVIDIA GPU")


def test_trapezoid():
    assert trapezoid([(0, 10), (1, 20), (3, 20)]) == pytest.approx(15 + 40)


class ConstantSource(EnergySource):
    """Adds ``joules`` per segment."""

    domain, method = "cpu package", "fake"

    def __init__(self, joules):
        super().__init__()
        self.per_segment = joules

    def end(self):
        self._joules += self.per_segment


def test_meter_adds_segments_and_scales_to_an_audio_hour():
    clock, cpu = Clock(), Clock()
    meter = CostMeter([ConstantSource(30.0), energy.Unreadable("gpu", "nvml", "no NVIDIA GPU")], cpu_seconds=cpu, clock=clock, interval_s=60)
    try:
        for _ in range(2):  # two clips' timed runs: 3 s wall, 2 CPU-s each
            meter.resume()
            clock.now += 3.0
            cpu.now += 2.0
            meter.pause()
            clock.now += 10.0  # a warm-up: left out
            cpu.now += 10.0
        cost = meter.take(audio_s=60.0)
    finally:
        meter.close()
    assert cost.wall_s == pytest.approx(6.0) and cost.cpu_s == pytest.approx(4.0)
    assert cost.cpu_s_per_audio_hour == pytest.approx(4.0 * 60)
    assert cost.energy_j == pytest.approx(60.0)
    assert cost.wh_per_audio_hour == pytest.approx(60.0 * 60 / 3600)
    assert cost.price_per_audio_hour(2.0) == pytest.approx(2.0 * 6.0 * 60 / 3600)
    assert [r.reason for r in cost.unread] == ["no NVIDIA GPU"]


def test_region_cost_without_any_counter_has_no_energy_figure():
    cost = RegionCost(1.0, 0.5, 10.0, (EnergyReading("cpu package", "rapl", None, "no RAPL interface"),))
    assert cost.energy_j is None and cost.wh_per_audio_hour is None
    assert cost.cpu_s_per_audio_hour == pytest.approx(180.0)
    assert RegionCost(1.0, 0.5).cpu_s_per_audio_hour is None  # no audio: nothing to scale to


POWERMETRICS_TEXT = """Machine model: Mac14,2
*** Sampled system activity (Wed Nov 11 10:00:00 2026 +0100) (200.41ms elapsed) ***
CPU Power: 1200 mW
GPU Power: 80 mW
ANE Power: 0 mW
Combined Power (CPU + GPU + ANE): 1280 mW
*** Sampled system activity (Wed Nov 11 10:00:00 2026 +0100) (199.60ms elapsed) ***
Intel energy model derived package power (CPUs+GT+SA): 3.50W
"""


def test_powermetrics_text_and_overlap():
    samples = list(parse_power_lines(POWERMETRICS_TEXT.splitlines()))
    assert samples == [(pytest.approx(0.20041), pytest.approx(1.28)), (pytest.approx(0.1996), pytest.approx(3.5))]
    windows = [PowerSample(1.0, 1.0, 10.0), PowerSample(2.0, 1.0, 20.0)]
    assert energy_between(windows, 0.5, 1.5) == pytest.approx(0.5 * 10 + 0.5 * 20)


@pytest.mark.integration
def test_benchmark_json_carries_cost_and_says_why_energy_is_missing(tmp_path):
    """A real child on this machine: CPU time is measured; an energy counter is a figure or says why not."""
    out = tmp_path / "run.json"
    result = run_fake_cli("benchmark", "-b", "fake-echo", "-n", "2", "--no-history", "--price-per-hour", "0.4", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert (data["schema_version"], data["schema_minor"], data["price_per_hour"]) == (1, 4, 0.4)
    row = data["results"][0]
    assert row["cost"]["audio_s"] == pytest.approx(2 * 11.0, abs=0.1) and row["cost"]["cpu_s"] >= 0
    assert row["load_cost"]["audio_s"] == 0
    for reading in row["cost"]["energy"]:
        assert (reading["joules"] is None) == bool(reading["reason"])
    assert "CPU-s/h" in result.stdout and "Cost/h" in result.stdout
    energy_read = any(r["joules"] is not None for r in row["cost"]["energy"])
    assert ("Wh/h" in result.stdout) == energy_read  # the terminal leaves out a column no row could fill
    assert "Energy not read" in result.stdout or all(r["joules"] is not None for r in row["cost"]["energy"])


@pytest.mark.integration
def test_dataset_mode_measures_its_timed_pass(tmp_path):
    from .conftest import DATA

    out = tmp_path / "dataset.json"
    result = run_fake_cli("benchmark", "-b", "fake-echo", "--dataset", str(DATA / "utterances" / "manifest.jsonl"),
                          "--batch-size", "5", "--no-history", "-q", "-o", str(out))
    assert result.returncode == 0, result.stderr
    row = json.loads(out.read_text())["results"][0]
    cost, dataset = row["cost"], row["dataset"]
    assert cost["audio_s"] == pytest.approx(dataset["audio_s"])  # the timed pass only: the warm-up batch is left out
    assert dataset["wall_s"] <= cost["wall_s"] < dataset["wall_s"] + 1.0
    assert row["load_cost"] is not None and "CPU-s/h" in result.stdout
