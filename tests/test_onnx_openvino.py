"""ONNX Runtime and OpenVINO backends on optimum exports of the real tiny.en weights.

- the exports carry the fingerprint of the tensors before export (the other rows' fingerprint);
- each backend's WER is within 0.01 of the library's own plain call: optimum's model in a
  transformers ``pipeline()`` with greedy decoding (beam 1, the tool's default);
- the int8 variants (ONNX Runtime dynamic int8, OpenVINO int8 weight compression) are store entries
  of their own, and the row says what was loaded, read from the graph / IR itself;
- a truncated ``.onnx``, ``.xml`` or ``.bin`` is caught by ``check-models``, and a benchmark exports it
  again before loading it;
- an export is reused until the weights it was exported from change, then made again from the new ones.

They need the ``onnx`` / ``openvino`` extras (not in ``all``: optimum pins an older transformers),
and skip with the reason otherwise.
"""

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA, run_cli
from tests.parity_reference import PER_CLIP, Row, plain_texts, read_clips
from whisper_speedtest.audio import collect_clips
from whisper_speedtest.backends import get_backend
from whisper_speedtest.backends.base import LoadOptions
from whisper_speedtest.bench.scoring import score_many
from whisper_speedtest.bench.session import BenchmarkRequest, run_benchmark, select_backends
from whisper_speedtest.models import integrity, sources, store
from whisper_speedtest.models.verify import CacheStatus, verify_file
from whisper_speedtest.results import DecodeSettings

PARITY_CLIPS = DATA / "parity" / "manifest.jsonl"  # six clips of 1.3-25 s from the shared varied set
FORMAT_OF = {"onnxruntime": "onnx", "openvino": "openvino"}


def _require(backend: str) -> None:
    availability = get_backend(backend).available()
    if not availability.ok:
        pytest.skip(f"{backend} cannot run here: {availability.reason}")


def _run(backend: str, clips, quantization: str | None = None, on_note=lambda text: None):
    settings = DecodeSettings("en", 1, 0.0, runs=1, warmup=0, timeout_s=900)
    options = LoadOptions(quantization=quantization, fallback=False)
    request = BenchmarkRequest("tiny.en", select_backends((backend,)), settings, options, clips=tuple(clips),
                               quantizations=(quantization,))
    (row,) = run_benchmark(request, on_note=on_note).results
    return row


@pytest.fixture(scope="module")
def parity_clips():
    return collect_clips([str(PARITY_CLIPS)])


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_wer_matches_the_plain_library_call_on_the_same_weights(backend, parity_clips):
    _require(backend)
    ref = sources.locate("tiny.en", FORMAT_OF[backend])
    assert ref.fingerprint == sources.locate("tiny.en", "ct2").fingerprint  # the tensors before export
    # the library's own call (optimum's model in a transformers pipeline), on the export our row loads
    plain = plain_texts(backend, Row(backend, "ok", "", ref.path, ref.fingerprint, "float32", ()),
                        read_clips(PARITY_CLIPS), PER_CLIP)
    plain_wer = score_many([c.reference for c in parity_clips], plain).wer
    row = _run(backend, parity_clips)
    assert row.status == "ok", row.reason
    assert row.model.fingerprint == ref.fingerprint and row.model.format == FORMAT_OF[backend]
    assert row.actual_variant == "float32" and row.params["dtype"] == "float32" and row.params["beam_size"] == 1
    assert plain_wer < 0.2, plain  # the plain call itself transcribes (real weights, real clips)
    assert abs(row.score.wer - plain_wer) <= 0.01, (row.score.wer, plain_wer)


@pytest.mark.integration
@pytest.mark.parametrize("backend,actual,dtype", [
    ("onnxruntime", "int8-dynamic", "int8-dynamic"),  # the graph holds ONNX Runtime's dynamic int8 operators
    ("openvino", "int8-weights", "int8"),  # the IR's constants are int8 (NNCF weight compression)
])
def test_int8_variant_is_its_own_store_entry_and_says_what_it_loaded(backend, actual, dtype, parity_clips):
    _require(backend)
    row = _run(backend, parity_clips[:3], quantization="int8")
    assert row.status == "ok", row.reason
    assert row.requested["quantization"] == "int8"
    assert not row.did_fallback and row.actual_variant == actual and row.params["dtype"] == dtype
    assert row.model.dtype == "int8" and row.model.path.endswith(f"{FORMAT_OF[backend]}-int8/weights")
    assert row.model.fingerprint == sources.locate("tiny.en", "ct2").fingerprint
    assert row.score.wer < 0.2


