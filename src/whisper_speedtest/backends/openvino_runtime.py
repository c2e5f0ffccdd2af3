"""OpenVINO, through optimum-intel's ``OVModelForSpeechSeq2Seq`` on our OpenVINO IR export of the shared weights."""

from __future__ import annotations

from ..errors import BackendUnavailable
from .base import LoadOptions, LoadResult, ModelRef
from .optimum.seq2seq import OptimumSeq2SeqBackend

_WEIGHT_TYPES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16", "u8": "int8", "i8": "int8", "u4": "int4", "i4": "int4"}


def weights_variant(model_dir: str) -> str:
    """What the IR's weights are stored as: the element type of most constant bytes ("int8" for NNCF's compression)."""
    from ..models.formats.openvino import weight_precisions

    kind = next(iter(weight_precisions(model_dir)), "?")
    return _WEIGHT_TYPES.get(kind, kind)


class OpenVinoBackend(OptimumSeq2SeqBackend):
    name = "openvino"
    display_name = "OpenVINO (optimum-intel)"
    requires = ("optimum-intel", "openvino", "transformers", "torch")
    model_format = "openvino"
    extra = "openvino"
    quantizations = {"int8": "OpenVINO int8 weight compression (NNCF), kept in the store"}

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        from optimum.intel import OVModelForSpeechSeq2Seq

        if options.device not in ("auto", "cpu"):
            raise BackendUnavailable(f"the OpenVINO backend runs on the CPU, not {options.device}")
        threads = self.threads_for(options)
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
        network = OVModelForSpeechSeq2Seq.from_pretrained(model.path, device="CPU", ov_config=config)
        compiled = network.encoder.request
        weights = weights_variant(model.path)
        self._finish_load(network, model.path, {
            "device": "cpu",
            "dtype": weights,
            "inference_precision": str(compiled.get_property("INFERENCE_PRECISION_HINT")).removeprefix("<Type: '").removesuffix("'>"),
            "threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
        })
        actual = "int8-weights" if weights == "int8" else weights
        return LoadResult(requested=options.quantization or "default", actual=actual)
