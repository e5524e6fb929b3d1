"""TraceRecorder: traffic of a running Cache becomes a trace that replays like the cache ran."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np

from cachesim import Cache, ManualClock
from cachesim.providers import MemoryProvider
from cachesim.sim import OP_DELETE, OP_GET, OP_SET, TraceRecorder, load_trace, simulate


async def test_records_reads_fills_writes_and_invalidations(tmp_path: Path) -> None:
    clock = ManualClock(1_000.0)
    cache = Cache(
        MemoryProvider(max_entries=10, clock=clock, sweep_interval=None),
        namespace="app",
        default_ttl=60,
    )
    with TraceRecorder(cache, path=tmp_path / "traffic.csv") as recorder:
        async with cache:
            await cache.get_or_set("user:1", lambda: {"id": 1})  # miss + fill (folded)
            clock.advance(1)
            await cache.get_or_set("user:1", lambda: {"id": 1})  # hit
            await cache.set("user:2", "x" * 10, ttl=5)  # plain write
            await cache.get("nobody")  # miss without a fill
            await cache.delete("user:2")
            await cache.set("user:3", 3)
            await cache.invalidate_pattern("user:*")  # expands to the cached user keys
            await cache.clear()  # nothing left to expand to
        assert len(recorder) == 8
    w = recorder.to_workload()
    assert w.original_keys().tolist() == [
        "user:1",
        "user:1",
        "user:2",
        "nobody",
        "user:2",
        "user:3",
        "user:1",
        "user:3",
    ]
    assert w.op is not None
    assert w.op.tolist() == [OP_GET, OP_GET, OP_SET, OP_GET, OP_DELETE, OP_SET] + [OP_DELETE] * 2
    assert w.ttl is not None and w.ttl[0] == 60.0 and w.ttl[2] == 5.0 and math.isnan(w.ttl[3])
    assert w.size is not None and w.size[2] == w.size[4] == 12  # JSON-encoded "x" * 10
    assert w.times.tolist()[:2] == [0.0, 1.0]
    back = load_trace(tmp_path / "traffic.csv")
    assert back == w


async def test_replaying_a_recording_reproduces_the_memory_provider() -> None:
    """A simulation of the memory provider is the memory provider: same hits, same misses."""
    clock = ManualClock(0.0)
    provider = MemoryProvider(max_entries=50, policy="lru", clock=clock, sweep_interval=None)
    cache = Cache(provider, namespace="app", default_ttl=30)
    recorder = TraceRecorder(cache)
    rng = random.Random(3)
    weights = [1 / (i + 1) for i in range(400)]
    async with cache:
        for _ in range(5_000):
            clock.advance(rng.random() * 0.1)
            key = f"item:{rng.choices(range(400), weights)[0]}"
            if rng.random() < 0.05:
                await cache.delete(key)
            else:
                await cache.get_or_set(key, lambda: 1, ttl=rng.choice([None, 5.0]))
    recorder.close()
    stats = await cache.get_stats()
    replay = simulate(recorder.to_workload(), 50, "lru", engine="python")
    assert (replay.hits, replay.misses) == (stats.hits, stats.misses)
    assert replay.evictions == provider.store.evictions
    fast = simulate(recorder.to_workload(), 50, "lru")
    assert (fast.hits, fast.misses) == (stats.hits, stats.misses)


async def test_unsubscribes_on_close() -> None:
    cache = Cache(MemoryProvider(sweep_interval=None), namespace="n")
    recorder = TraceRecorder(cache)
    await cache.get("a")
    recorder.close()
    await cache.get("b")
    assert len(recorder) == 1
    recorder.attach(cache)
    await cache.get("c")
    assert np.array_equal(recorder.to_workload().original_keys(), np.array(["a", "c"], object))
