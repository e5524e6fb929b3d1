"""Backplanes on real parts: Redis pub/sub on redis-server, the polled log through the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis.asyncio

from cachesim import Cache
from cachesim.backplane import PollingBackplane, RedisBackplane, TrackingBackplane
from cachesim.gateway.server import Gateway, run_gateway
from cachesim.providers import MemoryProvider, RedisProvider, TieredProvider, UpstashProvider


async def _until(condition: Callable[[], bool], what: str, *, steps: int = 500) -> None:
    """Wait (event-loop turns with short sleeps) until ``condition`` holds."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting until {what}")


@pytest.fixture(scope="module")
def gateway(redis_url: str) -> Iterator[Gateway]:
    with run_gateway(redis_url) as gw:
        yield gw


def _redis_tiered(url: str, namespace: str, **options: Any) -> TieredProvider:
    return TieredProvider(
        l1=MemoryProvider(max_entries=100),
        l2=RedisProvider.from_url(url),
        backplane=RedisBackplane(url, namespace=namespace, heartbeat=0.05),
        staleness_bound=options.pop("staleness_bound", 1.0),
        **options,
    )


def _upstash_tiered(gw: Gateway, namespace: str) -> TieredProvider:
    return TieredProvider(
        l1=MemoryProvider(max_entries=100),
        l2=UpstashProvider(url=gw.url, token=gw.token),
        backplane=PollingBackplane(interval=0.05, namespace=namespace),
        staleness_bound=0.5,
    )


@pytest.fixture
async def redis_pair(redis_url: str, namespace: str) -> AsyncIterator[tuple[Cache, Cache]]:
    a = Cache(_redis_tiered(redis_url, namespace), namespace=namespace)
    b = Cache(_redis_tiered(redis_url, namespace), namespace=namespace)
    async with a, b:
        yield a, b


def _tier(cache: Cache) -> TieredProvider:
    assert isinstance(cache.provider, TieredProvider)
    return cache.provider


async def _heard(cache: Cache, writer: Any) -> None:
    """Run ``writer`` (another instance's write) and wait until ``cache`` has heard it.

    A change that arrives while a read is out at L2 (correctly) stops that read
    from filling L1, so tests that count L1 hits let the message land first.
    """
    before = _tier(cache).backplane.stats()["backplane_messages"]
    await writer
    await _until(
        lambda: _tier(cache).backplane.stats()["backplane_messages"] > before,
        "the other instance hears the change",
    )


async def _l1_usable(cache: Cache) -> None:
    tier = _tier(cache)
    await _until(tier.l1_active, "the backplane is in touch")


async def test_redis_pubsub_invalidates_the_other_l1(redis_pair: tuple[Cache, Cache]) -> None:
    a, b = redis_pair
    await _l1_usable(a)
    await _l1_usable(b)
    await _heard(b, a.set("k", "v1"))
    assert await b.get("k") == "v1"
    assert await b.get("k") == "v1"
    assert _tier(b).l1_hits == 1, "the second read is an L1 hit"
    before = _tier(b).backplane.stats()["backplane_messages"]
    await a.set("k", "v2")
    await _until(
        lambda: _tier(b).backplane.stats()["backplane_messages"] > before, "b hears a's set"
    )
    assert await b.get("k") == "v2", "the message must have dropped b's L1 copy"
    assert _tier(a).backplane.stats()["backplane_messages"] == 0, "a ignores its own messages"


async def test_killed_subscription_reconnects_and_drops_l1(
    redis_pair: tuple[Cache, Cache], redis_url: str
) -> None:
    a, b = redis_pair
    await _l1_usable(b)
    await _heard(b, a.set("k", "v1"))
    assert await b.get("k") == "v1"
    tier = _tier(b)
    assert len(tier.l1.store) == 1
    resets = tier.l1_resets
    admin = redis.asyncio.Redis.from_url(redis_url)
    try:
        killed = await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    finally:
        await admin.aclose()
    assert killed >= 2
    await _until(lambda: tier.backplane.stats()["backplane_reconnects"] >= 1, "b resubscribes")
    assert tier.l1_resets > resets, "after a lost subscription L1 must be dropped"
    await _l1_usable(b)
    await b.get("k")
    before = tier.backplane.stats()["backplane_messages"]
    await a.set("k", "v2")
    await _until(lambda: tier.backplane.stats()["backplane_messages"] > before, "b hears again")
    assert await b.get("k") == "v2"


