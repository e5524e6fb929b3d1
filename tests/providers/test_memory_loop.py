"""The memory provider never blocks the event loop: bulk work runs in chunks that yield.

Asserted by mechanism, not by wall time: a ticker task counts how often the loop
ran it while one bulk operation was in progress, and how much store work happened
between two of its turns.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from cachesim import Cache, ManualClock
from cachesim.providers import MemoryProvider
from cachesim.providers.memory import LOOP_CHUNK

T = TypeVar("T")

N = 10 * LOOP_CHUNK  # enough keys for ten chunks


class Ticker:
    """A task that runs once per event-loop turn it is given, recording a meter each time."""

    def __init__(self, meter: Callable[[], int] = lambda: 0) -> None:
        self.meter = meter
        self.readings: list[int] = []
        self._stop = False

    async def run(self, work: Awaitable[T]) -> T:
        """Await ``work`` while ticking; only turns taken during ``work`` are kept."""

        async def tick() -> None:
            while not self._stop:
                self.readings.append(self.meter())
                await asyncio.sleep(0)

        task = asyncio.create_task(tick())
        await asyncio.sleep(0)  # let the ticker take its first turn
        self.readings.clear()
        try:
            return await work
        finally:
            self._stop = True
            await task

    @property
    def turns(self) -> int:
        """Turns the ticker got while the work ran."""
        return len(self.readings)

    def max_work_between_turns(self, total: int) -> int:
        """Largest meter increase between two turns (counting the start and the end)."""
        marks = [0, *self.readings, total]
        return max(b - a for a, b in itertools.pairwise(marks))


def _provider(clock: ManualClock) -> MemoryProvider:
    return MemoryProvider(clock=clock, sweep_interval=None)


def _fill(provider: MemoryProvider, n: int, prefix: str = "ns:k", ttl: float | None = None) -> None:
    now = provider.clock.now()
    for i in range(n):
        provider.store.put(f"{prefix}{i}", f"v{i}", None if ttl is None else now + ttl, now)


def _count_calls(provider: MemoryProvider, method: str) -> Callable[[], int]:
    """Count calls of ``provider.store.<method>`` (an instance attribute shadows the method)."""
    original = getattr(provider.store, method)
    calls = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    setattr(provider.store, method, counted)
    return lambda: calls[0]


@pytest.mark.parametrize("operation", ["invalidate_pattern", "clear"])
async def test_bulk_removal_yields_between_bounded_chunks(operation: str) -> None:
    provider = _provider(ManualClock(100.0))
    _fill(provider, N)
    deletes = _count_calls(provider, "delete")
    ticker = Ticker(deletes)
    if operation == "clear":
        removed = await ticker.run(provider.clear("ns"))
    else:
        removed = await ticker.run(provider.invalidate_pattern("ns:k*"))
    assert removed == N
    assert len(provider.store) == 0
    assert ticker.turns >= N // LOOP_CHUNK - 1, (
        f"{operation} over {N} keys must let other tasks run between chunks "
        f"(ticker ran {ticker.turns} times)"
    )
    assert ticker.max_work_between_turns(deletes()) <= LOOP_CHUNK, (
        f"{operation} must delete at most {LOOP_CHUNK} keys between two loop turns"
    )


async def test_key_count_yields_between_chunks() -> None:
    provider = _provider(ManualClock(100.0))
    _fill(provider, N)
    ticker = Ticker()
    assert await ticker.run(provider.count("ns:k*")) == N
    assert ticker.turns >= N // LOOP_CHUNK - 1, "count over a huge map must yield between chunks"


async def test_cache_stats_key_count_yields() -> None:
    provider = _provider(ManualClock(100.0))
    cache = Cache(provider, namespace="ns")
    _fill(provider, N)
    ticker = Ticker()
    stats = await ticker.run(cache.get_stats())
    assert stats.keys == N
    assert ticker.turns >= N // LOOP_CHUNK - 1, "get_stats' key count must yield between chunks"


async def test_expiry_sweep_yields_between_bounded_batches() -> None:
    clock = ManualClock(100.0)
    provider = _provider(clock)
    _fill(provider, N, ttl=1)
    _fill(provider, 10, prefix="live:", ttl=1000)
    clock.advance(5)
    purged = [0]
    original = provider.store.purge_expired

    def metered(now: float, limit: int | None = None) -> int:
        assert limit is not None and limit <= LOOP_CHUNK, "every sweep batch is bounded"
        n = original(now, limit)
        purged[0] += n
        return n

    provider.store.purge_expired = metered  # type: ignore[method-assign]
    ticker = Ticker(lambda: purged[0])
    assert await ticker.run(provider.sweep_async()) == N
    assert len(provider.store) == 10, "live entries survive the sweep"
    assert ticker.turns >= N // LOOP_CHUNK - 1, "the sweep must yield between batches"
    assert ticker.max_work_between_turns(purged[0]) <= LOOP_CHUNK


async def test_background_sweep_task_yields() -> None:
    clock = ManualClock(100.0)
    provider = MemoryProvider(clock=clock, sweep_interval=0.001)
    _fill(provider, N, ttl=1)
    clock.advance(5)
    purged = [0]
    original = provider.store.purge_expired

    def metered(now: float, limit: int | None = None) -> int:
        n = original(now, limit)
        purged[0] += n
        return n

    provider.store.purge_expired = metered  # type: ignore[method-assign]
    readings = [0]
    await provider.initialize()
    try:
        for _ in range(1_000_000):
            if not len(provider.store):
                break
            await asyncio.sleep(0)
            readings.append(purged[0])
        assert len(provider.store) == 0, "the background sweep purged every expired entry"
        most = max(b - a for a, b in itertools.pairwise(readings))
        assert most <= LOOP_CHUNK, (
            f"the background sweep must yield every {LOOP_CHUNK} entries (it purged {most} "
            "between two turns of another task)"
        )
    finally:
        await provider.disconnect()


@pytest.mark.parametrize("operation", ["invalidate_pattern", "clear"])
async def test_writes_during_bulk_removal_survive(operation: str) -> None:
    """A key written after the removal started is a newer value: it is kept."""
    provider = _provider(ManualClock(100.0))
    _fill(provider, N)
    rewritten = [f"ns:k{i}" for i in range(0, N, 7)]
    deleted_meanwhile = [f"ns:k{i}" for i in range(3, N, 7)]

    async def writer() -> None:
        await asyncio.sleep(0)  # the removal has started (its first chunk is done)
        for key in rewritten:
            await provider.set(key, "fresh", None)
        await provider.set("ns:brand-new", "fresh", None)
        await provider.delete_many(deleted_meanwhile)

    task = asyncio.create_task(writer())
    if operation == "clear":
        removed = await provider.clear("ns")
    else:
        removed = await provider.invalidate_pattern("ns:*")
    await task
    survivors = set(provider.store.keys(provider.clock.now()))
    assert survivors == {*rewritten, "ns:brand-new"}, (
        f"{operation}: keys rewritten after it started survive, every other key is gone"
    )
    assert all(provider.store.peek(k, 0) == "fresh" for k in survivors)
    assert removed <= N - len(deleted_meanwhile), "keys deleted by someone else are not counted"
    assert removed >= N - len(rewritten) - len(deleted_meanwhile)


async def test_rewritten_expired_key_survives_the_sweep() -> None:
    clock = ManualClock(100.0)
    provider = _provider(clock)
    _fill(provider, N, ttl=1)
    clock.advance(5)
    late = f"ns:k{N - 1}"

    async def writer() -> None:
        await asyncio.sleep(0)
        await provider.set(late, "fresh", 1000)

    task = asyncio.create_task(writer())
    await provider.sweep_async()
    await task
    assert await provider.get(late) == "fresh", "a key re-set during the sweep keeps its new TTL"
    assert len(provider.store) == 1
