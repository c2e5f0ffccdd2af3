"""The audio-set fingerprint: which audio a run transcribed, so only runs on the same audio are compared."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from ..audio import AudioClip
from ..dataset.entries import DatasetSelection
from ..results import AudioSet


def _feed_text(digest, text: str | None) -> None:
    data = (text or "").encode("utf-8", "surrogatepass")  # any str hashes, lone surrogates included
    digest.update(len(data).to_bytes(8, "little"))
    digest.update(data)


def of_clips(clips: Sequence[AudioClip]) -> AudioSet | None:
    """sha256 over each clip's decoded 16 kHz float32 samples and its reference, in order (names left out:
    the same audio under another file name is the same audio)."""
    if not clips:
        return None
    digest = hashlib.sha256(b"whisper-speedtest audio set v1")
    for clip in clips:
        samples = np.ascontiguousarray(clip.samples, dtype="<f4")
        digest.update(samples.size.to_bytes(8, "little"))
        digest.update(samples.tobytes())
        _feed_text(digest, clip.reference)
    return AudioSet(digest.hexdigest(), len(clips), round(sum(c.duration_s for c in clips), 3))


def of_dataset(selection: DatasetSelection | None) -> AudioSet | None:
    """A dataset is decoded in the child: its fingerprint is over each entry's source, name, duration and reference."""
    if selection is None or not selection.entries:
        return None
    digest = hashlib.sha256(b"whisper-speedtest dataset entries v1")
    _feed_text(digest, selection.spec.describe())
    for entry in selection.entries:
        _feed_text(digest, entry.name)
        _feed_text(digest, f"{entry.duration_s:.3f}")
        _feed_text(digest, entry.reference)
    return AudioSet(digest.hexdigest(), len(selection.entries), round(sum(e.duration_s for e in selection.entries), 3),
                    method="dataset entries: source, name, duration and reference text, in order")
