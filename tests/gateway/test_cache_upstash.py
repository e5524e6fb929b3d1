"""Cache over UpstashProvider (the official async client) over the gateway, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cachesim import NO_EXPIRY, Cache
from cachesim.gateway.server import Gateway
from cachesim.providers import UpstashProvider


@pytest.fixture
async def cache(gateway: Gateway) -> AsyncIterator[Cache]:
    provider = gateway.provider()
    made = Cache(provider, namespace=f"ns{uuid.uuid4().hex[:8]}", default_ttl=60, timeout=2.0)
    async with made:
        yield made


VALUES: list[Any] = [
    {"id": 1, "name": "héllo ✓", "tags": ["a", "b"], "nested": {"x": None}},
    [1, 2.5, True, None, "x"],
    "plain text",
    "OK",
    0,
    None,
    False,
    "",
]


async def test_values_round_trip(cache: Cache) -> None:
    for index, value in enumerate(VALUES):
        assert await cache.set(f"v{index}", value) is True
    for index, value in enumerate(VALUES):
        got = await cache.get(f"v{index}", default="MISS")
        assert got == value
        assert type(got) is type(value)
        assert await cache.has(f"v{index}")
    assert await cache.get("absent", default="MISS") == "MISS"
    assert not await cache.has("absent")
    assert (await cache.get_stats()).errors == 0


async def test_bulk_operations(cache: Cache) -> None:
    assert await cache.set_many({"a": 1, "b": {"two": 2}, "c": [3]}) is True
    assert await cache.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": {"two": 2}, "c": [3]}
    assert await cache.delete_many(["a", "c", "missing"]) == 2
    assert await cache.get_many(["a", "b", "c"]) == {"b": {"two": 2}}
    assert await cache.delete("b") is True
    assert await cache.delete("b") is False


async def test_ttl_is_applied(cache: Cache, gateway: Gateway) -> None:
    await cache.set("short", "x", ttl=0.2)
    await cache.set("forever", "y", ttl=NO_EXPIRY)
    raw = gateway.client()
    try:
        assert 0 < raw.pttl(f"{cache.namespace}:short") <= 200
        assert raw.ttl(f"{cache.namespace}:forever") == -1
    finally:
        raw.close()
    await asyncio.sleep(0.3)
    assert await cache.get("short") is None
    assert await cache.get("forever") == "y"


async def test_get_or_set_single_flight(cache: Cache) -> None:
    calls = 0

    async def load() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return {"loaded": calls}

    results = await asyncio.gather(*(cache.get_or_set("user:1", load) for _ in range(10)))
    assert calls == 1
    assert results == [{"loaded": 1}] * 10
    assert await cache.get_or_set("user:1", load) == {"loaded": 1}
    assert calls == 1
    assert await cache.get_or_set("sync", lambda: "from a sync factory") == "from a sync factory"


async def test_invalidate_pattern_and_clear_stay_in_the_namespace(
    cache: Cache, gateway: Gateway
) -> None:
    other = Cache(gateway.provider(), namespace=cache.namespace + "x", default_ttl=60)
    await other.set("user:1", "other namespace")
    await cache.set_many({f"user:{i}": i for i in range(1200)})
    await cache.set_many({f"org:{i}": i for i in range(5)})
    assert await cache.invalidate_pattern("user:1*") == 1 + 10 + 100 + 200
    assert await cache.has("user:2")
    assert not await cache.has("user:15")
    assert (await cache.get_stats()).keys == 1200 - 311 + 5
    assert await cache.clear() == 1200 - 311 + 5
    assert (await cache.get_stats()).keys == 0
    assert await other.get("user:1") == "other namespace"
    await other.clear()
    await other.disconnect()


async def test_stats_count_commands(cache: Cache) -> None:
    await cache.set("k", 1)
    await cache.get("k")
    await cache.get("missing")
    stats = await cache.get_stats()
    assert (stats.hits, stats.misses, stats.sets) == (1, 1, 1)
    assert stats.provider == "upstash"
    assert stats.provider_stats["commands_by_name"]["GET"] == 2
    assert stats.errors == stats.timeouts == 0


async def test_from_env(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in gateway.env().items():
        monkeypatch.setenv(name, value)
    provider = UpstashProvider.from_env()
    cache = Cache(provider, namespace=f"env{uuid.uuid4().hex[:6]}")
    async with cache:
        assert await cache.set("k", "v")
        assert await cache.get("k") == "v"
        assert gateway.token not in repr(provider)
        assert gateway.token not in repr(cache)
