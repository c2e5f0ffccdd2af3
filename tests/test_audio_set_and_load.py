"""The audio-set fingerprint (what a run transcribed) and the machine-load snapshots with their warning."""

from __future__ import annotations

import hashlib

import numpy as np

from whisper_speedtest.audio import AudioClip
from whisper_speedtest.bench import audio_set
from whisper_speedtest.bench.machine_load import load_warnings, snapshot
from whisper_speedtest.results import LoadSnapshot


def clip(name, seconds, reference, seed):
    samples = np.random.default_rng(seed).standard_normal(int(16000 * seconds)).astype(np.float32)
    return AudioClip(name, f"/x/{name}", samples, reference)


def test_the_fingerprint_is_of_samples_and_references_in_order_not_of_names():
    a, b = clip("a.wav", 1.0, "hello", 1), clip("b.wav", 0.5, "world", 2)
    first = audio_set.of_clips([a, b])
    assert (first.clips, first.duration_s) == (2, 1.5)
    renamed = [AudioClip("x.flac", "/y", a.samples, "hello"), AudioClip("y.flac", "/y", b.samples, "world")]
    assert audio_set.of_clips(renamed).fingerprint == first.fingerprint  # the same audio under other names
    assert audio_set.of_clips([b, a]).fingerprint != first.fingerprint  # order counts
    assert audio_set.of_clips([a, AudioClip("b.wav", "/x", b.samples, "word")]).fingerprint != first.fingerprint
    changed = a.samples.copy()
    changed[100] += 1e-3
    assert audio_set.of_clips([AudioClip("a.wav", "/x", changed, "hello"), b]).fingerprint != first.fingerprint
    assert audio_set.of_clips([]) is None


def test_the_fingerprint_matches_an_independent_sha256():
    a = clip("a.wav", 0.25, "ask not", 3)
    digest = hashlib.sha256(b"whisper-speedtest audio set v1")
    digest.update(len(a.samples).to_bytes(8, "little") + a.samples.astype("<f4").tobytes())
    digest.update(len(b"ask not").to_bytes(8, "little") + b"ask not")
    assert audio_set.of_clips([a]).fingerprint == digest.hexdigest()


def test_a_snapshot_reads_this_machine():
    s = snapshot("start", sample_s=0.05)
    assert s.when == "start" and s.cores and s.cores >= 1
    assert s.load_1m is None or s.load_1m >= 0
    assert s.others_cpu_percent is None or 0 <= s.others_cpu_percent <= 100


def test_load_above_the_core_count_or_busy_others_warn():
    quiet = (LoadSnapshot("start", 0.5, 2, 2400.0, 3.0), LoadSnapshot("end", 0.7, 2, 2400.0, 5.0))
    assert load_warnings(quiet) == []
    loaded = (LoadSnapshot("start", 2.5, 2, None, 90.0), LoadSnapshot("end", 5.1, 2, None, 95.0))
    (line,) = load_warnings(loaded)
    assert line.startswith("busy machine: load average 5.1 above the 2 cores at the end")
    others = (LoadSnapshot("start", 1.0, 4, None, 60.0),)
    assert load_warnings(others) == ["busy machine: other processes used 60 % of the CPU at the start"]
    unknown = (LoadSnapshot("start", None, None, None, None),)
    assert load_warnings(unknown) == []
