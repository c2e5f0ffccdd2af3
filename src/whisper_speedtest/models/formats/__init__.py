"""Readers and writers for Whisper weight formats (ct2, hf, openai, mlx, ggml).

- ``ct2``: bounds-checked CTranslate2 model.bin reader, header check, split-part reassembly;
- ``canonical``: openai-whisper-named float16 tensors, dims, validation, fingerprint;
- ``hf`` / ``openai`` / ``mlx`` / ``ggml``: one writer (and reader) per backend format;
- ``convert``: ``convert(ct2_path, fmt, out_path)`` with atomic output.

Heavy libraries (torch, safetensors) are imported inside the functions that need them.
"""