def _truncate(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _check_models_json(backend: str) -> dict:
    result = run_cli("check-models", "-m", "tiny.en", "-b", backend, "--json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


@pytest.mark.integration
@pytest.mark.parametrize("backend,broken", [
    ("onnxruntime", "encoder_model.onnx"),
    ("openvino", "openvino_encoder_model.xml"),
    ("openvino", "openvino_decoder_model.bin"),
])
def test_truncated_export_is_caught_and_made_again(backend, broken, parity_clips):
    _require(backend)
    fmt = FORMAT_OF[backend]
    ref = sources.locate("tiny.en", fmt)
    path = Path(ref.path) / broken
    _truncate(path)
    # the format's own structural check, with no manifest to compare against
    assert "truncated" in verify_file(broken, path, fmt) or "not a complete" in verify_file(broken, path, fmt)
    entry = store.find("tiny.en", fmt, "float32")
    verdict = integrity.check_entry(entry, full_hash=True)
    assert verdict.status is CacheStatus.CORRUPT and any(broken in p for p in verdict.problems)
    report = json.dumps(_check_models_json(backend))
    assert "corrupt" in report and broken in report
    notes = []
    row = _run(backend, parity_clips[:1], on_note=notes.append)  # the benchmark exports again before it loads
    assert any("is corrupt" in n and "exporting it again" in n for n in notes), notes
    assert row.status == "ok" and row.score.wer < 0.2, (row.status, row.reason)
    assert integrity.check_entry(store.find("tiny.en", fmt, "float32"), full_hash=True).status is CacheStatus.COMPLETE
    assert row.model.fingerprint == ref.fingerprint and verify_file(broken, path, fmt) is None


SCALED = "model.decoder.layers.0.final_layer_norm.weight"  # the HF (and ONNX initializer) name of one tensor


def _onnx_tensor(export_dir: Path, name: str):
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(export_dir / "decoder_model.onnx"), load_external_data=False).graph
    return next(numpy_helper.to_array(t) for t in graph.initializer if t.name == name)


def _replace_hf_weights_with_one_tensor_scaled(hf: store.StoreEntry) -> store.StoreEntry:
    """Other weights in the HF store entry the exports are made from: a copy with one tensor doubled,
    written through the store (hashed, its fingerprint that of the new tensors), as an import would."""
    from safetensors.numpy import load_file, save_file

    from whisper_speedtest.models.formats.canonical import fingerprint
    from whisper_speedtest.models.formats.hf import read_hf

    def build(staging: Path) -> str:
        payload = staging / hf.payload.relative_to(hf.directory)
        shutil.copytree(hf.payload, payload)
        tensors = load_file(payload / "model.safetensors")
        tensors[SCALED] = tensors[SCALED] * 2  # exact in float16
        save_file(tensors, payload / "model.safetensors", metadata={"format": "pt"})
        return fingerprint(read_hf(payload).tensors)

    return store.add(hf.name, "hf", hf.dtype, source="test: tiny.en with one layer norm doubled", build=build)


@pytest.mark.integration
def test_export_is_reused_until_its_source_changes():
    _require("onnxruntime")
    made = sources.locate("tiny.en", "onnx")
    first = store.find("tiny.en", "onnx", "float32")
    notes = []
    assert sources.locate("tiny.en", "onnx", on_note=notes.append).path == made.path
    assert store.find("tiny.en", "onnx", "float32").created == first.created and not notes  # reused as it was
    before = _onnx_tensor(Path(made.path), SCALED).copy()

    original_hf = store.find("tiny.en", "hf", "float16")
    changed = _replace_hf_weights_with_one_tensor_scaled(original_hf)
    try:
        assert changed.fingerprint != made.fingerprint
        notes = []
        again = sources.locate("tiny.en", "onnx", on_note=notes.append)
        assert any("exported from other weights" in n for n in notes), notes
        assert again.fingerprint == changed.fingerprint != made.fingerprint
        assert (_onnx_tensor(Path(again.path), SCALED) == before * 2).all()  # the export holds the new weights
        notes = []
        assert sources.locate("tiny.en", "onnx", on_note=notes.append).fingerprint == changed.fingerprint
        assert not notes  # and is reused from then on
    finally:
        store.remove(store.find("tiny.en", "hf", "float16"))  # later tests convert the real weights again


def test_a_file_that_is_not_onnx_or_an_ir_is_reported(tmp_path):
    """The structural checks need no library: plain files stand in for broken exports."""
    junk = tmp_path / "encoder_model.onnx"
    junk.write_bytes(b"\x08\x07\x12\xff\xff\x7f")  # ir_version, then a field claiming 2 MB
    assert "truncated" in verify_file(junk.name, junk, "onnx")
    xml = tmp_path / "openvino_encoder_model.xml"
    xml.write_text('<?xml version="1.0"?><net name="m" version="11"><layers><layer id="0" type="Const">'
                   '<data element_type="f32" shape="4" offset="0" size="16"/></layer></layers></net>')
    weights = xml.with_suffix(".bin")
    weights.write_bytes(b"\0" * 8)
    assert verify_file(xml.name, xml, "openvino") is None
    assert "needs 16 bytes" in verify_file(weights.name, weights, "openvino")
    xml.write_text(xml.read_text()[:60])
    assert "not a complete OpenVINO IR" in verify_file(xml.name, xml, "openvino")