async def test_polling_backplane_through_the_gateway(gateway: Gateway, namespace: str) -> None:
    a = Cache(_upstash_tiered(gateway, namespace), namespace=namespace)
    b = Cache(_upstash_tiered(gateway, namespace), namespace=namespace)
    async with a, b:
        await _l1_usable(a)
        await _l1_usable(b)
        await _heard(b, a.set("k", "v1"))
        assert await b.get("k") == "v1"
        assert await b.get("k") == "v1"
        assert _tier(b).l1_hits == 1
        before = _tier(b).backplane.stats()["backplane_messages"]
        await a.invalidate_pattern("k*")
        await _until(
            lambda: _tier(b).backplane.stats()["backplane_messages"] > before, "b polls the log"
        )
        assert await b.get("k") is None, "the polled change must drop b's L1 copy"
        commands = (await b.get_stats()).provider_stats["commands_by_name"]
        assert commands.get("XRANGE", 0) >= 1, "polls are counted as L2 commands"


async def test_polling_survives_an_outage(gateway: Gateway, namespace: str) -> None:
    a = Cache(_upstash_tiered(gateway, namespace), namespace=namespace)
    b = Cache(_upstash_tiered(gateway, namespace), namespace=namespace)
    async with a, b:
        await _l1_usable(b)
        await _heard(b, a.set("k", "v1"))
        assert await b.get("k") == "v1"
        tier = _tier(b)
        assert len(tier.l1.store) == 1
        gateway.faults.set(error=1.0)
        try:
            await _until(lambda: not tier.l1_active(), "b notices the lost backplane")
            assert tier.backplane_losses == 1
            assert len(tier.l1.store) == 0, "L1 must be dropped once the bound is exceeded"
            assert await b.get("k") is None, "with L2 down too, the cache fails open (a miss)"
        finally:
            gateway.faults.clear()
        await _until(lambda: tier.backplane.stats()["backplane_reconnects"] >= 1, "b polls again")
        await _l1_usable(b)
        await a.set("k", "v2")
        assert await b.get("k") == "v2"


async def test_a_write_and_its_log_entry_are_one_request(gateway: Gateway, namespace: str) -> None:
    provider = TieredProvider(
        l1=MemoryProvider(max_entries=100),
        l2=UpstashProvider(url=gateway.url, token=gateway.token),
        backplane=PollingBackplane(interval=30.0, namespace=namespace),  # no poll meanwhile
        staleness_bound=60.0,
    )
    cache = Cache(provider, namespace=namespace)
    async with cache:
        await _l1_usable(cache)
        before = gateway.faults.requests
        assert await cache.set("k", 1) is True
        assert await cache.delete_many(["k", "j"]) == 1
        assert gateway.faults.requests - before == 2, "each write must be one HTTP request"
        commands = (await cache.get_stats()).provider_stats["commands_by_name"]
        assert commands["XADD"] == 2 and commands["SET"] == 1 and commands["UNLINK"] == 1


async def test_tracking_backplane_hears_any_client(redis_url: str, namespace: str) -> None:
    """CLIENT TRACKING BCAST: even a write by a client outside the cache drops L1 copies."""
    provider = TieredProvider(
        l1=MemoryProvider(max_entries=100),
        l2=RedisProvider.from_url(redis_url),
        backplane=TrackingBackplane(redis_url, prefixes=(namespace + ":",), heartbeat=0.05),
        staleness_bound=1.0,
    )
    cache = Cache(provider, namespace=namespace)
    outsider = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        async with cache:
            await _l1_usable(cache)
            await _heard(cache, outsider.set(f"{namespace}:k", '"v1"'))
            assert await cache.get("k") == "v1"
            assert await cache.get("k") == "v1"
            assert provider.l1_hits == 1
            await _heard(cache, outsider.set(f"{namespace}:k", '"v2"'))
            assert await cache.get("k") == "v2", "an outside write must drop the L1 copy"
            resets = provider.l1_resets
            await outsider.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            await _until(
                lambda: provider.backplane.stats()["backplane_reconnects"] >= 1, "tracking is back"
            )
            assert provider.l1_resets > resets, "rebuilt tracking must drop L1"
            await _l1_usable(cache)
            await cache.get("k")
            await _heard(cache, outsider.delete(f"{namespace}:k"))
            assert await cache.get("k") is None
    finally:
        await outsider.aclose()
