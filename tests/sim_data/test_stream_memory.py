"""Streaming holds one chunk and the per-key state: memory does not grow with the trace."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cachesim.sim import miss_ratio_curve
from cachesim.sim.stream import simulate_stream

KEYS = 5_000
CHUNK = 1 << 15


def _key_trace(path: Path, n: int) -> Path:
    rng = np.random.default_rng(n)
    keys = (rng.zipf(1.2, n) % KEYS).astype(">i8")
    keys.tofile(path)
    return path


def _peak(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak traced allocation (numpy buffers included) while ``fn`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def _warm_up(tmp_path: Path) -> None:
    """Load the compiled kernels first: that is a one-off cost, not the stream's."""
    path = _key_trace(tmp_path / "warm.bin", 1_000)
    miss_ratio_curve(path, [10], read={"format": "int64be"})
    miss_ratio_curve(path, [10], method="shards", read={"format": "int64be"})
    simulate_stream(path, 10, "s3fifo", read={"format": "int64be"})


def test_streamed_curve_memory_stays_flat_as_the_trace_grows(tmp_path: Path) -> None:
    _warm_up(tmp_path)
    read = {"format": "int64be", "chunk_size": CHUNK}
    peaks, frames = [], []
    for n in (500_000, 2_000_000):
        path = _key_trace(tmp_path / f"{n}.bin", n)
        peak, frame = _peak(lambda p=path: miss_ratio_curve(p, [10, 100, 1_000], read=read))
        peaks.append(peak)
        frames.append(frame)
        assert frame.attrs["requests"] == n
        assert frame.attrs["chunks"] == -(-n // CHUNK)  # read in chunks, never whole
    assert peaks[1] < 2_000_000 * 8 / 2  # far below one int64 array of the trace's length
    assert peaks[1] < 1.25 * peaks[0] + (1 << 20), peaks  # 4x the requests, same memory
    for n, frame in zip((500_000, 2_000_000), frames, strict=True):
        assert frame.attrs["distinct_keys"] <= KEYS, n


def test_streamed_shards_and_replay_memory_stays_flat(tmp_path: Path) -> None:
    _warm_up(tmp_path)
    shards, replay = [], []
    for n in (200_000, 800_000):
        path = _key_trace(tmp_path / f"{n}.bin", n)
        read = {"format": "int64be", "chunk_size": 20_000}
        peak, frame = _peak(
            lambda p=path, r=read: miss_ratio_curve(
                p, [10, 100], method="shards", max_samples=500, read=r
            )
        )
        assert frame.attrs["requests"] == n
        shards.append(peak)
        small = n // 8  # the store replay runs at Python speed: a shorter trace
        read = {"format": "int64be", "chunk_size": 5_000}
        path = _key_trace(tmp_path / f"{small}.bin", small)
        peak, result = _peak(lambda p=path, r=read: simulate_stream(p, 1_000, "s3fifo", read=r))
        assert result.requests == small
        replay.append(peak)
    assert shards[1] < 800_000 * 8  # less than the trace's keys alone
    assert shards[1] < 1.25 * shards[0] + (1 << 20), shards
    assert replay[1] < 1.25 * replay[0] + (1 << 20), replay
