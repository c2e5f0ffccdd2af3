"""``download``: carry out a :class:`~.download_plan.DownloadPlan`, then verify what arrived.

Hub files go through ``huggingface_hub.hf_hub_download`` (its own retries resume a transfer
cut off mid-file). Partial blobs left in the cache by a killed run are resumed first with an
HTTP range request, checked against their ETag, and put in place, so huggingface_hub only
links them. openai ``.pt`` files are fetched into ``<name>.pt.incomplete`` with range
requests, so an interrupted download resumes on the next run, and are checked against the
sha256 in their URL before they get their final name.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from . import catalog, file_hash
from .download_plan import DownloadPlan, Fetch, FileToFetch
from .hub_cache import HubCache
from .hub_remote import HubRemote
from .locations import Scan
from .verify import CacheStatus, verify_single_file

_CHUNK = 1 << 20


class DownloadFailed(Exception):
    """A fetch that did not produce verified weights; the message is one line."""


class ProgressSink(Protocol):
    """Where byte progress goes (the CLI draws rich progress bars)."""

    def open(self, description: str, total: int | None, initial: int) -> Any: ...

    def advance(self, handle: Any, amount: int) -> None: ...

    def close(self, handle: Any) -> None: ...


class SilentProgress:
    def open(self, description: str, total: int | None, initial: int) -> Any:
        return None

    def advance(self, handle: Any, amount: int) -> None:
        pass

    def close(self, handle: Any) -> None:
        pass


def tqdm_class_for(sink: ProgressSink) -> type:
    """A tqdm look-alike for huggingface_hub's ``tqdm_class`` that reports to ``sink``."""

    class SinkBar:
        def __init__(self, *args: Any, total: int | None = None, initial: int = 0, desc: str | None = None, **_: Any) -> None:
            self.n = initial or 0
            self.total = total
            self._handle = sink.open((desc or "").rsplit("/", 1)[-1], total, self.n)  # a URL -> its file name

        def update(self, n: int = 1) -> None:
            self.n += n
            sink.advance(self._handle, n)

        def close(self) -> None:
            sink.close(self._handle)

        def set_description(self, *_: Any, **__: Any) -> None:
            pass

        def refresh(self, *_: Any, **__: Any) -> None:
            pass

        def __enter__(self) -> SinkBar:
            return self

        def __exit__(self, *exc: Any) -> None:
            self.close()

    return SinkBar


@dataclass(frozen=True)
class FetchOutcome:
    label: str
    ok: bool
    detail: str


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _content_matches(path: Path, etag: str) -> bool:
    if file_hash.SHA256_NAME.match(etag):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(8 << 20):
                digest.update(chunk)
        return digest.hexdigest() == etag
    if file_hash.GIT_SHA1_NAME.match(etag):
        return file_hash.git_blob_sha1(path) == etag
    return True  # an ETag that is not a digest: the size check is all there is


