"""Cache semantics, identical on every provider (memory, fakeredis, real redis-server)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from cachesim import NO_EXPIRY, Cache, CacheKeys, ManualClock
from cachesim.errors import (
    ConfigurationError,
    InvalidKeyError,
    InvalidTTLError,
    UnstorableValueError,
)
from cachesim.providers import MemoryProvider
from cachesim.providers.base import Provider


@pytest.fixture
async def cache(provider: Provider, namespace: str, clock: ManualClock) -> Cache:
    return Cache(provider, namespace=namespace, default_ttl=60, clock=clock)


FALSY_VALUES: list[Any] = [None, 0, 0.0, "", False, [], {}]


@pytest.mark.parametrize("value", FALSY_VALUES, ids=repr)
async def test_falsy_values_are_values_not_misses(cache: Cache, value: Any) -> None:
    await cache.set("k", value)
    assert await cache.has("k"), "a cached falsy value must make has() true"
    assert await cache.get("k", default="MISS") == value, "a cached falsy value is returned"
    assert type(await cache.get("k", default="MISS")) is type(value)
    calls = 0

    def factory() -> str:
        nonlocal calls
        calls += 1
        return "computed"

    assert await cache.get_or_set("k", factory) == value
    assert calls == 0, "get_or_set must not call the factory for a cached falsy value"
    assert await cache.get_many(["k"]) == {"k": value}


async def test_miss_returns_default(cache: Cache) -> None:
    assert await cache.get("absent") is None
    assert await cache.get("absent", default=42) == 42
    assert not await cache.has("absent")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (1, 1),
        (1.5, 1.5),
        (-0.0, -0.0),
        (2**70, 2**70),
        ("😀\x00", "😀\x00"),
        ((1, (2, 3)), [1, [2, 3]]),
        ({"a": [True, None]}, {"a": [True, None]}),
        (b"\x00\xff", b"\x00\xff"),
    ],
    ids=repr,
)
async def test_json_types_round_trip(cache: Cache, value: Any, expected: Any) -> None:
    await cache.set("v", value)
    got = await cache.get("v")
    assert got == expected
    assert type(got) is type(expected), "bool stays bool, int stays int, tuples become lists"
    if isinstance(expected, float):
        assert math.copysign(1, got) == math.copysign(1, expected)


async def test_copy_semantics(cache: Cache) -> None:
    original = {"items": [1, 2]}
    await cache.set("obj", original)
    original["items"].append(3)
    first = await cache.get("obj")
    assert first == {"items": [1, 2]}, "mutating after set must not change the cached value"
    first["items"].append(99)
    assert await cache.get("obj") == {"items": [1, 2]}, "mutating a read must not change the cache"


@pytest.mark.parametrize("bad", [float("nan"), {1: "a"}, {1, 2}, object()], ids=repr)
async def test_unstorable_value_raises_and_writes_nothing(cache: Cache, bad: Any) -> None:
    await cache.set("k", "old")
    with pytest.raises(UnstorableValueError):
        await cache.set("k", bad)
    assert await cache.get("k") == "old", "a refused write must leave the old value intact"
    with pytest.raises(UnstorableValueError):
        await cache.set_many({"a": 1, "k": bad})
    assert not await cache.has("a"), "set_many validates everything before writing anything"


async def test_value_over_the_limit_is_refused(provider: Provider, namespace: str) -> None:
    cache = Cache(provider, namespace=namespace, max_value_bytes=100)
    await cache.set("k", "small")
    with pytest.raises(UnstorableValueError, match="limit is 100 bytes"):
        await cache.set("k", "x" * 200)
    assert await cache.get("k") == "small"


@pytest.mark.parametrize("bad", ["", 1, None, "k" * 513], ids=repr)
async def test_bad_keys_raise(cache: Cache, bad: Any) -> None:
    with pytest.raises(InvalidKeyError):
        await cache.get(bad)
    with pytest.raises(InvalidKeyError):
        await cache.set(bad, 1)
    with pytest.raises(InvalidKeyError):
        await cache.get_or_set(bad, lambda: 1)
    with pytest.raises(InvalidKeyError):
        await cache.get_many(["ok", bad])


@pytest.mark.parametrize("bad", [0, -1, float("nan"), 0.0004, True, "60", [1]], ids=repr)
async def test_bad_ttl_raises(cache: Cache, bad: Any) -> None:
    with pytest.raises(InvalidTTLError):
        await cache.set("k", 1, ttl=bad)
    assert not await cache.has("k"), "a refused write writes nothing"


def test_bad_construction_raises() -> None:
    with pytest.raises(InvalidTTLError):
        Cache(MemoryProvider(), default_ttl=0)
    with pytest.raises(ConfigurationError):
        Cache(MemoryProvider(), namespace="")
    with pytest.raises(ConfigurationError):
        Cache(MemoryProvider(), timeout=0)


async def test_namespacing(provider: Provider, namespace: str) -> None:
    a = Cache(provider, namespace=f"{namespace}a")
    b = Cache(provider, namespace=f"{namespace}b")
    await a.set("k", "from a")
    assert await b.get("k") is None, "namespaces must not see each other's keys"
    assert await provider.get(f"{namespace}a:k") == '"from a"', "stored as <namespace>:<key>"


async def test_clear_is_scoped_to_the_namespace(provider: Provider, namespace: str) -> None:
    mine = Cache(provider, namespace=namespace)
    other = Cache(provider, namespace=f"{namespace}x")
    prefix_lookalike = Cache(provider, namespace=f"{namespace}:sub")
    for i in range(5):
        await mine.set(f"k{i}", i)
    await other.set("k0", "keep")
    await prefix_lookalike.set("k", "mine too")
    await provider.set(f"{namespace}", "bare key", None)
    removed = await mine.clear()
    assert removed == 6, "clear removes this namespace's keys (a sub-namespace is inside it)"
    assert await other.get("k0") == "keep", "clear must never touch another namespace"
    assert await provider.get(namespace) == "bare key", "a key equal to the bare namespace stays"


async def test_delete_returns_whether_it_existed(cache: Cache) -> None:
    await cache.set("k", 1)
    assert await cache.delete("k") is True
    assert await cache.delete("k") is False
    assert await cache.get("k") is None


async def test_bulk_operations(cache: Cache) -> None:
    assert await cache.set_many({"a": 1, "b": None, "c": [3]}) is True
    assert await cache.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": None, "c": [3]}
    assert await cache.get_many([]) == {}
    assert await cache.delete_many(["a", "b", "missing"]) == 2
    assert await cache.get_many(["a", "b", "c"]) == {"c": [3]}
    assert await cache.delete_many([]) == 0


async def test_invalidate_pattern_glob_within_namespace(provider: Provider, namespace: str) -> None:
    cache = Cache(provider, namespace=namespace)
    neighbour = Cache(provider, namespace=f"{namespace}n")
    keys = [CacheKeys.user(4), CacheKeys.user_sessions(4), CacheKeys.user(42), CacheKeys.user("*")]
    for key in keys:
        await cache.set(key, key)
        await neighbour.set(key, key)
    assert await cache.invalidate_pattern(CacheKeys.user_pattern(4)) == 2
    assert await cache.get(CacheKeys.user(42)) == CacheKeys.user(42), "user 4 never widens to 42"
    assert await cache.invalidate_pattern(CacheKeys.user_pattern("*")) == 1
    assert await cache.get(CacheKeys.user(42)) is not None, "an id of '*' is literal"
    assert await cache.invalidate_pattern("user:*") == 1
    assert await neighbour.get_many(keys) == {k: k for k in keys}, "other namespaces untouched"
    with pytest.raises(InvalidKeyError):
        await cache.invalidate_pattern("")


async def test_invalidate_pattern_pages_through_thousands(
    provider: Provider, namespace: str
) -> None:
    cache = Cache(provider, namespace=namespace)
    if hasattr(provider, "scan_count"):
        provider.scan_count = 50  # many SCAN pages
    await cache.set_many({f"bulk:{i}": i for i in range(2500)})
    await cache.set_many({f"keep:{i}": i for i in range(10)})
    assert await cache.invalidate_pattern("bulk:*") == 2500
    assert (await cache.get_stats()).keys == 10


async def test_get_or_set_sync_and_async_factories(cache: Cache) -> None:
    assert await cache.get_or_set("s", lambda: {"v": 1}) == {"v": 1}

    async def make() -> list[int]:
        return [2]

    assert await cache.get_or_set("a", make) == [2]
    assert await cache.get("a") == [2], "the factory's value is cached"
    assert await cache.get_or_set("a", lambda: "other") == [2]


async def test_get_or_set_is_single_flight(cache: Cache) -> None:
    calls = 0
    gate = asyncio.Event()

    async def slow() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await gate.wait()
        return {"n": calls}

    tasks = [asyncio.create_task(cache.get_or_set("hot", slow)) for _ in range(20)]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert calls == 1, "20 concurrent misses must call the factory once"
    assert all(r == {"n": 1} for r in results)
    results[0]["n"] = 99
    assert results[1] == {"n": 1}, "each waiter gets its own copy"


async def test_get_or_set_factory_error_reaches_every_waiter(cache: Cache) -> None:
    gate = asyncio.Event()

    async def boom() -> int:
        await gate.wait()
        raise ValueError("origin down")

    tasks = [asyncio.create_task(cache.get_or_set("k", boom)) for _ in range(5)]
    await asyncio.sleep(0.02)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results), "every waiter sees the factory error"
    assert not await cache.has("k"), "nothing is cached after a factory error"
    assert await cache.get_or_set("k", lambda: 5) == 5, "the next call tries again"


async def test_get_or_set_cancelled_caller_does_not_break_others(cache: Cache) -> None:
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "v"

    first = asyncio.create_task(cache.get_or_set("k", slow))
    second = asyncio.create_task(cache.get_or_set("k", slow))
    await asyncio.sleep(0.02)
    first.cancel()
    gate.set()
    assert await second == "v"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_get_or_set_unstorable_result_raises(cache: Cache) -> None:
    with pytest.raises(UnstorableValueError):
        await cache.get_or_set("k", lambda: {1, 2})
    assert not await cache.has("k")


async def test_stats_count_hits_misses_and_keys(cache: Cache) -> None:
    await cache.set("a", 1)
    await cache.get("a")
    await cache.get("b")
    await cache.get_many(["a", "b", "c"])
    stats = await cache.get_stats()
    assert (stats.hits, stats.misses) == (2, 3)
    assert stats.hit_rate == pytest.approx(0.4)
    assert stats.keys == 1
    assert stats.errors == stats.timeouts == 0
    assert stats.latency["get"].count == 2
    row = stats.as_dict()
    assert row["hits"] == 2 and "latency_get_p99_ms" in row
    cache.reset_stats()
    assert (await cache.get_stats()).hits == 0


async def test_subscribe_sees_operations(cache: Cache) -> None:
    events = []
    unsubscribe = cache.subscribe(events.append)
    await cache.set("a", 1, ttl=5)
    await cache.get("a")
    await cache.get("b")
    await cache.delete("a")
    unsubscribe()
    await cache.get("a")
    assert [(e.op, e.key, e.hit) for e in events] == [
        ("set", "a", None),
        ("get", "a", True),
        ("get", "b", False),
        ("delete", "a", None),
    ]
    assert events[0].ttl == 5 and events[0].size == 1


async def test_async_context_manager(provider: Provider, namespace: str) -> None:
    async with Cache(provider, namespace=namespace) as cache:
        await cache.set("k", 1)
        assert await cache.get("k") == 1


# -- TTL --------------------------------------------------------------------------


async def test_ttl_expiry_with_a_manual_clock(namespace: str) -> None:
    clock = ManualClock()
    cache = Cache(MemoryProvider(clock=clock), namespace=namespace, default_ttl=10)
    await cache.set("short", 1, ttl=0.5)
    await cache.set("default", 2)
    await cache.set("forever", 3, ttl=NO_EXPIRY)
    clock.advance(0.499)
    assert await cache.get("short") == 1
    clock.advance(0.001)
    assert await cache.get("short") is None, "an entry is expired once its TTL has elapsed"
    assert not await cache.has("short")
    clock.advance(9.5)
    assert await cache.get_many(["short", "default", "forever"]) == {"forever": 3}
    assert (await cache.get_stats()).keys == 1, "expired entries are not counted"
    clock.advance(10**9)
    assert await cache.get("forever") == 3


async def test_overwrite_replaces_the_ttl(namespace: str) -> None:
    clock = ManualClock()
    cache = Cache(MemoryProvider(clock=clock), namespace=namespace, default_ttl=10)
    await cache.set("k", 1, ttl=1)
    await cache.set("k", 2, ttl=100)
    clock.advance(50)
    assert await cache.get("k") == 2
    await cache.set("k", 3, ttl=NO_EXPIRY)
    await cache.set("k", 4, ttl=1)
    clock.advance(2)
    assert await cache.get("k") is None, "a TTL set by overwrite applies"


async def test_ttl_on_server_providers(server_provider: Provider, namespace: str) -> None:
    """Server-side TTLs cannot take a clock: a short real TTL with range assertions."""
    cache = Cache(server_provider, namespace=namespace)
    await cache.set("short", 1, ttl=0.15)
    await cache.set("long", 2, ttl=30)
    assert await cache.get("short") == 1
    await asyncio.sleep(0.3)
    assert await cache.get("short") is None
    assert not await cache.has("short")
    assert await cache.get_many(["short", "long"]) == {"long": 2}
    assert (await cache.get_stats()).keys == 1


async def test_timedelta_ttl(cache: Cache) -> None:
    from datetime import timedelta

    assert await cache.set("k", 1, ttl=timedelta(minutes=1))
    assert await cache.get("k") == 1


async def test_a_failing_listener_does_not_break_the_call(cache: Cache) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("listener bug")

    cache.subscribe(broken)
    assert await cache.set("k", 1) is True
    assert await cache.get("k") == 1


async def test_stats_to_json_is_nested_without_duplicates(cache: Cache) -> None:
    await cache.get("k")
    data = (await cache.get_stats()).to_json()
    assert "latency_get_p99_ms" not in data
    assert data["latency"]["get"]["count"] == 1
    assert not [k for k in data if k.startswith("provider_") and k != "provider_stats"]
