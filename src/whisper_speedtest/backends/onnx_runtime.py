"""ONNX Runtime, through optimum-onnx's ``ORTModelForSpeechSeq2Seq`` on our ONNX export of the shared weights."""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendUnavailable
from .base import Availability, LoadOptions, LoadResult, ModelRef
from .optimum.seq2seq import OptimumSeq2SeqBackend

# Operators that ONNX Runtime's dynamic quantization leaves in the graph.
_INT8_OPS = ("DynamicQuantizeLinear", "MatMulInteger", "DynamicQuantizeMatMul")


def provider_for(device: str, available: list[str]) -> str:
    """The execution provider for a device: CUDA where present (auto) or asked for, the CPU otherwise."""
    has_cuda = "CUDAExecutionProvider" in available
    if device == "cuda" and not has_cuda:
        raise BackendUnavailable("ONNX Runtime here has no CUDAExecutionProvider (pip install onnxruntime-gpu)")
    if device not in ("auto", "cpu", "cuda"):
        raise BackendUnavailable(f"ONNX Runtime backend runs on cpu or cuda, not {device}")
    return "CUDAExecutionProvider" if device in ("auto", "cuda") and has_cuda else "CPUExecutionProvider"


def graph_variant(encoder: Path) -> str:
    """int8-dynamic if the encoder graph holds ONNX Runtime's dynamic quantization operators, else float32."""
    import onnx

    graph = onnx.load(str(encoder), load_external_data=False).graph
    return "int8-dynamic" if any(node.op_type in _INT8_OPS for node in graph.node) else "float32"


class OnnxRuntimeBackend(OptimumSeq2SeqBackend):
    name = "onnxruntime"
    display_name = "ONNX Runtime (optimum)"
    requires = ("optimum-onnx", "transformers", "torch")
    model_format = "onnx"
    extra = "onnx"
    quantizations = {"int8": "ONNX Runtime dynamic int8 of the MatMul/Gemm weights, kept in the store"}

    @classmethod
    def available(cls) -> Availability:
        availability = super().available()
        if availability.ok and not cls.module_present("onnxruntime"):
            return Availability(False, f"onnxruntime not installed: {cls.install_hint()}")
        return availability

    def package_versions(self) -> dict[str, str]:
        import onnxruntime

        return {**super().package_versions(), "onnxruntime": onnxruntime.__version__}

    def load(self, model: ModelRef, options: LoadOptions) -> LoadResult:
        import onnxruntime
        from optimum.onnxruntime import ORTModelForSpeechSeq2Seq

        provider = provider_for(options.device, onnxruntime.get_available_providers())
        session = onnxruntime.SessionOptions()
        threads = self.threads_for(options) if provider == "CPUExecutionProvider" else None
        if threads:
            session.intra_op_num_threads = threads
        network = ORTModelForSpeechSeq2Seq.from_pretrained(model.path, provider=provider, session_options=session)
        in_use = network.encoder.session.get_providers()[0]
        variant = graph_variant(Path(model.path) / "encoder_model.onnx")
        self._finish_load(network, model.path, {
            "device": "cuda" if in_use == "CUDAExecutionProvider" else "cpu",
            "provider": in_use,
            "dtype": variant,
            "threads": network.encoder.session.get_session_options().intra_op_num_threads or None,
        })
        return LoadResult(requested=options.quantization or "default", actual=variant)
