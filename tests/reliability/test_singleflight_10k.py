"""Reliability figures: factory calls for 10,000 concurrent get_or_set of one key, per provider.

Memory, fakeredis, a real redis-server (the default blocking pool of 50
connections and the default 1 s timeout, so most callers queue behind the pool)
and Upstash through the gateway (with and without random per-request latency).
In-process single-flight must call the factory exactly once on each.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from cachesim import Cache
from cachesim.gateway.faults import Latency
from cachesim.gateway.server import Gateway
from cachesim.providers import MemoryProvider, RedisProvider
from cachesim.providers.base import Provider

CONCURRENCY = 10_000
# Through the gateway every caller's own read is an HTTP request: fewer callers.
HTTP_CONCURRENCY = 1_000


@pytest.fixture(scope="module")
def singleflight_figures(reliability_report: Any) -> Iterator[dict[str, Any]]:
    figures: dict[str, Any] = {"callers": {}, "factory_calls": {}}
    yield figures
    calls = figures["factory_calls"]
    if calls:
        shown = ", ".join(
            f"{name} {n} (of {figures['callers'][name]:,} callers)" for name, n in calls.items()
        )
        line = f"single-flight: factory calls for concurrent get_or_set of one key: {shown}"
        reliability_report.record("single_flight", figures, line)


@pytest.fixture(params=["memory", "fakeredis", "redis", "upstash-gateway", "upstash-latency"])
async def sf_provider(
    request: pytest.FixtureRequest, gateway: Gateway
) -> AsyncIterator[tuple[str, Provider]]:
    name = request.param
    if name == "memory":
        provider: Provider = MemoryProvider()
    elif name == "fakeredis":
        provider = RedisProvider.fake()
    elif name == "redis":
        provider = RedisProvider.from_url(request.getfixturevalue("redis_url"))
    else:
        if name == "upstash-latency":
            gateway.faults.set(latency=Latency.lognormal(0.02, 0.8, cap=0.3), seed=11)
        provider = gateway.provider()
    try:
        yield name, provider
    finally:
        await provider.disconnect()


async def test_one_factory_call_at_10k(
    sf_provider: tuple[str, Provider], singleflight_figures: dict[str, Any]
) -> None:
    name, provider = sf_provider
    cache = Cache(provider, namespace=f"sf{uuid.uuid4().hex[:8]}")  # the default timeout
    calls = 0

    async def factory() -> dict[str, str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return {"computed": "once"}

    n = HTTP_CONCURRENCY if name.startswith("upstash") else CONCURRENCY
    results = await asyncio.gather(*(cache.get_or_set("hot", factory) for _ in range(n)))
    singleflight_figures["factory_calls"][name] = calls
    singleflight_figures["callers"][name] = n
    print(f"single-flight {name}: {calls} factory call(s) for {n} callers")
    assert calls == 1, f"{n} concurrent get_or_set on {name} must call the factory once"
    assert all(r == {"computed": "once"} for r in results)
    assert len({id(r) for r in results}) == n, "every caller gets its own copy"
