"""A local stand-in for the Hugging Face Hub, and builders of Hub cache layouts, for the cache tests.

``HubServer`` answers the requests huggingface_hub 2.x makes for ``HfApi.model_info`` and
``hf_hub_download``: ``GET /api/models/{repo}[/revision/{rev}]`` (with ``?blobs=true`` sizes and
LFS sha256) and ``HEAD``/``GET /{repo}/resolve/{rev}/{file}`` with ``X-Repo-Commit``, ``ETag``,
``Content-Length`` and ``Range`` support. It can also serve plain files (``/files/...``) and cut a
transfer off mid-body once, to exercise resuming.

Dataset repos live in memory (``datasets``: repo -> {path: bytes}) and take what ``HfApi.create_repo``,
``upload_file`` (regular, non-LFS files), ``list_repo_files`` and ``hf_hub_download`` send:
``POST /api/repos/create``, ``POST /api/datasets/{repo}/preupload|commit/{rev}``,
``GET /api/datasets/{repo}/tree/{rev}[/{path}]`` and ``/datasets/{repo}/resolve/{rev}/{path}``; with
``GET /api/datasets/{repo}[/revision/{rev}]`` too, ``datasets.load_dataset`` reads (and streams) them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LFS_THRESHOLD = 1 << 20


@lru_cache(maxsize=64)
def _digests(path: str, size: int, mtime: float) -> tuple[str, str]:
    sha256, sha1 = hashlib.sha256(), hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            sha256.update(chunk)
            sha1.update(chunk)
    return sha256.hexdigest(), sha1.hexdigest()


@dataclass(frozen=True)
class RepoFile:
    """A file of a served (or cached) repository, with the ETag the Hub would give it."""

    name: str
    path: Path

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    @property
    def lfs(self) -> bool:
        return self.size >= LFS_THRESHOLD or self.name.endswith((".bin", ".safetensors", ".pt", ".npz"))

    @property
    def sha256(self) -> str:
        stat = self.path.stat()
        return _digests(str(self.path), stat.st_size, stat.st_mtime)[0]

    @property
    def git_sha1(self) -> str:
        stat = self.path.stat()
        return _digests(str(self.path), stat.st_size, stat.st_mtime)[1]

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_sha1


def repo_files(directory: Path) -> dict[str, RepoFile]:
    return {p.name: RepoFile(p.name, p) for p in sorted(Path(directory).iterdir()) if p.is_file()}


@dataclass
class RequestLog:
    method: str
    path: str
    range: str | None


@dataclass
class HubServer:
    """``with HubServer({"org/name": {file: RepoFile}}) as hub:`` then point HF_ENDPOINT at ``hub.endpoint``."""

    repos: dict[str, dict[str, RepoFile]]
    plain_files: dict[str, bytes] = field(default_factory=dict)  # "/files/x" -> content
    cut_after: dict[str, int] = field(default_factory=dict)  # file name or plain path -> bytes, cut once
    log: list[RequestLog] = field(default_factory=list)
    datasets: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def __enter__(self) -> HubServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def ranges_for(self, name: str) -> list[str | None]:
        return [r.range for r in self.log if r.method == "GET" and r.path.endswith("/" + name)]

    def dataset_info(self, repo: str) -> dict:
        files = self.datasets[repo]
        siblings = [{"rfilename": name, "size": len(data), "blobId": _git_sha1(data)} for name, data in sorted(files.items())]
        return {"id": repo, "sha": COMMIT, "private": False, "disabled": False, "gated": False, "siblings": siblings,
                "cardData": {}, "tags": [], "lastModified": "2026-01-01T00:00:00.000Z"}

    def model_info(self, repo: str) -> dict:
        siblings = []
        for f in self.repos[repo].values():
            sibling = {"rfilename": f.name, "size": f.size, "blobId": f.git_sha1}
            if f.lfs:
                sibling["lfs"] = {"size": f.size, "sha256": f.sha256, "pointerSize": 134}
            siblings.append(sibling)
        return {"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "siblings": siblings}


def _git_sha1(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


def _tree(files: dict[str, bytes], under: str, recursive: bool) -> list[dict]:
    """The Hub's tree listing of ``under``: its files and folders (every level when ``recursive``)."""
    prefix = f"{under}/" if under else ""
    listing, folders = [], set()
    for name, data in sorted(files.items()):
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):].split("/")
        for depth in range(1, len(rest) if recursive else min(len(rest), 2)):
            folders.add(prefix + "/".join(rest[:depth]))
        if recursive or len(rest) == 1:
            listing.append({"type": "file", "path": name, "size": len(data), "oid": _git_sha1(data)})
    return [{"type": "directory", "path": f, "oid": COMMIT} for f in sorted(folders)] + listing


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    if not header or not header.startswith("bytes="):
        return None
    start, _, end = header[6:].partition("-")
    return int(start), (int(end) if end else size - 1)


