"""publish and board against the local fake Hub: upload, list, download, a corrupt file, an old schema, fingerprints kept apart."""

from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path


from whisper_speedtest.board.privacy import machine_id, repo_path, sanitize
from whisper_speedtest.report.board_page import UNVERIFIED, render_board, weights_groups
from whisper_speedtest.results import ClipInfo, run_to_json, to_dict

from .conftest import run_cli
from .hub_server import HubServer
from .run_fixtures import FINGERPRINT, make_run, provenance, with_cost

OTHER_FINGERPRINT = "ab" * 32
USER = "zelda-tester"


def private_run(home: Path):
    """A run that mentions the user's home, the store and the hostname, as a real one may."""
    run = with_cost(make_run(), price_per_hour=0.5)
    store = home / ".cache" / "whisper-speedtest" / "models" / "tiny.en" / "ct2"
    rows = tuple(
        replace(r, model=replace(r.model, path=str(store), source=f"import:{home}/weights"),
                reason=r.reason and f"{r.reason} at {home}/x.bin on {socket.gethostname()}")
        if r.model else r
        for r in run.results
    )
    clips = (ClipInfo("talk.wav", str(home / "audio" / "talk.wav"), 11.0, "ask not", 16000, 1),)
    return replace(run, results=rows, clips=clips)


def hub_env(hub, home: Path, **extra) -> dict:
    return {"HF_ENDPOINT": hub.endpoint, "HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_fake", "HOME": str(home),
            "USER": USER, "LOGNAME": USER, "HF_HUB_CACHE": str(home / "hf-cache"), "HF_HUB_DISABLE_TELEMETRY": "1", **extra}


def test_sanitize_drops_paths_host_and_user(tmp_path):
    home = tmp_path / "home" / USER
    data = sanitize(to_dict(private_run(home)), roots=[home / ".cache" / "whisper-speedtest", home],
                    words={socket.gethostname(): "<host>", USER: "<user>"})
    text = json.dumps(data)
    assert str(tmp_path) not in text and USER not in text and f'"{socket.gethostname()}' not in text
    assert data["clips"][0]["path"] == "audio/talk.wav"
    assert {r["model"]["path"] for r in data["results"] if r["model"]} == {"models/tiny.en/ct2"}


def test_repo_path_is_deterministic_and_names_no_host():
    run = make_run()
    assert repo_path(run) == repo_path(make_run()) == f"runs/{machine_id(run.provenance)}/2026-01-01-{run.run_id}.json"
    assert machine_id(provenance("Apple M2")) != machine_id(run.provenance)
    assert socket.gethostname() not in repo_path(run)


def test_publish_dry_run_shows_no_absolute_path_host_or_user(tmp_path):
    home = tmp_path / "home" / USER
    home.mkdir(parents=True)
    results = tmp_path / "run.json"
    results.write_text(run_to_json(private_run(home)))
    with HubServer({}) as hub:
        result = run_cli("publish", str(results), "--repo", "me/board", "--dry-run", env=hub_env(hub, home))
        assert result.returncode == 0, result.stderr
        assert not hub.log, "a dry run sends nothing"
    assert "would upload runs/" in result.stderr
    sent = result.stdout
    json.loads(sent)
    assert USER not in sent and str(tmp_path) not in sent and f'"{socket.gethostname()}' not in sent
    for value in _strings(json.loads(sent)):
        assert not value.startswith("/") and " /" not in value, value


def _strings(data):
    if isinstance(data, dict):
        for v in data.values():
            yield from _strings(v)
    elif isinstance(data, list):
        for v in data:
            yield from _strings(v)
    elif isinstance(data, str):
        yield data


def _write(tmp_path: Path, name: str, run) -> Path:
    path = tmp_path / name
    path.write_text(run_to_json(run))
    return path


