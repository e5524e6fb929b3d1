"""In-process single-flight: one factory call per key, whatever the provider and its pool do."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cachesim import Cache, ManualClock
from cachesim.gateway.faults import Latency
from cachesim.gateway.server import Gateway, run_gateway
from cachesim.providers.base import Provider

CONCURRENCY = 10_000


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with run_gateway("fakeredis") as gw:
        yield gw


async def stampede(cache: Cache, key: str, n: int) -> tuple[int, set[Any]]:
    """``n`` concurrent get_or_set of one key: (factory calls, distinct results)."""
    calls = 0

    async def factory() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return {"v": 42}

    results = await asyncio.gather(*(cache.get_or_set(key, factory) for _ in range(n)))
    return calls, {repr(r) for r in results}


async def test_one_factory_call_per_provider(
    provider: Provider, namespace: str, clock: ManualClock
) -> None:
    # The default timeout: callers queued behind the connection pool may time out
    # their own read (counted, fail-open); that must never start a second flight.
    cache = Cache(provider, namespace=namespace, clock=clock)
    calls, results = await stampede(cache, "hot", CONCURRENCY)
    assert calls == 1, f"{CONCURRENCY} concurrent misses must call the factory once"
    assert results == {"{'v': 42}"}
    stats = await cache.get_stats(count_keys=False)
    assert stats.hits + stats.misses == CONCURRENCY, "every caller counted once"
    assert stats.errors == 0


async def test_one_factory_call_when_replies_arrive_out_of_order(gateway: Gateway) -> None:
    # Random per-request latency: a read sent before the fill lands may answer after it.
    gateway.faults.set(latency=Latency.lognormal(0.02, 0.8, cap=0.2), seed=5)
    cache = Cache(gateway.provider(), namespace="sf-latency", timeout=1.0)
    try:
        for round_ in range(3):
            calls, results = await stampede(cache, f"hot{round_}", 300)
            assert calls == 1, "late replies to earlier reads must not start a second flight"
            assert results == {"{'v': 42}"}
    finally:
        gateway.faults.clear()
        await cache.disconnect()


async def test_waves_after_the_flight_landed_hit(provider: Provider, namespace: str) -> None:
    cache = Cache(provider, namespace=namespace, timeout=30)
    calls = 0

    def factory() -> int:
        nonlocal calls
        calls += 1
        return 7

    for _ in range(5):
        results = await asyncio.gather(*(cache.get_or_set("k", factory) for _ in range(200)))
        assert set(results) == {7}
    assert calls == 1


async def test_each_waiter_gets_its_own_copy(provider: Provider, namespace: str) -> None:
    cache = Cache(provider, namespace=namespace, timeout=30)
    await cache.set("k", {"list": [1]})
    first, second = await asyncio.gather(
        cache.get_or_set("k", lambda: None), cache.get_or_set("k", lambda: None)
    )
    assert first == second == {"list": [1]}
    first["list"].append(2)
    assert second == {"list": [1]}, "waiters of one flight must not share a mutable value"
    assert await cache.get("k") == {"list": [1]}