def _handler(server: HubServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _not_found(self, code: str) -> None:
            body = json.dumps({"error": code}).encode()
            self.send_response(404)
            self.send_header("X-Error-Code", code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, data: dict) -> None:
            body = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _send_bytes(self, key: str, read, size: int, headers: dict[str, str]) -> None:
            span = _parse_range(self.headers.get("Range"), size)
            start, end = span if span else (0, size - 1)
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206 if span else 200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            if span:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if self.command == "HEAD":
                return
            cut = server.cut_after.pop(key, None)
            data = read(start, end + 1 if cut is None else min(end + 1, start + cut))
            self.wfile.write(data)
            if cut is not None:  # the connection drops mid-body
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

        def _resolve(self, parts: list[str]) -> None:
            index = parts.index("resolve")
            repo, filename = "/".join(parts[:index]), "/".join(parts[index + 2:])
            if repo not in server.repos:
                return self._not_found("RepoNotFound")
            file = server.repos[repo].get(filename)
            if file is None:
                return self._not_found("EntryNotFound")

            def read(a: int, b: int) -> bytes:
                with open(file.path, "rb") as handle:
                    handle.seek(a)
                    return handle.read(b - a)

            headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{file.etag}"', "Content-Type": "application/octet-stream"}
            if file.lfs:
                headers |= {"X-Linked-Etag": f'"{file.etag}"', "X-Linked-Size": str(file.size)}
            self._send_bytes(filename, read, file.size, headers)

        def _dataset_get(self, parts: list[str]) -> bool:
            """Info, tree listing and file downloads of in-memory dataset repos; False when not a dataset path."""
            if parts[:2] == ["api", "datasets"] and not {"tree", "paths-info", "preupload", "commit"} & set(parts):
                rest = parts[2:]
                repo = "/".join(rest[: rest.index("revision")] if "revision" in rest else rest)
                if repo not in server.datasets:
                    self._not_found("RepoNotFound")
                    return True
                self._json(server.dataset_info(repo))
                return True
            if parts[:2] == ["api", "datasets"] and "tree" in parts:
                repo = "/".join(parts[2:parts.index("tree")])
                if repo not in server.datasets:
                    self._not_found("RepoNotFound")
                    return True
                under = "/".join(parts[parts.index("tree") + 2:])
                self._json(_tree(server.datasets[repo], under, "recursive=true" in self.path.lower()))
                return True
            if parts[:1] == ["datasets"] and "resolve" in parts:
                index = parts.index("resolve")
                repo, name = "/".join(parts[1:index]), "/".join(parts[index + 2:])
                data = server.datasets.get(repo, {}).get(name)
                if data is None:
                    self._not_found("EntryNotFound" if repo in server.datasets else "RepoNotFound")
                    return True
                headers = {"X-Repo-Commit": COMMIT, "ETag": f'"{_git_sha1(data)}"', "Content-Type": "application/octet-stream"}
                self._send_bytes(name, lambda a, b: data[a:b], len(data), headers)
                return True
            return False

        def do_POST(self) -> None:
            path = self.path.split("?", 1)[0]
            server.log.append(RequestLog("POST", path, None))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = [p for p in path.split("/") if p]
            if parts == ["api", "repos", "create"]:
                request = json.loads(body)
                repo = f"{request['organization']}/{request['name']}"
                server.datasets.setdefault(repo, {})
                return self._json({"url": f"{server.endpoint}/datasets/{repo}", "name": repo})
            if parts[:2] == ["api", "datasets"] and ("preupload" in parts or "commit" in parts):
                action = "preupload" if "preupload" in parts else "commit"
                repo = "/".join(parts[2:parts.index(action)])
                if repo not in server.datasets:
                    return self._not_found("RepoNotFound")
                if action == "preupload":
                    files = json.loads(body)["files"]
                    return self._json({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files]})
                for line in body.decode().splitlines():
                    item = json.loads(line)
                    if item["key"] == "file":
                        server.datasets[repo][item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                return self._json({"commitUrl": f"{server.endpoint}/datasets/{repo}/commit/{COMMIT}", "commitOid": COMMIT, "pullRequestUrl": None})
            self._not_found("NotFound")

        def _route(self) -> None:
            path = self.path.split("?", 1)[0]
            server.log.append(RequestLog(self.command, path, self.headers.get("Range")))
            parts = [p for p in path.split("/") if p]
            if self._dataset_get(parts):
                return None
            if path in server.plain_files:
                data = server.plain_files[path]
                return self._send_bytes(path, lambda a, b: data[a:b], len(data), {})
            if parts[:2] == ["api", "models"]:
                rest = parts[2:]
                repo = "/".join(rest[: rest.index("revision")] if "revision" in rest else rest)
                return self._json(server.model_info(repo)) if repo in server.repos else self._not_found("RepoNotFound")
            if "resolve" in parts:
                return self._resolve(parts)
            self._not_found("NotFound")

        do_GET = do_HEAD = _route

    return Handler


def make_cached_repo(
    cache_dir: Path,
    repo_id: str,
    files: dict[str, RepoFile],
    *,
    link_blobs: bool = True,
    missing_blobs: tuple[str, ...] = (),
    partials: dict[str, bytes] | None = None,
    commit: str = COMMIT,
) -> Path:
    """Write a Hub cache repo (blobs/, snapshots/<commit>/ symlinks, refs/main) like hf_hub_download does.

    Blobs are symlinks to the source files when ``link_blobs`` (no copying of big weights);
    ``missing_blobs`` leave dangling snapshot links; ``partials`` adds ``<etag>.<id>.incomplete`` blobs.
    """
    repo_dir = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    blobs, snapshot = repo_dir / "blobs", repo_dir / "snapshots" / commit
    blobs.mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    for name, file in files.items():
        blob = blobs / file.etag
        if name not in missing_blobs and not blob.exists():
            if link_blobs:
                blob.symlink_to(file.path.resolve())
            else:
                blob.write_bytes(file.path.read_bytes())
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))
    for etag, content in (partials or {}).items():
        (blobs / f"{etag}.1a2b3c4d.incomplete").write_bytes(content)
    return repo_dir
