"""Managed backend environments: a virtual environment of its own for a backend whose libraries cannot
share the main one's (optimum's transformers pin, lightning-whisper-mlx's tiktoken pin), or for a pinned
version of a library (``-b faster-whisper==1.1.1``).

- ``spec``: what an environment holds (this tool at this version, the backend's extras, pins) and its folder;
- ``state``: whether it is present, missing or broken (and why), read without changing anything;
- ``build``: making it with uv (or venv + pip where uv is missing), atomically;
- ``spawn``: a ``multiprocessing`` context whose children run that environment's interpreter.
"""
