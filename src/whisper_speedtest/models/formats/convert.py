"""Convert a CTranslate2 Whisper model into any backend's format, writing the result atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...errors import BadOption, ModelFormatError
from .canonical import canonical_tensors, ct2_dims, decode_hints, is_english_only
from .ct2 import check_ct2_header, read_ct2, resolve_model_bin
from .ggml import DTYPES as GGML_DTYPES

FORMATS = ("ct2", "hf", "openai", "mlx", "ggml")
DIRECTORY_FORMATS = ("ct2", "hf", "mlx")  # the others are a single file
# Made from the "hf" layout by the backend library's own exporter (optimum), not written by us.
EXPORTED_FORMATS = ("onnx", "openvino")
CT2_SIDECARS = ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json", "preprocessor_config.json")


def convert(
    ct2_path: str | os.PathLike,
    fmt: str,
    out_path: str | os.PathLike,
    *,
    english_only: bool | None = None,
    ggml_dtype: str = "f16",
) -> Path:
    """Convert the CTranslate2 model at ``ct2_path`` (dir or model.bin) to ``fmt`` at ``out_path``.

    The output is built next to ``out_path`` and moved into place only when complete, replacing
    any previous output. ``english_only`` defaults to what the vocabulary size says and is
    checked against it when given. ``ggml_dtype`` is the whisper.cpp weight type: f16, f32, q8_0 or q4_0
    (others raise NotImplementedError).
    """
    if fmt not in FORMATS:
        raise BadOption(f"unknown model format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt == "ggml" and ggml_dtype not in GGML_DTYPES:  # before any output exists
        raise NotImplementedError(
            f"ggml weight type {ggml_dtype!r} is not supported; choose from {', '.join(GGML_DTYPES)}")
    model_bin = resolve_model_bin(ct2_path)
    out_path = Path(out_path)
    with _atomic_output(out_path, is_dir=fmt in DIRECTORY_FORMATS) as tmp:
        if fmt == "ct2":
            _copy_ct2(model_bin, tmp)
        else:
            _write_converted(model_bin, fmt, tmp, english_only=english_only, ggml_dtype=ggml_dtype)
    return out_path


def export(hf_dir: str | os.PathLike, fmt: str, out_dir: str | os.PathLike, *, int8: bool = False) -> Path:
    """Export a transformers Whisper directory to ``fmt`` (onnx, openvino) with optimum, atomically.

    ``int8``: OpenVINO int8 weight compression (NNCF); ONNX int8 is quantized from the float32
    export instead (:func:`.onnx.quantize_onnx_int8`).
    """
    if fmt not in EXPORTED_FORMATS:
        raise BadOption(f"{fmt!r} is not an exported format; choose from {', '.join(EXPORTED_FORMATS)}")
    if int8 and fmt != "openvino":
        raise NotImplementedError(f"{fmt} int8 is not made by the exporter")
    out_dir = Path(out_dir)
    with _atomic_output(out_dir, is_dir=True) as tmp:
        if fmt == "onnx":
            from .onnx import export_onnx

            export_onnx(hf_dir, tmp)
        else:
            from .openvino import export_openvino

            export_openvino(hf_dir, tmp, int8=int8)
    return out_dir


def _write_converted(model_bin: Path, fmt: str, tmp: Path, *, english_only: bool | None, ggml_dtype: str) -> None:
    ct2 = read_ct2(model_bin)
    tensors = canonical_tensors(ct2)
    dims = ct2_dims(ct2, tensors)
    vocab_says = is_english_only(dims)
    if english_only is not None and english_only != vocab_says:
        kind = "English-only" if vocab_says else "multilingual"
        raise ModelFormatError(f"{model_bin}: vocabulary of {dims.n_vocab} tokens means a {kind} model, "
                               f"but english_only={english_only} was given")
    tokenizer_json = model_bin.parent / "tokenizer.json"
    if fmt == "hf":
        from .hf import write_hf

        write_hf(tensors, dims, english_only=vocab_says, tokenizer_json=tokenizer_json, out_dir=tmp,
                 hints=decode_hints(ct2))
    elif fmt == "openai":
        from .openai import write_openai

        write_openai(tensors, dims, tmp)
    elif fmt == "mlx":
        from .mlx import write_mlx

        write_mlx(tensors, dims, tmp, alignment_heads=decode_hints(ct2).alignment_heads)
    elif fmt == "ggml":
        from .ggml import write_ggml

        write_ggml(tensors, dims, tokenizer_json=tokenizer_json, out_path=tmp, dtype=ggml_dtype)


def _copy_ct2(model_bin: Path, out_dir: Path) -> None:
    """Copy model.bin (validated) and its sidecar files."""
    check_ct2_header(model_bin)
    shutil.copyfile(model_bin, out_dir / "model.bin")
    check_ct2_header(out_dir / "model.bin")
    for name in CT2_SIDECARS:
        if (model_bin.parent / name).is_file():
            shutil.copyfile(model_bin.parent / name, out_dir / name)


@contextmanager
def _atomic_output(out: Path, *, is_dir: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; move it to ``out`` on success, delete it on failure."""
    out.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{out.name}."
    if is_dir:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=out.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=out.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        _make_readable(tmp)
        _move_into_place(tmp, out)
    except BaseException:
        _remove(tmp)
        raise


def _move_into_place(tmp: Path, out: Path) -> None:
    if not out.exists() or (out.is_file() and tmp.is_file()):
        os.replace(tmp, out)  # atomic
        return
    # A directory cannot be replaced in one step: move the old one aside first.
    aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent)) / "previous"
    os.replace(out, aside)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(aside, out)
        raise
    finally:
        _remove(aside.parent)


def _make_readable(path: Path) -> None:
    """Some writers (safetensors) create owner-only files; outputs are shared caches, so open them up."""
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.chmod(item, 0o755 if item.is_dir() else 0o644)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
