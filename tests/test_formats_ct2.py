"""CTranslate2 model.bin reader: real tiny.en weights, truncation, corruption, split parts."""

from __future__ import annotations

import random
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.test_formats_support import tiny_en_dir
from whisper_speedtest.errors import ModelFormatError
from whisper_speedtest.models.formats.canonical import canonical_tensors
from whisper_speedtest.models.formats.ct2 import check_ct2_header, read_ct2, reassemble_parts

DTYPE_IDS = {"float32": 0, "int8": 1, "int16": 2, "int32": 3, "float16": 4, "bfloat16": 5}


def write_ct2(path: Path, variables: dict[str, tuple[str, tuple[int, ...], bytes]], aliases=(), version=6) -> Path:
    """A minimal independent model.bin writer (the layout of ctranslate2's ``_serialize``)."""

    def string(text: str) -> bytes:
        raw = text.encode() + b"\0"
        return struct.pack("<H", len(raw)) + raw

    out = [struct.pack("<I", version), string("WhisperSpec"), struct.pack("<II", 3, len(variables))]
    for name, (dtype, shape, data) in variables.items():
        out += [string(name), struct.pack(f"<B{len(shape)}I", len(shape), *shape)]
        out += [struct.pack("<BI", DTYPE_IDS[dtype], len(data)), data]
    out.append(struct.pack("<I", len(aliases)))
    for alias, target in aliases:
        out += [string(alias), string(target)]
    path.write_bytes(b"".join(out))
    return path


@pytest.fixture(scope="module")
def tiny_bin() -> Path:
    return tiny_en_dir() / "model.bin"


@pytest.fixture(scope="module")
def scratch_bin(tiny_bin, tmp_path_factory) -> Path:
    """A private copy of tiny.en's model.bin that tests patch in place and restore."""
    copy = tmp_path_factory.mktemp("ct2") / "model.bin"
    shutil.copyfile(tiny_bin, copy)
    return copy


def test_header_of_real_tiny_en(tiny_bin):
    header = check_ct2_header(tiny_bin.parent)
    assert (header.binary_version, header.spec_name, header.spec_revision) == (6, "WhisperSpec", 3)
    assert header.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert header.file_size == tiny_bin.stat().st_size
    assert 0 < header.file_size - header.data_bytes < 20_000  # the table itself is small
    conv1 = next(v for v in header.variables if v.name == "encoder/conv1/weight")
    assert (conv1.shape, conv1.dtype) == ((384, 80, 3), "float16")


def test_read_real_tiny_en(tiny_bin):
    model = read_ct2(tiny_bin)
    assert model.config["alignment_heads"][0] == [1, 0]
    assert model.get("decoder/projection/weight") is model.get("decoder/embeddings/weight")
    assert int(model.get("encoder/num_heads")) == 6
    weight = model.get("encoder/layer_0/ffn/linear_0/weight")
    assert weight.dtype == np.float16 and weight.shape == (1536, 384) and np.isfinite(weight).all()
    with pytest.raises(ModelFormatError, match="no variable"):
        model.get("encoder/layer_9/ffn/linear_0/weight")


