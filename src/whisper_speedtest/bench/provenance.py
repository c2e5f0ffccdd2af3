"""Machine and package information recorded with every run."""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..version import __version__
from ..results import Provenance

CORE_PACKAGES = ("numpy", "soundfile", "soxr", "jiwer", "whisper-normalizer", "huggingface_hub", "safetensors")


def git_commit() -> str | None:
    """The commit of the tool's own source tree, when it runs from a git checkout."""
    source = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def cpu_model() -> str:
    if sys.platform == "darwin":
        try:
            return subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


@lru_cache(maxsize=1)
def nvidia_info() -> tuple[tuple[str, ...], str | None, str | None]:
    """(GPU names with memory, driver version, CUDA driver version) through NVML, or empty."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return (), None, None
    try:
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle).total / 2**30
            gpus.append(f"{name if isinstance(name, str) else name.decode()} ({memory:.0f} GiB)")
        driver = pynvml.nvmlSystemGetDriverVersion()
        cuda = pynvml.nvmlSystemGetCudaDriverVersion_v2()
        return tuple(gpus), driver if isinstance(driver, str) else driver.decode(), f"{cuda // 1000}.{cuda % 1000 // 10}"
    except Exception:
        return (), None, None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def package_versions(names: Iterable[str]) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def collect(backend_packages: Iterable[str] = ()) -> Provenance:
    import psutil

    gpus, driver, cuda = nvidia_info()
    if not gpus and sys.platform == "darwin" and platform.machine() == "arm64":
        gpus = (f"Apple GPU ({cpu_model()})",)
    return Provenance(
        tool_version=__version__,
        git_commit=git_commit(),
        os=platform.platform(),
        machine=platform.machine(),
        cpu=cpu_model(),
        cores_physical=psutil.cpu_count(logical=False),
        cores_logical=psutil.cpu_count(logical=True),
        ram_gb=round(psutil.virtual_memory().total / 2**30, 1),
        gpus=gpus,
        python=platform.python_version(),
        packages=package_versions([*CORE_PACKAGES, *backend_packages]),
        gpu_driver=driver,
        cuda=cuda,
    )
