"""A backend written from the "Writing a backend" page (docs/writing-a-backend.md, linked from the README)
alone, in a package of its own with its own entry point, is listed by `backends` and runs in `benchmark`."""

import json
import re
from pathlib import Path

from tests.conftest import JFK, run_cli

PAGE = Path(__file__).parent.parent / "docs" / "writing-a-backend.md"


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.S)


def installed_plugin(tmp_path: Path) -> Path:
    """The page's module, its library stood in for by a tiny module, and the dist-info pip would write."""
    (source,) = readme_blocks("python")
    (toml,) = readme_blocks("toml")
    entry = toml.strip().splitlines()[-1]  # my-whisper = "my_whisper_backend:MyWhisper"
    name, target = (part.strip().strip('"') for part in entry.split("=", 1))
    module = target.split(":")[0]
    site = tmp_path / "site"
    site.mkdir()
    (site / f"{module}.py").write_text(source)
    (site / "my_whisper_lib.py").write_text(
        "class _Model:\n"
        "    dtype, device, beam_size = 'float16', 'cpu', 1\n"
        "    def __init__(self, path, device):\n"
        "        self.path = path\n"
        "    def transcribe(self, audio, language=None, beam_size=1):\n"
        "        return f' {len(audio)} samples in {language} '\n"
        "def load(path, device='cpu'):\n"
        "    return _Model(path, device)\n"
    )
    for dist, body in (("my_whisper_backend", f"[whisper_speedtest.backends]\n{name} = {target}\n"), ("my_whisper_lib", None)):
        info = site / f"{dist}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist.replace('_', '-')}\nVersion: 0.1\n")
        if body:
            (info / "entry_points.txt").write_text(body)
    return site


def test_a_backend_written_from_the_readme_is_listed_and_runs(tmp_path):
    import os

    site = installed_plugin(tmp_path)
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = run_cli("backends", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["my-whisper"]["available"] is True, rows["my-whisper"]

    out = tmp_path / "run.json"
    result = run_cli("benchmark", "-b", "my-whisper", "-a", str(JFK), "-n", "1", "--warmup", "0",
                     "--no-history", "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads(out.read_text())["results"]
    assert row["status"] == "ok" and row["display_name"] == "my whisper"
    assert row["clips"][0]["text"] == "176000 samples in en" and row["params"]["device"] == "cpu"
    assert row["model"]["format"] == "ct2" and row["model"]["fingerprint"]
