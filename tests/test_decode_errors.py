"""Corrupt or foreign stored text is a miss: counted, logged once, recomputed by get_or_set."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from cachesim import Cache, ManualClock
from cachesim.gateway.server import Gateway, run_gateway
from cachesim.providers import RedisProvider, SQLiteProvider
from cachesim.providers.base import Provider

# Text another application (or an older version, or a truncated write) left under our keys.
FOREIGN = [
    "not json at all",
    '{"truncated": [1, 2',
    "b64:***not base64***",
    "j:{broken",
    "j:" + "[" * 5000 + "]" * 5000,
    "",
]


@pytest.fixture
async def cache(provider: Provider, namespace: str, clock: ManualClock) -> Cache:
    return Cache(provider, namespace=namespace, default_ttl=60, clock=clock)


async def _plant(cache: Cache, key: str, text: str) -> None:
    """Write raw text under the namespaced key, bypassing the codec."""
    await cache.provider.set(f"{cache.namespace}:{key}", text, 60.0)


@pytest.mark.parametrize("text", FOREIGN, ids=range(len(FOREIGN)))
async def test_get_of_undecodable_text_is_a_counted_miss(cache: Cache, text: str) -> None:
    await _plant(cache, "k", text)
    assert await cache.get("k", "default") == "default", "undecodable text must read as a miss"
    stats = await cache.get_stats(count_keys=False)
    if text == "":
        return  # some providers store "" faithfully, others as a miss: either way, a miss
    assert stats.decode_errors == 1, "each undecodable read is counted in decode_errors"
    assert (stats.hits, stats.misses, stats.errors) == (0, 1, 0), (
        "a decode error is a miss, never a backend error"
    )
    assert stats.as_dict()["decode_errors"] == 1
    assert stats.breaker_state == "closed"


async def test_get_many_skips_undecodable_entries(cache: Cache) -> None:
    await cache.set("good", {"v": 1})
    await _plant(cache, "bad", "{nope")
    assert await cache.get_many(["good", "bad", "absent"]) == {"good": {"v": 1}}
    stats = await cache.get_stats(count_keys=False)
    assert (stats.hits, stats.misses, stats.decode_errors, stats.errors) == (1, 2, 1, 0)


async def test_get_or_set_recomputes_and_overwrites(cache: Cache) -> None:
    await _plant(cache, "k", "{corrupt")
    calls: list[int] = []

    def factory() -> dict[str, int]:
        calls.append(1)
        return {"fresh": 1}

    assert await cache.get_or_set("k", factory) == {"fresh": 1}
    assert await cache.get_or_set("k", factory) == {"fresh": 1}
    assert len(calls) == 1, "the recomputed value must overwrite the corrupt entry"
    assert await cache.get("k") == {"fresh": 1}
    stats = await cache.get_stats(count_keys=False)
    assert stats.decode_errors == 1
    assert stats.errors == 0


async def test_decode_errors_never_open_the_breaker(cache: Cache) -> None:
    await cache.set("good", 1)
    for i in range(20):
        await _plant(cache, f"bad{i}", "<html>")
        assert await cache.get(f"bad{i}") is None
    assert await cache.get("good") == 1, "corrupt entries must not make good keys miss"
    assert (await cache.get_stats(count_keys=False)).breaker_state == "closed"


async def test_logged_once_per_state_change(cache: Cache, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cachesim")
    await _plant(cache, "bad", "{x")
    await cache.set("good", 1)

    def decode_logs() -> list[Any]:
        return [r for r in caplog.records if "decode" in r.getMessage()]

    for _ in range(5):
        await cache.get("bad")
    assert len(decode_logs()) == 1, "a run of decode errors is logged once"
    await cache.get("good")
    for _ in range(5):
        await cache.get("bad")
    assert len(decode_logs()) == 3, "recovery and the next failure are each logged once"
    warning = decode_logs()[0]
    assert warning.levelno == logging.WARNING
    assert "{x" not in warning.getMessage(), "stored text is never logged"


async def test_non_utf8_bytes_on_a_real_server_are_a_miss(redis_url: str, namespace: str) -> None:
    import redis.asyncio

    raw = redis.asyncio.Redis.from_url(redis_url)
    cache = Cache(RedisProvider.from_url(redis_url), namespace=namespace)
    try:
        await raw.set(f"{namespace}:bin", b"\xff\xfe\x00binary")
        await cache.set("good", "ok")
        assert await cache.get("bin", "default") == "default"
        assert await cache.get_many(["bin", "good"]) == {"good": "ok"}
        assert await cache.get_or_set("bin", lambda: "fresh") == "fresh"
        assert await cache.get("bin") == "fresh", "get_or_set overwrites the foreign bytes"
        stats = await cache.get_stats(count_keys=False)
        assert stats.errors == 0, "foreign bytes are a decode error, not a backend fault"
        assert stats.decode_errors == 3
    finally:
        await raw.aclose()
        await cache.disconnect()


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    with run_gateway("fakeredis") as gw:
        yield gw


@pytest.fixture(params=["fakeredis", "redis", "upstash-gateway"])
async def redis_like(request: pytest.FixtureRequest) -> AsyncIterator[Provider]:
    """Providers on a Redis server, where another application can store a hash."""
    if request.param == "fakeredis":
        provider: Provider = RedisProvider.fake()
    elif request.param == "redis":
        provider = RedisProvider.from_url(request.getfixturevalue("redis_url"))
    else:
        provider = request.getfixturevalue("gateway").provider()
    try:
        yield provider
    finally:
        await provider.disconnect()


async def test_a_foreign_redis_type_is_a_miss_not_a_fault(
    redis_like: Provider, namespace: str
) -> None:
    cache = Cache(redis_like, namespace=namespace, breaker_threshold=3)
    client: Any = redis_like.client  # type: ignore[attr-defined]
    for i in range(5):
        await client.hset(f"{namespace}:h{i}", "field", "value")
        assert await cache.get(f"h{i}", "default") == "default"
    assert await cache.get_many(["h0", "h1"]) == {}
    assert await cache.get_or_set("h0", lambda: "fresh") == "fresh"
    assert await cache.get("h0") == "fresh", "get_or_set overwrites the foreign entry"
    stats = await cache.get_stats(count_keys=False)
    assert (stats.errors, stats.breaker_state) == (0, "closed"), (
        "a foreign entry says nothing about the backend's health"
    )
    assert stats.decode_errors == 6


@pytest.mark.parametrize("kind", ["sqlite", "upstash-gateway"])
async def test_every_provider_serves_corrupt_text_as_a_miss(
    kind: str, request: pytest.FixtureRequest, tmp_path: Any
) -> None:
    if kind == "sqlite":
        provider: Provider = SQLiteProvider(str(tmp_path / "cache.db"))
    else:
        provider = request.getfixturevalue("gateway").provider()
    cache = Cache(provider, namespace=f"n{uuid.uuid4().hex[:8]}")
    try:
        await _plant(cache, "k", '{"truncated": [1, 2')
        assert await cache.get("k") is None
        assert await cache.get_many(["k"]) == {}
        assert await cache.get_or_set("k", lambda: [1, 2]) == [1, 2]
        assert await cache.get("k") == [1, 2]
        stats = await cache.get_stats(count_keys=False)
        assert (stats.decode_errors, stats.errors) == (3, 0)
    finally:
        await cache.disconnect()