def test_truncated_model_bin_raises(tiny_bin, tmp_path):
    half = tmp_path / "model.bin"
    with open(tiny_bin, "rb") as src:
        half.write_bytes(src.read(tiny_bin.stat().st_size // 2))
    with pytest.raises(ModelFormatError, match="truncated"):
        check_ct2_header(half)
    with pytest.raises(ModelFormatError, match="truncated"):
        read_ct2(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\x06\x00"], ids=["empty", "two-bytes"])
def test_tiny_files_raise(tmp_path, content):
    (tmp_path / "model.bin").write_bytes(content)
    with pytest.raises(ModelFormatError):
        read_ct2(tmp_path)


def test_missing_model_bin_raises(tmp_path):
    with pytest.raises(ModelFormatError, match="no such"):
        read_ct2(tmp_path)


def _patch(path: Path, offset: int, data: bytes) -> bytes:
    with open(path, "r+b") as f:
        f.seek(offset)
        old = f.read(len(data))
        f.seek(offset)
        f.write(data)
    return old


def _header_corruptions(header):
    """(label, offset, bytes) patches of the header of tiny.en's model.bin."""
    conv1 = next(v for v in header.variables if v.name == "encoder/conv1/weight")
    nbytes_at, dtype_at = conv1.offset - 4, conv1.offset - 5
    rank_at = dtype_at - 4 * len(conv1.shape) - 1
    name_at = rank_at - len("encoder/conv1/weight") - 1
    alias_count_at = header.variables[-1].offset + header.variables[-1].nbytes
    return {
        "version": (0, struct.pack("<I", 99)),
        "spec-name-length": (4, struct.pack("<H", 0xFFFF)),
        "variable-count": (22, struct.pack("<I", 0xFFFFFFF0)),
        "rank": (rank_at, bytes([200])),
        "dimension": (rank_at + 1, struct.pack("<I", 768)),
        "dtype-id": (dtype_at, bytes([9])),
        "byte-count": (nbytes_at, struct.pack("<I", conv1.nbytes + 2)),
        "name-not-utf8": (name_at + 3, b"\xff"),
        "alias-count": (alias_count_at, struct.pack("<I", 7)),
    }


CORRUPTIONS = ["version", "spec-name-length", "variable-count", "rank", "dimension", "dtype-id", "byte-count",
               "name-not-utf8", "alias-count"]


@pytest.mark.parametrize("label", CORRUPTIONS)
def test_corrupted_header_raises(scratch_bin, label):
    offset, data = _header_corruptions(check_ct2_header(scratch_bin))[label]
    old = _patch(scratch_bin, offset, data)
    try:
        with pytest.raises(ModelFormatError):
            check_ct2_header(scratch_bin)
        with pytest.raises(ModelFormatError):
            read_ct2(scratch_bin)
    finally:
        _patch(scratch_bin, offset, old)
    check_ct2_header(scratch_bin)


def test_random_header_bytes_never_escape_as_other_errors(scratch_bin):
    """Any single corrupted byte of the variable table gives a model or a ModelFormatError, nothing else."""
    header = check_ct2_header(scratch_bin)
    table_bytes, pos = [], 0
    for var in header.variables:
        table_bytes.extend(range(pos, var.offset))
        pos = var.offset + var.nbytes
    table_bytes.extend(range(pos, header.file_size))
    rng = random.Random(1234)
    for offset in rng.sample(table_bytes, 60):
        old = _patch(scratch_bin, offset, bytes([rng.randrange(256)]))
        try:
            canonical_tensors(read_ct2(scratch_bin))
        except ModelFormatError:
            pass
        finally:
            _patch(scratch_bin, offset, old)


def test_trailing_bytes_raise(tmp_path):
    path = write_ct2(tmp_path / "model.bin", {"x": ("float32", (2,), np.ones(2, "<f4").tobytes())})
    check_ct2_header(path)
    path.write_bytes(path.read_bytes() + b"junk")
    with pytest.raises(ModelFormatError, match="unexpected bytes"):
        check_ct2_header(path)


def test_dtypes_and_dequantization(tmp_path):
    weight = np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32)
    scale = (127.0 / np.abs(weight).max(axis=1)).astype(np.float32)
    quantized = np.rint(weight * scale[:, None]).astype(np.int8)
    bf16 = (np.array([1.5, -2.0], dtype=np.float32).view(np.uint32) >> 16).astype("<u2")
    path = write_ct2(tmp_path / "model.bin", {
        "lin/weight": ("int8", (2, 2), quantized.tobytes()),
        "lin/weight_scale": ("float32", (2,), scale.tobytes()),
        "half": ("float16", (2,), np.array([1, 2], "<f2").tobytes()),
        "brain": ("bfloat16", (2,), bf16.tobytes()),
        "n": ("int16", (), struct.pack("<h", 6)),
    }, aliases=[("alias/weight", "lin/weight")])
    model = read_ct2(path)
    np.testing.assert_allclose(model.float_weight("lin/weight"), weight, atol=0.01)
    np.testing.assert_allclose(model.float_weight("alias/weight"), weight, atol=0.01)
    np.testing.assert_array_equal(model.get("brain"), [1.5, -2.0])
    assert model.get("half").dtype == np.float16 and int(model.get("n")) == 6


def test_alias_to_unknown_variable_raises(tmp_path):
    path = write_ct2(tmp_path / "model.bin", {"x": ("float32", (1,), b"\0" * 4)}, aliases=[("y", "nope")])
    with pytest.raises(ModelFormatError, match="unknown"):
        read_ct2(path)


@pytest.fixture
def split_parts(tiny_bin, tmp_path) -> list[Path]:
    data = tiny_bin.read_bytes()
    cut = len(data) * 3 // 5
    parts = [tmp_path / "model.bin.part1", tmp_path / "model.bin.part2"]
    parts[0].write_bytes(data[:cut])
    parts[1].write_bytes(data[cut:])
    return parts


def test_reassemble_parts(split_parts, tiny_bin, tmp_path):
    out = tmp_path / "joined" / "model.bin"
    header = reassemble_parts(split_parts, out)
    assert header.path == out and out.stat().st_size == tiny_bin.stat().st_size
    assert read_ct2(out).get("decoder/embeddings/weight").shape == (51864, 384)
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.bin"]


def test_reassemble_with_missing_part_leaves_nothing(split_parts, tmp_path):
    out = tmp_path / "joined" / "model.bin"
    split_parts[1].unlink()
    with pytest.raises(ModelFormatError, match="missing part"):
        reassemble_parts(split_parts, out)
    assert not out.exists()


def test_reassemble_with_short_part_leaves_nothing(split_parts, tmp_path):
    out_dir = tmp_path / "joined"
    out_dir.mkdir()
    split_parts[1].write_bytes(split_parts[1].read_bytes()[:-10])
    with pytest.raises(ModelFormatError, match="truncated"):
        reassemble_parts(split_parts, out_dir / "model.bin")
    assert list(out_dir.iterdir()) == []


def test_reassemble_failure_keeps_previous_output(split_parts, tmp_path):
    out = tmp_path / "model.bin"
    out.write_bytes(b"previous")
    with pytest.raises(ModelFormatError):
        reassemble_parts(split_parts[::-1], out)  # wrong order: not a valid model.bin
    assert out.read_bytes() == b"previous"
