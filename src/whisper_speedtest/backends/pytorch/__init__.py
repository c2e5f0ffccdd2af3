"""Helpers shared by the PyTorch-based backends (openai-whisper, transformers): device, dtype, threads."""
