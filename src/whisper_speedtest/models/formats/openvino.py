"""OpenVINO layout: optimum-intel's export of our Hugging Face weights (IR ``.xml`` + ``.bin`` per model).

- :func:`export_openvino` runs optimum-intel's exporter (``OVModelForSpeechSeq2Seq`` with
  ``export=True``) on a transformers directory; with ``int8=True`` NNCF compresses the weights
  to int8 (``OVWeightQuantizationConfig(bits=8)``), activations stay in floating point;
- :func:`check_ir_xml` / :func:`check_ir_bin` are the cheap structural checks: the XML parses, and
  every constant it declares (``offset`` + ``size``) lies inside the ``.bin`` beside it;
- :func:`weight_precisions` reads which element types the weights are stored in, for ``params()``.

optimum-intel, openvino and nncf are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from collections import Counter
from pathlib import Path

from .onnx import copy_processor_files, quiet_export, require_optimum


def export_openvino(hf_dir: str | os.PathLike, out_dir: str | os.PathLike, *, int8: bool = False) -> Path:
    """Export the transformers Whisper model in ``hf_dir`` to OpenVINO IR in ``out_dir``."""
    require_optimum("openvino")
    from optimum.intel import OVModelForSpeechSeq2Seq, OVWeightQuantizationConfig

    from .hf import WEIGHTS_FILE

    hf_dir, out_dir = Path(hf_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = {"quantization_config": OVWeightQuantizationConfig(bits=8)} if int8 else {"load_in_8bit": False}
    with quiet_export():
        model = OVModelForSpeechSeq2Seq.from_pretrained(hf_dir, export=True, compile=False, **options)
        model.save_pretrained(out_dir)
    del model
    copy_processor_files(hf_dir, out_dir, WEIGHTS_FILE)
    return out_dir


def _constants(xml_path: Path) -> list[ElementTree.Element]:
    """The ``<data>`` elements of the IR's Const layers (raises ParseError for a broken XML)."""
    root = ElementTree.parse(xml_path).getroot()
    return [data for layer in root.iter("layer") if layer.get("type") == "Const"
            for data in layer.iter("data") if data.get("offset") is not None]


def check_ir_xml(path: Path) -> str | None:
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        return f"not a complete OpenVINO IR ({exc})"
    return None if root.tag == "net" else f"not an OpenVINO IR (root element <{root.tag}>)"


def check_ir_bin(path: Path) -> str | None:
    """Whether the ``.bin`` holds every constant its ``.xml`` declares (a broken XML is reported on its own)."""
    xml_path = path.with_suffix(".xml")
    if not xml_path.is_file():
        return f"no {xml_path.name} beside it"
    try:
        constants = _constants(xml_path)
    except ElementTree.ParseError:
        return None
    try:
        needed = max((int(d.get("offset")) + int(d.get("size", 0)) for d in constants), default=0)
    except ValueError:
        return f"{xml_path.name} declares a constant with a bad offset or size"
    size = path.stat().st_size
    return f"truncated: {xml_path.name} needs {needed} bytes, the file has {size}" if needed > size else None


def weight_precisions(model_dir: str | os.PathLike) -> dict[str, float]:
    """Share of constant bytes per element type (``f32``, ``f16``, ``u8``, …) over every IR in ``model_dir``."""
    totals: Counter[str] = Counter()
    for xml_path in sorted(Path(model_dir).glob("*.xml")):
        for data in _constants(xml_path):
            totals[data.get("element_type", "?")] += int(data.get("size", 0))
    whole = sum(totals.values()) or 1
    return {kind: round(size / whole, 3) for kind, size in totals.most_common()}
