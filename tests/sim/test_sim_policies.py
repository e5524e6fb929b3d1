"""The shared eviction/TTL core: every registered policy, in the store and in MemoryProvider."""

from __future__ import annotations

import random

import pytest

from cachesim import Cache, ManualClock
from cachesim.policies import ALIASES, MISSING, POLICIES, make_store, resolve_policy
from cachesim.providers import MemoryProvider

BOUNDED = sorted(p for p in POLICIES if p != "ttl")


@pytest.mark.parametrize("policy", sorted(POLICIES))
async def test_every_policy_works_as_a_memory_provider(policy: str) -> None:
    clock = ManualClock(0.0)
    # S3-FIFO admits only entries smaller than its small queue (10 %): 20 entries at least
    size = 20 if policy == "s3fifo" else 3
    provider = MemoryProvider(max_entries=size, policy=policy, clock=clock, sweep_interval=None)
    async with Cache(provider, namespace="p", default_ttl=60) as cache:
        for i in range(size + 7):
            await cache.set(f"k{i}", {"i": i})
            await cache.get(f"k{i}")
        stats = await cache.get_stats()
        if policy == "ttl":  # unbounded: nothing is evicted
            assert stats.keys == size + 7
        else:
            assert stats.keys == size
            assert stats.provider_stats["evictions"] == 7
        last = f"k{size + 6}"
        assert await cache.get(last) == {"i": size + 6}  # the newest entry survives everywhere
        await cache.set("short", 1, ttl=5)
        clock.advance(6)
        assert await cache.get("short") is None  # expired entries are misses everywhere
        assert not await cache.has("short")


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_store_api_and_ttl(policy: str) -> None:
    store = make_store(policy, 40 if policy == "s3fifo" else 4)
    store.put("a", 1, None, 0.0)
    store.put("b", 2, 10.0, 0.0)
    assert store.get("a", 1.0) == 1
    assert store.peek("b", 1.0) == 2
    assert store.contains("b", 9.9)
    assert sorted(store.keys(5.0)) == ["a", "b"]
    assert store.get("b", 10.0) is MISSING  # expires at its expiry time
    assert store.expirations == 1
    store.put("c", 3, 2.0, 0.0)
    assert store.purge_expired(3.0) == 1
    assert store.delete("a") and not store.delete("a")
    assert len(store) == 0 and store.used == 0


@pytest.mark.parametrize("policy", BOUNDED)
def test_capacity_is_never_exceeded_with_sizes_and_overwrites(policy: str) -> None:
    rng = random.Random(7)
    store = make_store(policy, 100)
    now = 0.0
    for _ in range(5_000):
        now += rng.random()
        key = rng.randrange(40)
        action = rng.random()
        if action < 0.1:
            store.delete(key)
        elif action < 0.4:
            store.get(key, now)
        else:
            ttl = rng.choice([None, 3.0, 50.0])
            store.put(key, 0, None if ttl is None else now + ttl, now, rng.randrange(1, 60))
        assert store.used <= 100
        assert store.used == sum(store._sizes.get(k, 1) for k in store._values)


@pytest.mark.parametrize("policy", BOUNDED)
def test_oversized_entries_are_not_stored(policy: str) -> None:
    store = make_store(policy, 10)
    assert not store.put("big", 1, None, 0.0, size=11)
    store.put("k", 1, None, 0.0, size=5)
    assert not store.put("k", 2, None, 0.0, size=20)  # an oversized overwrite drops the key
    assert store.peek("k", 0.0) is MISSING


def test_fifo_overwrite_growth_evicts_the_next_oldest() -> None:
    store = make_store("fifo", 10)
    store.put("a", 1, None, 0.0, size=4)
    store.put("b", 1, None, 0.0, size=4)
    store.put("a", 1, None, 0.0, size=7)  # a stays oldest; b must go
    assert store.peek("b", 0.0) is MISSING and store.peek("a", 0.0) == 1
    assert store.used == 7 and store.evictions == 1


def test_ttl_store_is_unbounded() -> None:
    store = make_store("ttl", 2)
    for i in range(100):
        store.put(i, i, 50.0, 0.0)
    assert len(store) == 100 and store.evictions == 0
    assert store.purge_expired(50.0) == 100


def test_sieve_keeps_visited_entries() -> None:
    store = make_store("sieve", 3)
    for key in "abc":
        store.put(key, 1, None, 0.0)
    store.get("a", 0.0)  # visited: the hand skips it
    store.put("d", 1, None, 0.0)
    assert sorted(store.keys(0.0)) == ["a", "c", "d"]


def test_redis_lru_is_seeded_and_samples() -> None:
    def run(seed: int) -> list[int]:
        store = make_store("redis-lru", 50, seed=seed)
        rng = random.Random(1)
        for _ in range(2_000):
            k = rng.randrange(200)
            if store.get(k, 0.0) is MISSING:
                store.put(k, 1, None, 0.0)
        return sorted(store.keys(0.0))

    assert run(1) == run(1)
    assert run(1) != run(2)
    with pytest.raises(ValueError):
        make_store("redis-lru", 10, samples=0)


def test_arc_resists_a_scan() -> None:
    lru, arc = make_store("lru", 100), make_store("arc", 100)
    hits = {"lru": 0, "arc": 0}
    for rounds in range(20):
        for store, name in ((lru, "lru"), (arc, "arc")):
            for k in range(50):  # a hot working set, read twice per round
                for _ in range(2):
                    if store.get(k, 0.0) is MISSING:
                        store.put(k, 1, None, 0.0)
                    elif rounds >= 10:
                        hits[name] += 1
            for k in range(1_000 + rounds * 200, 1_000 + rounds * 200 + 200):  # a one-off scan
                if store.get(k, 0.0) is MISSING:
                    store.put(k, 1, None, 0.0)
    assert hits["arc"] > hits["lru"]


def test_aliases_resolve() -> None:
    for alias, name in ALIASES.items():
        assert resolve_policy(alias.upper()) == name
    with pytest.raises(ValueError, match="choose one of"):
        make_store("nope")


def test_lfu_breaks_ties_by_who_reached_the_count_first() -> None:
    # libCacheSim's LFU: lowest count first; among equal counts, the entry that reached
    # that count first goes first (frequency buckets in arrival order)
    store = make_store("lfu", 3)
    for key in ("a", "b", "c"):
        store.put(key, key, None, 0.0)
    store.get("b", 0.0)  # b reaches 2 first
    store.get("a", 0.0)  # then a
    store.put("d", "d", None, 0.0)  # evicts c (count 1)
    assert set(store.keys(0.0)) == {"a", "b", "d"}
    store.get("d", 0.0)  # d reaches 2 last
    store.put("e", "e", None, 0.0)
    assert set(store.keys(0.0)) == {"a", "d", "e"}, "b reached count 2 first: it goes first"


def test_lfu_costs_the_same_per_request_at_any_capacity() -> None:
    # O(1) per request: frequency buckets, no scan for the least frequent entry.  Timed
    # against LRU in the same run at two capacities 32x apart; a scan over the entries
    # would make LFU's cost grow with the capacity (32x), the buckets keep it flat.
    import time

    from cachesim.sim import simulate, zipf

    w = zipf(200_000, 120_000, 0.6, seed=3)

    def seconds(policy: str, capacity: int) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            simulate(w, capacity, policy, engine="python")
            best = min(best, time.perf_counter() - start)
        return best

    small = seconds("lfu", 500) / seconds("lru", 500)
    large = seconds("lfu", 16_000) / seconds("lru", 16_000)
    assert large < 4 * small, f"LFU/LRU cost grew from {small:.2f} to {large:.2f} with capacity"