def resume_partial_blob(repo: str, file: FileToFetch, *, endpoint: str, blobs_dir: Path, timeout: float, tqdm_class: type) -> bool:
    """Finish a partial blob left by an interrupted run and move it into ``blobs/``; False if unusable."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    partial = Path(file.partial)
    meta = get_hf_file_metadata(hf_hub_url(repo, file.name, endpoint=endpoint), timeout=timeout, endpoint=endpoint)
    have = partial.stat().st_size
    if meta.etag != file.etag or (meta.size is not None and have > meta.size):
        partial.unlink(missing_ok=True)  # a partial of another version: start over
        return False
    headers = build_hf_headers()
    if urlparse(meta.location).netloc != urlparse(endpoint).netloc:
        headers.pop("authorization", None)  # never send a token to a CDN
    with open(partial, "ab") as out:
        http_get(meta.location, out, resume_size=have, headers=headers, expected_size=meta.size,
                 displayed_filename=file.name, tqdm_class=tqdm_class)
    if not _content_matches(partial, file.etag):
        partial.unlink(missing_ok=True)
        return False
    os.replace(partial, blobs_dir / file.etag)
    return True


def _fetch_from_hub(fetch: Fetch, hub: HubCache, remote: HubRemote, tqdm_class: type) -> FetchOutcome:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.file_download import repo_folder_name

    blobs_dir = hub.cache_dir / repo_folder_name(repo_id=fetch.repo, repo_type="model") / "blobs"
    for file in fetch.files:
        if file.partial and not file.refetch:
            try:
                resume_partial_blob(fetch.repo, file, endpoint=remote.endpoint, blobs_dir=blobs_dir,
                                    timeout=remote.timeout, tqdm_class=tqdm_class)
            except Exception:  # the regular download below starts the file afresh
                pass
        hf_hub_download(fetch.repo, file.name, cache_dir=str(hub.cache_dir), endpoint=remote.endpoint,
                        force_download=file.refetch, etag_timeout=remote.timeout, tqdm_class=tqdm_class)
    where = catalog.hub_location(fetch.format, fetch.model, fetch.weights)
    check = Scan(weights=fetch.weights).hub_in(HubCache(hub.cache_dir), where, fetch.format)
    if check.status is not CacheStatus.COMPLETE:
        raise DownloadFailed(f"downloaded, but the copy is {check.status}: {'; '.join(check.problems[:2])}")
    return FetchOutcome(fetch.label, True, f"{check.size_bytes / 1e6:.1f} MB verified in {check.path}")


def _open_range(url: str, start: int, timeout: float):
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    return urllib.request.urlopen(request, timeout=timeout)


def _total_size(response, start: int) -> int | None:
    content_range = response.headers.get("Content-Range")
    if response.status == 206 and content_range and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) + (start if response.status == 206 else 0) if length else None


def fetch_url_resumable(url: str, destination: Path, *, sha256: str | None, progress: ProgressSink,
                        attempts: int = 3, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``destination`` through ``<destination>.incomplete``, resuming what is there.

    The partial file is kept when the transfer breaks off, so the next call continues it.
    """
    destination = Path(destination)
    partial = destination.with_name(destination.name + ".incomplete")
    destination.parent.mkdir(parents=True, exist_ok=True)
    total, last_error = None, None
    for _ in range(max(attempts, 1)):
        have = partial.stat().st_size if partial.is_file() else 0
        try:
            with _open_range(url, have, timeout) as response:
                if have and response.status != 206:
                    have = 0  # the server ignored the range: start over
                total = _total_size(response, have)
                handle = progress.open(destination.name, total, have)
                try:
                    with open(partial, "ab" if have else "wb") as out:
                        while chunk := response.read(_CHUNK):
                            out.write(chunk)
                            progress.advance(handle, len(chunk))
                finally:
                    progress.close(handle)
            if total is None or partial.stat().st_size == total:
                break
            last_error = DownloadFailed(f"got {partial.stat().st_size} of {total} bytes")
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # nothing left to send: the partial file is whole
                break
            raise DownloadFailed(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            last_error = exc
    else:
        kept = partial.stat().st_size if partial.is_file() else 0
        raise DownloadFailed(f"interrupted ({_one_line(last_error)}); kept {kept} bytes in {partial.name}, "
                             "run download again to resume")
    verdict = verify_single_file("openai" if destination.suffix == ".pt" else "ggml", partial)
    if verdict.status is not CacheStatus.COMPLETE or (sha256 and _sha256(partial) != sha256):
        partial.unlink(missing_ok=True)
        problem = "; ".join(verdict.problems) or f"sha256 differs from {sha256[:12]}… in the URL"
        raise DownloadFailed(f"{destination.name}: {problem}; the partial file was removed")
    os.replace(partial, destination)
    return destination


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def run_plan(plan: DownloadPlan, hub: HubCache, remote: HubRemote, *, progress: ProgressSink | None = None,
             on_outcome: Callable[[FetchOutcome], None] = lambda _: None) -> tuple[FetchOutcome, ...]:
    """Fetch everything in ``plan`` (each fetch independently) and verify it; never raises for one fetch."""
    progress = progress or SilentProgress()
    tqdm_class = tqdm_class_for(progress)
    outcomes = []
    for fetch in plan.fetches:
        try:
            if not fetch.known:
                raise DownloadFailed(plan.offline_reason or "the Hub did not describe this repository")
            if fetch.url:
                path = fetch_url_resumable(fetch.url, Path(fetch.destination), sha256=fetch.sha256, progress=progress)
                outcome = FetchOutcome(fetch.label, True, f"sha256 verified: {path}")
            else:
                outcome = _fetch_from_hub(fetch, hub, remote, tqdm_class)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # network, HTTP, disk: one line per failed fetch
            outcome = FetchOutcome(fetch.label, False, str(exc) if isinstance(exc, DownloadFailed) else _one_line(exc))
        outcomes.append(outcome)
        on_outcome(outcome)
    return tuple(outcomes)
