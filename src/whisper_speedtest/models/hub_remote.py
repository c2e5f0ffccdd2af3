"""What the Hub (or a plain URL) says about remote weights, asked with short timeouts.

Before anything reaches the Hub, :func:`offline_reason` decides for the whole command: ``HF_HUB_OFFLINE``,
or one request to the endpoint with a short timeout (asked once per process). Every command that needs
the Hub (check-models, download, ``--weights native``, board, publish) asks it first, so a machine
without network pays for one failed request and gets one line, never a library's retries.
"""

from __future__ import annotations

import fnmatch
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

from .formats import registry as formats

_TRUE = {"1", "ON", "YES", "TRUE"}
DEFAULT_TIMEOUT_S = 10.0
REACH_TIMEOUT_S = 2.0  # the one reachability check: a Hub that answers at all answers within this
_reachability: dict[str, str | None] = {}  # endpoint -> None (it answered) or why not, for this process


def hub_endpoint() -> str:
    """``HF_ENDPOINT`` as set now, else huggingface_hub's default endpoint."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def offline_setting() -> str | None:
    """Why downloading is switched off by configuration (``HF_HUB_OFFLINE``), or None."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")
    if value is None:
        from huggingface_hub import constants

        # is_offline_mode() is huggingface_hub 1.x; 0.x (which transformers 4 needs) has the constant
        is_offline = getattr(constants, "is_offline_mode", None)
        offline = is_offline() if is_offline is not None else bool(constants.HF_HUB_OFFLINE)
    else:
        offline = value.strip().upper() in _TRUE
    return "HF_HUB_OFFLINE is set" if offline else None


def _probe(endpoint: str) -> str | None:
    """None when ``endpoint`` answers an HTTP request (any status), else one line why not."""
    request = urllib.request.Request(endpoint + "/api/whoami-v2", method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=REACH_TIMEOUT_S):
            return None
    except urllib.error.HTTPError:
        return None  # it answered: reachable (a 401 without a token, say)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        why = getattr(exc, "reason", exc)
        if isinstance(why, TimeoutError) or "timed out" in str(why):
            why = f"no answer within {REACH_TIMEOUT_S:g} s"
        return f"cannot reach {endpoint} ({why})"


def offline_reason() -> str | None:
    """Why the Hub cannot be used by this command (``HF_HUB_OFFLINE``, or no answer to one short
    request), or None. The request is made once per endpoint and process."""
    setting = offline_setting()
    if setting:
        return setting
    endpoint = hub_endpoint()
    if endpoint not in _reachability:
        _reachability[endpoint] = _probe(endpoint)
    return _reachability[endpoint]


def forget_reachability() -> None:
    """Ask again next time (a test that starts or stops a Hub, or a long-lived process)."""
    _reachability.clear()


def metadata_timeout() -> float:
    """Seconds to wait for metadata: ``HF_HUB_ETAG_TIMEOUT`` (huggingface_hub's own knob), default 10."""
    try:
        return float(os.environ.get("HF_HUB_ETAG_TIMEOUT") or DEFAULT_TIMEOUT_S)
    except ValueError:
        return DEFAULT_TIMEOUT_S


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int | None
    etag: str | None  # blob name in the cache: sha256 for LFS files, git sha1 otherwise
    sha256: str | None


@dataclass(frozen=True)
class RemoteRepo:
    repo_id: str
    commit: str | None
    files: tuple[RemoteFile, ...]

    def file(self, name: str) -> RemoteFile | None:
        return next((f for f in self.files if f.name == name), None)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class HubRemote:
    """Remote metadata for one command run; remembers answers and whether the network is there."""

    def __init__(self) -> None:
        self.endpoint = hub_endpoint()
        self.timeout = metadata_timeout()
        self.offline_reason: str | None = offline_reason()
        self.errors: dict[str, str] = {}  # repo or URL -> one-line reason it could not be asked
        self._repos: dict[str, RemoteRepo | None] = {}

    @property
    def online(self) -> bool:
        return self.offline_reason is None

    def _unreachable(self, exc: BaseException) -> None:
        self.offline_reason = f"cannot reach {self.endpoint} ({_one_line(exc)})"

    def repo(self, repo_id: str) -> RemoteRepo | None:
        """File list with sizes and ETags of ``repo_id`` at ``main``; None when it cannot be had."""
        if repo_id in self._repos or not self.online:
            return self._repos.get(repo_id)
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

        try:
            info = HfApi(endpoint=self.endpoint).model_info(repo_id, files_metadata=True, timeout=self.timeout)
        except OfflineModeIsEnabled:
            self.offline_reason = "HF_HUB_OFFLINE was set when huggingface_hub was imported"
            return None
        except HfHubHTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status is None or status >= 500:
                self._unreachable(exc)
            else:
                self.errors[repo_id] = f"{repo_id}: {_one_line(exc)}"
            self._repos[repo_id] = None
            return None
        except Exception as exc:  # network boundary: DNS, refused, timeouts, proxies, TLS
            self._unreachable(exc)
            return None
        files = tuple(
            RemoteFile(
                s.rfilename,
                s.lfs.size if s.lfs else s.size,
                s.lfs.sha256 if s.lfs else s.blob_id,
                s.lfs.sha256 if s.lfs else None,
            )
            for s in info.siblings or ()
        )
        self._repos[repo_id] = RemoteRepo(repo_id, info.sha, files)
        return self._repos[repo_id]

    def url_size(self, url: str) -> int | None:
        """Content-Length of a plain URL from a HEAD request, or None."""
        if not self.online:
            return None
        request = urllib.request.Request(url, method="HEAD")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                length = response.headers.get("Content-Length")
                return int(length) if length else None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            self.errors[url] = f"{url}: {_one_line(exc)}"
            return None


# Which files of an upstream repo a format needs: metadata plus its weights (the format's first
# weight-file pattern the repo has, see ``Format.weight_files``).
_METADATA_PATTERNS = ("*.json", "*.txt", "vocabulary.*")


def wanted_files(fmt: str, names: list[str], single_file: str | None = None) -> list[str]:
    """The subset of a repo's top-level ``names`` that ``fmt`` needs (one file for single-file formats)."""
    if single_file:
        return [single_file] if single_file in names else []
    top = [n for n in names if "/" not in n]
    chosen = {n for n in top if any(fnmatch.fnmatch(n, p) for p in _METADATA_PATTERNS)}
    for pattern in formats.FORMATS[fmt].weight_files if formats.known(fmt) else ():
        weights = {n for n in top if fnmatch.fnmatch(n, pattern)}
        if weights:
            chosen |= weights
            break
    return sorted(chosen)
