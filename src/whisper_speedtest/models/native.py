"""``--weights native``: each backend loads the weights its users normally download, not our shared copy.

Where those are is the catalog's (``catalog.native_locations``). A copy is looked for, and judged
whole or not, by the scan of :mod:`.locations` (the one ``check-models --weights native`` reads): the
Hugging Face cache (``HF_HUB_CACHE``/``HF_HOME``), then the extra caches named by
``$WHISPER_SPEEDTEST_HUB_CACHES`` (mac-whisper-speedtest's ``models/`` folder, say) or, for OpenAI's
``.pt`` files, ``~/.cache/whisper``; a Hub repo that is missing is fetched when downloading is allowed. The
fingerprint of a native copy is the sha256 of its weights file (the files differ by format, so
rows of different backends show different fingerprints, as they should).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelNotAvailable
from . import catalog, file_hash
from .backend_caches import openai_whisper_dir
from .hub_cache import hub_cache_dir
from .hub_remote import HubRemote
from .locations import Location, Scan
from .verify import CacheStatus
from .weights_mode import WeightsMode

FETCHED_PATTERNS = ("*.json", "*.safetensors", "*.npz", "*.bin", "*.txt", "*.model")


@dataclass(frozen=True)
class NativeCopy:
    """One native copy on disk: where it is, what it holds, and where it came from."""

    location: catalog.HubLocation
    path: str  # the repo snapshot folder, or the single file (ggml, .pt)
    dtype: str
    fingerprint: str
    fetched: bool = False

    @property
    def source(self) -> str:
        return f"native: {self.location.describe()}" + (" (fetched)" if self.fetched else "")


def _dtype(fmt: str, folder: Path) -> str:
    """MLX: the quantization its config.json records (int4, int8), else float16."""
    if fmt != "mlx":
        return "float16"
    config = json.loads((folder / "config.json").read_text())
    bits = (config.get("quantization") or {}).get("bits")
    return f"int{bits}" if bits else "float16"


def _fetch(location: catalog.HubLocation) -> None:
    """Download a Hub repo's weights and config files (or its one file) into the Hugging Face cache,
    from ``HF_ENDPOINT``, file by file as ``download`` does."""
    from huggingface_hub import hf_hub_download

    remote = HubRemote()
    if location.filename:
        names = [location.filename]
    else:
        repo = remote.repo(location.repo)
        if repo is None:
            why = remote.errors.get(location.repo) or remote.offline_reason or "no answer"
            raise ModelNotAvailable(f"{location.describe()} could not be fetched: {why}")
        names = [f.name for f in repo.files if any(fnmatch.fnmatch(f.name, p) for p in FETCHED_PATTERNS)]
    try:
        for name in names:
            hf_hub_download(location.repo, name, cache_dir=str(hub_cache_dir()), endpoint=remote.endpoint, etag_timeout=remote.timeout)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]  # the library's first line, whole
        raise ModelNotAvailable(f"{location.describe()} could not be fetched: {first}") from None


def _cached(location: catalog.HubLocation, fmt: str) -> Location:
    """The cached copy as check-models --weights native sees it (complete, or why not)."""
    scan = Scan(weights=WeightsMode.NATIVE)  # a new scan each time: a fetch changes what is there
    if location.url:  # OpenAI's .pt: where openai-whisper and whisper-mps keep it
        copy = scan.backend_cache(Path(location.filename).stem, fmt)
    else:
        copy = scan.hub_copy(location, fmt)
    return copy


def _why(copy: Location) -> str:
    """The first problems of an incomplete or corrupt copy, as a clause."""
    return f" ({'; '.join(copy.problems[:2])})" if copy.problems and copy.status is not CacheStatus.MISSING else ""


def locate(location: catalog.HubLocation, fmt: str, *, may_fetch: bool) -> NativeCopy:
    """The native copy at ``location``, fetched first when missing and ``may_fetch``;
    :class:`ModelNotAvailable` says why there is none."""
    found = _cached(location, fmt)
    fetched = False
    if not found.complete:
        if location.url:
            raise ModelNotAvailable(f"{location.filename} is not in {openai_whisper_dir()} (openai-whisper downloads it there)"
                                    + _why(found))
        if not may_fetch:
            from .hub_remote import offline_reason

            off = offline_reason()
            raise ModelNotAvailable(f"{location.describe()} is not in the Hugging Face cache and "
                                    + (f"cannot be fetched: {off}; offline, leave out --weights native (the shared weights "
                                       "need no network)" if off else "downloading is off") + _why(found))
        _fetch(location)
        found, fetched = _cached(location, fmt), True
        if not found.complete:
            raise ModelNotAvailable(f"{location.describe()} was fetched but is {found.status}{_why(found)}")
    path = Path(found.load_path)
    dtype = _dtype(fmt, path) if path.is_dir() else "float16"
    return NativeCopy(location, str(path), dtype, file_hash.sha256_file(found.weights_file), fetched)
