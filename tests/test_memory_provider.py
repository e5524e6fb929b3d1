"""The in-memory provider: bounded capacity, policies, TTL on an injected clock, sweeping."""

from __future__ import annotations

import asyncio

import pytest

from cachesim import Cache, ManualClock
from cachesim.providers import MemoryProvider


@pytest.mark.parametrize(
    ("policy", "survivors"),
    [("lru", {"a", "c", "d"}), ("fifo", {"b", "c", "d"}), ("lfu", {"a", "c", "d"})],
)
async def test_bounded_capacity_evicts_by_policy(policy: str, survivors: set[str]) -> None:
    cache = Cache(MemoryProvider(max_entries=3, policy=policy, sweep_interval=None), namespace="n")
    await cache.set("a", 1)
    await cache.set("b", 2)
    await cache.set("c", 3)
    await cache.get("a")  # a is recently and more frequently used
    await cache.get("c")
    await cache.set("d", 4)
    found = set(await cache.get_many(["a", "b", "c", "d"]))
    assert found == survivors
    assert (await cache.get_stats()).provider_stats["evictions"] == 1


async def test_expired_entries_free_space_before_anything_is_evicted() -> None:
    clock = ManualClock()
    provider = MemoryProvider(max_entries=2, clock=clock, sweep_interval=None)
    cache = Cache(provider, namespace="n")
    await cache.set("short", 1, ttl=1)
    await cache.set("long", 2, ttl=100)
    clock.advance(2)
    await cache.set("new", 3)
    assert await cache.get_many(["long", "new"]) == {"long": 2, "new": 3}
    stats = (await cache.get_stats()).provider_stats
    assert (stats["evictions"], stats["expirations"]) == (0, 1)


async def test_has_does_not_refresh_lru_order() -> None:
    cache = Cache(MemoryProvider(max_entries=2, sweep_interval=None), namespace="n")
    await cache.set("a", 1)
    await cache.set("b", 2)
    assert await cache.has("a")
    await cache.set("c", 3)
    assert not await cache.has("a"), "has() is not an access: a stays least recently used"


async def test_background_sweep_purges_expired_entries() -> None:
    clock = ManualClock()
    provider = MemoryProvider(clock=clock, sweep_interval=0.01)
    async with Cache(provider, namespace="n") as cache:
        await cache.set_many({f"k{i}": i for i in range(2500)}, ttl=1)
        await cache.set("stay", 1)
        clock.advance(1)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if len(provider.store) == 1:
                break
        assert len(provider.store) == 1, "the sweep removed every expired entry"
    assert provider._sweeper is None, "disconnect stops the sweep"


def test_sweep_works_in_bounded_batches() -> None:
    clock = ManualClock()
    provider = MemoryProvider(clock=clock, sweep_interval=None)
    for i in range(10):
        provider.store.put(f"k{i}", "v", 1.0, 0.0)
    clock.advance(5)
    assert provider.sweep(limit=4) == 4
    assert provider.sweep() == 6


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_capacity_raises(bad: object) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryProvider(max_entries=bad)  # type: ignore[arg-type]


def test_unknown_policy_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"choose one of: .*lru"):
        MemoryProvider(policy="random-ish")