def test_board_of_three_runs_on_two_machines_keeps_fingerprints_apart(tmp_path):
    home = tmp_path / "home" / USER
    home.mkdir(parents=True)
    linux_a = with_cost(make_run("aaaaaaaaaaa1"), price_per_hour=0.4)
    linux_b = with_cost(make_run("aaaaaaaaaaa2", scale=1.1, created="2026-01-02T10:00:00+0000"))
    mac = with_cost(make_run("bbbbbbbbbbb1", cpu="Apple M2", scale=0.6), cpu_package_j=12.0, fingerprint=OTHER_FINGERPRINT)
    old = to_dict(make_run("ccccccccccc1", cpu="Intel Xeon"))
    del old["schema_minor"], old["price_per_hour"]
    for row in old["results"]:
        del row["cost"], row["load_cost"]
    with HubServer({}) as hub:
        env = hub_env(hub, home)
        for index, run in enumerate((linux_a, linux_b, mac)):
            result = run_cli("publish", str(_write(tmp_path, f"{index}.json", run)), "--repo", "me/board", env=env)
            assert result.returncode == 0, result.stderr
            assert "published runs/" in result.stderr
        files = hub.datasets["me/board"]
        assert len(files) == 3 and len({p.split("/")[1] for p in files}) == 2  # two machines, three runs
        files["runs/broken/2026-01-03-deadbeef.json"] = b'{"schema_version": 1, "run_id": '  # corrupt
        files["runs/future/2030-01-01-x.json"] = json.dumps({"schema_version": 2}).encode()
        files["runs/old/2025-12-01-ccccccccccc1.json"] = json.dumps(old).encode()
        board = tmp_path / "board.html"
        result = run_cli("board", "--repo", "me/board", "-o", str(board), env=env)
    assert result.returncode == 0, result.stderr
    assert "skipped runs/broken/2026-01-03-deadbeef.json: not valid JSON" in result.stderr
    assert "unsupported results schema_version 2" in result.stderr
    assert "written with schema 1.0: no cost figures" in result.stderr
    page = board.read_text()
    assert "wrote" in result.stderr and "4 run(s)" in result.stderr
    assert f"tiny.en · weights {FINGERPRINT[:16]}" in page and f"tiny.en · weights {OTHER_FINGERPRINT[:16]}" in page
    sections = {s.split("</h2>")[0]: s.split("</section>")[0] for s in page.split('<section class="group"')[1:]}
    columns = {title: section.split("</thead>")[0] for title, section in sections.items()}
    ours = next(t for t in columns if FINGERPRINT[:16] in t)
    theirs = next(t for t in columns if OTHER_FINGERPRINT[:16] in t)
    assert "Apple M2" not in columns[ours] and "AMD EPYC" in columns[ours] and "Intel Xeon" in columns[ours]
    assert "Apple M2" in columns[theirs] and "AMD EPYC" not in columns[theirs]
    assert FINGERPRINT not in sections[theirs] and OTHER_FINGERPRINT not in sections[ours]
    assert "<svg" in page and "http://" not in page.replace("http://www.w3.org", "")


def test_groups_never_mix_fingerprints_and_unverified_rows_stand_apart():
    a = make_run("r1")
    b = with_cost(make_run("r2", cpu="Apple M2"), fingerprint=OTHER_FINGERPRINT)
    groups = weights_groups([a, b])
    for group in groups:
        fps = {r.model.fingerprint for run in group.runs for r in run.results if r.model and r.model.fingerprint}
        assert len(fps) <= 1
    assert any(g.fingerprint == UNVERIFIED for g in groups)  # the failed whisper.cpp row has no fingerprint
    page = render_board([a, b], ["skipped x.json: not valid JSON"], "board")
    assert "skipped x.json" in page and page.count('<section class="group"') == len(groups)


def test_board_bad_options_are_one_line(tmp_path):
    result = run_cli("board", "--repo", "not a repo", "-o", str(tmp_path / "b.html"))
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
    result = run_cli("board", "--repo", "me/board", "-o", str(tmp_path / "b.csv"))
    assert result.returncode == 2 and "board cannot write" in result.stderr and "it writes .html" in result.stderr


def test_publish_unreachable_hub_is_one_line(tmp_path):
    results = _write(tmp_path, "r.json", make_run())
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_fake"}
    result = run_cli("publish", str(results), "--repo", "me/board", env=env, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith("error: cannot publish to dataset me/board: cannot reach http://127.0.0.1:9")
    assert result.stderr.strip().count("\n") == 0
