"""Max event-loop lag of the memory provider's bulk operations at 1,000,000 keys.

A monitor task takes a turn whenever the loop lets it; the longest gap between two of
its turns while an operation runs is that operation's max loop lag.  The figures are
printed (target: 20 ms, see bench/bench_loop.py for the comparison with peers); the
assertion is the mechanism, so a busy machine cannot fail it: the monitor got a turn
between every two chunks.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from cachesim import Cache, ManualClock
from cachesim.providers import MemoryProvider
from cachesim.providers.memory import LOOP_CHUNK

KEYS = 1_000_000


async def _lag(work: Callable[[], Awaitable[Any]]) -> tuple[float, int]:
    """(longest gap between the monitor's turns in seconds, turns) while ``work`` runs."""
    done = False
    worst, turns = 0.0, 0

    async def monitor() -> None:
        nonlocal worst, turns
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            worst, turns = max(worst, now - last), turns + 1
            last = now

    task = asyncio.create_task(monitor())
    await asyncio.sleep(0)
    await work()
    done = True
    await task
    return worst, turns


def _fill(provider: MemoryProvider, ttl: float | None) -> None:
    put, now = provider.store.put, provider.clock.now()
    expires = None if ttl is None else now + ttl
    for i in range(KEYS):
        put(f"lag:k{i}", "v", expires, now)
    gc.collect()  # the collection a million new objects owe is the fill's, not the operation's


@pytest.mark.slow
async def test_max_loop_lag_at_a_million_keys(reliability_report: Any) -> None:
    clock = ManualClock(0.0)
    provider = MemoryProvider(clock=clock, sweep_interval=None)
    cache = Cache(provider, namespace="lag")
    figures: dict[str, float] = {}
    turns: dict[str, int] = {}

    _fill(provider, ttl=60)
    figures["count (get_stats keys)"], turns["count"] = await _lag(cache.get_stats)
    figures["clear"], turns["clear"] = await _lag(cache.clear)
    assert len(provider.store) == 0
    _fill(provider, ttl=60)
    figures["invalidate_pattern"], turns["invalidate_pattern"] = await _lag(
        lambda: cache.invalidate_pattern("k*")
    )
    assert len(provider.store) == 0
    _fill(provider, ttl=60)
    clock.advance(61)
    figures["expiry sweep"], turns["sweep"] = await _lag(provider.sweep_async)
    assert len(provider.store) == 0

    chunks = KEYS // LOOP_CHUNK
    for name, count in turns.items():
        assert count >= chunks - 1, f"{name}: another task must run between every two chunks"
    shown = {name: round(seconds * 1000, 1) for name, seconds in figures.items()}
    load = round(os.getloadavg()[0], 1)  # on a busy machine the scheduler's pauses count too
    reliability_report.record(
        "loop_lag_memory_1m",
        {
            "keys": KEYS,
            "chunk": LOOP_CHUNK,
            "max_lag_ms": shown,
            "target_ms": 20,
            "load_average": load,
            "cpus": os.cpu_count(),
        },
        "memory provider max loop lag at 1M keys (target 20 ms): "
        + ", ".join(f"{name} {ms} ms" for name, ms in shown.items())
        + f" (load average {load} on {os.cpu_count()} CPUs)",
    )
