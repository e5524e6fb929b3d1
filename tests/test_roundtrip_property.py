"""Property: any valid key and any storable value round-trip through Cache, on every provider."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_codec import json_values, same

from cachesim import Cache, ManualClock
from cachesim.keys import MAX_KEY_BYTES
from cachesim.providers import MemoryProvider, RedisProvider

keys = st.text(min_size=1, max_size=64).filter(lambda k: len(k.encode("utf-8")) <= MAX_KEY_BYTES)


def _caches(redis_url: str) -> list[Cache]:
    return [
        Cache(MemoryProvider(clock=ManualClock(), sweep_interval=None), namespace="p"),
        Cache(RedisProvider.fake(), namespace="p"),
        Cache(RedisProvider.from_url(redis_url), namespace="p"),
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=keys, value=json_values | st.binary(max_size=64))
def test_any_key_and_value_round_trip_on_every_provider(
    redis_url: str, key: str, value: Any
) -> None:
    async def check() -> None:
        for cache in _caches(redis_url):
            assert await cache.set(key, value) is True
            got = await cache.get(key, default=KeyError)
            assert same(got, value) or (isinstance(value, bytes) and got == value), (
                f"{cache.provider.name}: {key!r} -> {value!r} came back as {got!r}"
            )
            assert await cache.has(key)
            assert list(await cache.get_many([key])) == [key]
            assert await cache.delete(key) is True
            assert await cache.get(key, default=KeyError) is KeyError
            await cache.disconnect()

    asyncio.run(check())
