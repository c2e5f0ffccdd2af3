"""The one table of weight formats: what each one is on disk, and how it is read, written and recognized.

Every other module asks this table (``get``, ``names``, ``detect``) rather than keeping a list
of its own. Adding a format is one module beside this one (its reader, writer and detection)
plus one :class:`Format` entry below. The hooks are named, not imported: a format's module (and
the libraries it needs) is only imported when one of its hooks is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from ...errors import BadOption


@dataclass(frozen=True)
class Hook:
    """A function of a format module, imported when first called: ``Hook("hf", "read_hf")`` for a
    module beside this one, or a dotted module path for one elsewhere (a plugin's)."""

    module: str
    function: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module = self.module if "." in self.module else f"{__package__}.{self.module}"
        return getattr(import_module(module), self.function)(*args, **kwargs)


@dataclass(frozen=True)
class Format:
    """One weight format.

    - ``single_file``: one file (openai ``.pt``, ggml ``.bin``) rather than a folder;
    - ``required_files``: for folder formats, groups of alternatives, one of each must be present;
    - ``weight_files``: the main weights file(s) of a folder, in order of preference (glob patterns
      allowed: a sharded hf download is ``model-*-of-*.safetensors``);
    - ``store_payload``: the weights' name inside a store entry;
    - ``on_hub``: upstream copies are Hugging Face Hub repos (openai's are plain URLs, exports are made here);
    - ``load_time_quantization``: int8/int4 are applied by the library while loading the float16 copy;
    - ``stored_variants``: the quantizations made once and kept in the store, and their dtype there;
    - ``baseline_dtype``: the dtype of the unquantized store entry;
    - ``read(path) -> canonical.Weights``; ``detect(path) -> bool`` (a folder format without one is
      recognized by its essential files, see :meth:`recognizes`);
    - ``write(source: ConversionSource, out)``: made here from CTranslate2 tensors;
    - ``export(hf_dir, out, **options)``: made by the library's own exporter from the hf copy;
    - ``file_checks``: the format's own cheap checks of its files, by name pattern (``check(path)``
      returns a problem line or None); other files get the checks their names call for;
    - ``quantize(input, dtype, out) -> fingerprint | None``: writes the stored variant ``dtype`` at
      ``out`` (the entry's payload) from ``input``: the CTranslate2 folder when ``quantize_from`` is
      "ct2", else the unquantized copy in this format; None when the variant's tensors have no
      canonical fingerprint. Raising NotImplementedError means "no such variant here".
    """

    name: str
    single_file: bool = False
    required_files: tuple[tuple[str, ...], ...] = ()
    weight_files: tuple[str, ...] = ()
    store_payload: str = "weights"
    on_hub: bool = False
    load_time_quantization: bool = False
    baseline_dtype: str = "float16"
    read: Callable[[Path], Any] | None = None
    write: Callable[[Any, Path], None] | None = None
    export: Callable[..., Any] | None = None
    exports_int8: bool = False
    detect: Callable[[Path], bool] | None = None
    file_checks: tuple[tuple[str, Callable[[Path], str | None]], ...] = ()  # (file name pattern, cheap check)
    stored_variants: tuple[tuple[str, str], ...] = ()  # (quantization, store dtype) kept as store entries of their own
    quantize: Callable[[Path, str, Path], str | None] | None = None
    quantize_from: str = "base"  # or "ct2"

    @property
    def convertible(self) -> bool:
        """Written here from a CTranslate2 source (so every backend runs the same weights)."""
        return self.write is not None

    @property
    def exported(self) -> bool:
        """Made from the converted hf copy by the backend library's exporter (never downloaded)."""
        return self.export is not None

    def variant_dtype(self, quantization: str) -> str | None:
        """The store dtype of the ``quantization`` variant, or None when this format keeps none."""
        return dict(self.stored_variants).get(quantization)

    def essential_files(self) -> tuple[tuple[str, ...], ...]:
        """The least a downloaded folder needs to be usable: its config and one weights file."""
        return (("config.json",), self.weight_files) if self.weight_files else ()

    def recognizes(self, path: Path) -> bool:
        """Whether ``path`` is in this format: the format's own ``detect``, else (folder formats that
        can be read) a folder with the essential files."""
        if self.detect is not None:
            return self.detect(path)
        groups = self.essential_files()
        return bool(groups) and self.read is not None and path.is_dir() and all(
            any((path / name).is_file() for name in group) for group in groups)


_HF_PROCESSOR = (("tokenizer.json", "vocab.json"), ("preprocessor_config.json",))

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "ct2",
            required_files=(("model.bin",), ("config.json",), ("tokenizer.json", "vocabulary.txt", "vocabulary.json")),
            weight_files=("model.bin",),
            on_hub=True, load_time_quantization=True,
            read=Hook("conversion_source", "read_ct2_weights"), write=Hook("ct2", "copy_ct2"), detect=Hook("ct2", "detect_ct2"),
            file_checks=(("model.bin", Hook("ct2", "file_problem")),),
        ),
        Format(
            "hf",
            required_files=(("config.json",), ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"),
                            *_HF_PROCESSOR),
            weight_files=("model.safetensors", "model-*-of-*.safetensors", "pytorch_model.bin"),
            on_hub=True, load_time_quantization=True,
            read=Hook("hf", "read_hf"), write=Hook("hf", "write_converted"),
        ),
        Format(
            "openai", single_file=True, store_payload="model.pt", load_time_quantization=True,
            read=Hook("openai", "read_openai"), write=Hook("openai", "write_converted"),
            detect=Hook("openai", "detect_openai"), file_checks=(("*", Hook("openai", "check_zip_or_pickle")),),
        ),
        Format(
            "mlx",
            required_files=(("config.json",), ("weights.safetensors", "weights.npz")),
            weight_files=("weights.safetensors", "weights.npz"),
            on_hub=True, stored_variants=(("int8", "int8"), ("int4", "int4")),  # MLX affine quantization
            read=Hook("mlx", "read_mlx"), write=Hook("mlx", "write_converted"), quantize=Hook("mlx", "quantize_mlx"),
        ),
        Format(
            "ggml", single_file=True, store_payload="ggml-model.bin", on_hub=True,
            stored_variants=(("int8", "q8_0"), ("int4", "q4_0")),  # whisper.cpp's quantized weight types
            quantize=Hook("ggml", "quantize_ggml"), quantize_from="ct2",
            read=Hook("ggml", "read_ggml"), write=Hook("ggml", "write_converted"), detect=Hook("ggml", "detect_ggml"),
            file_checks=(("*", Hook("ggml", "file_problem")),),
        ),
        Format(
            "onnx",
            required_files=(("encoder_model.onnx",), ("decoder_model_merged.onnx", "decoder_model.onnx"),
                            ("config.json",), *_HF_PROCESSOR),
            baseline_dtype="float32", stored_variants=(("int8", "int8"),),  # ONNX Runtime dynamic int8
            export=Hook("onnx", "export_onnx"), file_checks=(("*.onnx", Hook("onnx", "check_onnx")),),
        ),
        Format(
            "openvino",
            required_files=(("openvino_encoder_model.xml",), ("openvino_encoder_model.bin",),
                            ("openvino_decoder_model.xml",), ("openvino_decoder_model.bin",),
                            ("config.json",), *_HF_PROCESSOR),
            baseline_dtype="float32",
            stored_variants=(("int8", "int8"),),  # NNCF int8 weight compression
            export=Hook("openvino", "export_openvino"), exports_int8=True,
            file_checks=(("*.xml", Hook("openvino", "check_ir_xml")), ("*.bin", Hook("openvino", "check_ir_bin"))),
        ),
    )
}


