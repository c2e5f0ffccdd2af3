"""Helpers shared by the backends that run optimum's exports (ONNX Runtime, OpenVINO)."""
