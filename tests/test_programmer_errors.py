"""Programmer errors raise at once and never count as backend faults (never open the breaker)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cachesim import MAX_TTL, Cache, ManualClock
from cachesim.errors import ConfigurationError, InvalidKeyError, InvalidTTLError
from cachesim.providers.base import Provider


@pytest.fixture
async def cache(provider: Provider, namespace: str, clock: ManualClock) -> Cache:
    return Cache(provider, namespace=namespace, default_ttl=60, clock=clock, breaker_threshold=3)


BAD_PATTERNS: list[Any] = ["\ud800", "user:\udfff*", "", None, 7, "x" * 5000]


@pytest.mark.parametrize("pattern", BAD_PATTERNS, ids=repr)
async def test_bad_patterns_raise_at_once(cache: Cache, pattern: Any) -> None:
    with pytest.raises(InvalidKeyError):
        await cache.invalidate_pattern(pattern)
    stats = await cache.get_stats(count_keys=False)
    assert (stats.errors, stats.timeouts) == (0, 0), "a bad pattern is not a backend fault"


@pytest.mark.parametrize("ttl", [1e16, MAX_TTL + 1, 10**30, -1, math.nan])
async def test_huge_or_bad_ttl_raises_everywhere(cache: Cache, ttl: Any) -> None:
    with pytest.raises(InvalidTTLError):
        await cache.set("k", 1, ttl=ttl)
    with pytest.raises(InvalidTTLError):
        await cache.set_many({"k": 1}, ttl=ttl)
    with pytest.raises(InvalidTTLError):
        await cache.get_or_set("k", lambda: 1, ttl=ttl)
    assert not await cache.has("k"), "nothing is written"
    assert (await cache.get_stats(count_keys=False)).errors == 0


async def test_programmer_errors_never_open_the_breaker(cache: Cache) -> None:
    assert await cache.set("good", "value")
    for _ in range(10):
        with pytest.raises(InvalidKeyError):
            await cache.invalidate_pattern("\ud800")
        with pytest.raises(InvalidTTLError):
            await cache.set("good", "other", ttl=1e16)
        with pytest.raises(InvalidKeyError):
            await cache.get("\ud800")
    stats = await cache.get_stats(count_keys=False)
    assert stats.breaker_state == "closed", "programmer errors must not open the breaker"
    assert (stats.errors, stats.timeouts, stats.short_circuited) == (0, 0, 0)
    assert await cache.get("good") == "value", "good keys still hit"


async def test_a_provider_raising_a_programmer_error_is_not_a_fault(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(*args: Any) -> None:
        raise InvalidKeyError("key too long for this backend; hash it")

    monkeypatch.setattr(cache.provider, "set", refuse)
    for _ in range(5):
        with pytest.raises(InvalidKeyError, match="hash it"):
            await cache.set("k", 1)
    stats = await cache.get_stats(count_keys=False)
    assert (stats.errors, stats.breaker_state) == (0, "closed")


@pytest.mark.parametrize("namespace", ["\ud800", "x" * 600])
def test_unusable_namespace_is_a_configuration_error(provider: Provider, namespace: str) -> None:
    with pytest.raises(ConfigurationError, match="namespace"):
        Cache(provider, namespace=namespace)