def names(predicate: Callable[[Format], bool] | None = None) -> tuple[str, ...]:
    """The formats' names in table order, those for which ``predicate`` holds when given."""
    return tuple(name for name, fmt in FORMATS.items() if predicate is None or predicate(fmt))


def known(name: str) -> bool:
    return name in FORMATS


def get(name: str) -> Format:
    """The format called ``name``; :class:`BadOption` lists the known ones."""
    if name not in FORMATS:
        raise BadOption(f"unknown format {name!r}; choose from {', '.join(FORMATS)}")
    return FORMATS[name]


def convertible() -> tuple[str, ...]:
    return names(lambda f: f.convertible)


def exported() -> tuple[str, ...]:
    return names(lambda f: f.exported)


def on_hub() -> tuple[str, ...]:
    return names(lambda f: f.on_hub)


def single_file(name: str) -> bool:
    return name in FORMATS and FORMATS[name].single_file


def detect(path: Path) -> Format | None:
    """The first format, in table order, that recognizes ``path``; None when none does."""
    return next((f for f in FORMATS.values() if f.recognizes(path)), None)


def weights_file(files: dict[str, Path]) -> Path | None:
    """The main weights file among a folder's ``{name: path}``, whatever its format."""
    preferred = [name for fmt in FORMATS.values() for name in fmt.weight_files]
    return next((files[name] for name in dict.fromkeys(preferred) if name in files), None)
