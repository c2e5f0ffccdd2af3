"""The Swift-only backends (macOS): WhisperKit and FluidAudio, each run through a small Swift bridge binary."""
