"""A child's peak RSS is its own: not the parent's high-water mark that Linux hands on through fork and exec."""

import multiprocessing

import numpy as np

from whisper_speedtest.bench.memory_sampler import MemorySampler

MB = 1 << 20


def _child_peak(allocate_mb: int) -> int:
    sampler = MemorySampler().start()
    if allocate_mb:
        block = np.ones(allocate_mb * MB, dtype=np.uint8)  # touched, so resident
        block.sum()
        del block
    sampler.stop()
    return sampler.peak_rss


def test_a_spawned_child_does_not_report_its_parents_memory_as_its_own():
    parent_block = np.ones(800 * MB, dtype=np.uint8)  # the parent is large when it spawns the child
    parent_block.sum()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        idle_peak = pool.apply(_child_peak, (0,))
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        busy_peak = pool.apply(_child_peak, (300,))
    del parent_block
    assert idle_peak < 400 * MB  # a bare interpreter with numpy, nowhere near the parent's 800 MB
    assert busy_peak >= idle_peak + 250 * MB  # the child's own 300 MB peak is still seen
