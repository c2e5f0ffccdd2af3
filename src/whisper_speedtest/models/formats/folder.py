"""Reading a model folder made of ``config.json`` and one safetensors file (the hf and mlx layouts)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...errors import ModelFormatError


def read_config_and_safetensors(model_dir: Path, weights_file: str, kind: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(config, arrays) of ``model_dir``; anything unreadable is a :class:`ModelFormatError` naming ``kind``."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        arrays = load_file(str(model_dir / weights_file))
    except (OSError, json.JSONDecodeError, SafetensorError) as exc:
        raise ModelFormatError(f"{model_dir}: not a readable {kind} model ({exc})") from None
    return config, arrays
