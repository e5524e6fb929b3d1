"""Cache(options=...), tags= and invalidate_tag through the public API on real backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cachesim import Cache, ConfigurationError, EntryOptions
from cachesim.clock import ManualClock
from cachesim.providers import MemoryProvider, RedisProvider
from cachesim.providers.base import Provider
from tests.freshness.conftest import make_provider
from tests.freshness.support import Factory, Switchable

pytestmark = pytest.mark.asyncio


class Boom(Exception):
    """The origin failed."""


@pytest.fixture(params=["memory", "fakeredis", "redis", "upstash", "memcached", "sqlite"])
async def backend(
    request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path, namespace: str
) -> AsyncIterator[Provider]:
    provider = make_provider(request.param, request, clock, tmp_path)
    await provider.initialize()
    try:
        yield provider
    finally:
        await provider.clear(namespace)
        await provider.disconnect()


async def test_every_provider_serves_grace_and_tags(backend: Provider, namespace: str) -> None:
    cache = Cache(backend, namespace=namespace, options=EntryOptions(ttl=60, grace=60))
    assert await cache.get_or_set("k", Factory("v")) == "v"
    assert await cache.get_or_set("k", Factory("other")) == "v"
    await cache.set("t", 1, tags=("x",))
    assert await cache.get("t") == 1
    assert await cache.invalidate_tag("x") is None
    assert await cache.get("t") is None
    stats = await cache.get_stats(count_keys=False)
    assert stats.hits >= 2 and stats.stale_served == 0


async def test_counters_reach_get_stats_and_reset(clock: ManualClock) -> None:
    cache = Cache(MemoryProvider(clock=clock), namespace="n", clock=clock)
    opts = EntryOptions(ttl=10, grace=10)
    await cache.get_or_set("k", Factory("old"), options=opts)
    clock.advance(11)
    await cache.get_or_set("k", Factory("new"), options=opts)
    stats = await cache.get_stats()
    assert stats.stale_served == 1 and stats.background_refreshes == 1
    row = stats.as_dict()
    assert row["stale_served"] == 1 and row["lock_timeouts"] == 0
    assert stats.to_json()["background_refreshes"] == 1
    cache.reset_stats()
    assert (await cache.get_stats()).stale_served == 0
    await cache.disconnect()


async def test_a_plain_get_or_set_reads_an_entry_written_with_options(clock: ManualClock) -> None:
    cache = Cache(MemoryProvider(clock=clock), namespace="n", clock=clock)
    await cache.set("k", {"a": 1}, options=EntryOptions(ttl=10, grace=100))
    factory = Factory("new")
    assert await cache.get_or_set("k", factory) == {"a": 1}
    assert factory.calls == 0
    clock.advance(10)
    assert await cache.get_or_set("k", factory) == "new", "a stale entry is a plain miss"
    assert (await cache.get_stats()).decode_errors == 0, "an envelope is not a decode error"


async def test_a_hit_with_options_costs_one_command() -> None:
    provider = RedisProvider.fake()
    cache = Cache(provider, namespace="n", options=EntryOptions(ttl=60, grace=60, fail_safe=60))
    await cache.get_or_set("k", Factory("v"))
    provider.commands.clear()
    assert await cache.get_or_set("k", Factory("x")) == "v"
    assert dict(provider.commands) == {"GET": 1}, "a hit must stay one GET"
    await cache.set("t", 1, tags=("a", "b"))
    provider.commands.clear()
    assert await cache.get("t") == 1
    assert dict(provider.commands) == {"GET": 1, "MGET": 1}, "a tagged read adds one MGET"


async def test_delete_drops_the_process_copy(clock: ManualClock) -> None:
    backend = Switchable(MemoryProvider(clock=clock))
    cache = Cache(backend, namespace="n", clock=clock, breaker_threshold=1000)
    opts = EntryOptions(ttl=10, fail_safe=60)
    await cache.get_or_set("k", Factory("good"), options=opts)
    await cache.delete("k")
    backend.down = True
    with pytest.raises(Boom):
        await cache.get_or_set("k", Factory(error=Boom()), options=opts)


async def test_options_are_checked_at_construction_and_per_call(clock: ManualClock) -> None:
    from cachesim.providers.proxy import ProviderProxy

    class NoLocks(ProviderProxy):
        capabilities = frozenset()  # type: ignore[assignment]

    with pytest.raises(ConfigurationError, match="lock='distributed'"):
        Cache(NoLocks(MemoryProvider(clock=clock)), options=EntryOptions(lock="distributed"))
    cache = Cache(MemoryProvider(clock=clock))
    with pytest.raises(ConfigurationError, match="EntryOptions"):
        await cache.get_or_set("k", Factory(), options={"ttl": 5})  # type: ignore[arg-type]
