"""Readers and writers for Whisper weight formats (ct2, hf, openai, mlx, ggml)."""
