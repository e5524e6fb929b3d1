"""Stampede-lock primitives, the distributed lock and tags through a TieredProvider.

In process (LocalBackplane over a shared MemoryProvider L2) and on a real
redis-server (RedisProvider L2, RedisBackplane pub/sub).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from cachesim import Cache, EntryOptions
from cachesim.backplane import LocalBackplane, LocalBus, RedisBackplane
from cachesim.clock import ManualClock
from cachesim.errors import ConfigurationError
from cachesim.providers import MemoryProvider, RedisProvider, TieredProvider
from cachesim.providers.capabilities import Capability

LOCK_CAPS = {Capability.ATOMIC_SET_IF_ABSENT, Capability.COMPARE_AND_DELETE}


async def _until(condition: Callable[[], bool], what: str, *, steps: int = 1000) -> None:
    """Wait (short sleeps) until ``condition`` holds; the mechanism, not a time bound."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting until {what}")


def _tier(cache: Cache) -> TieredProvider:
    assert isinstance(cache.provider, TieredProvider)
    return cache.provider


# -- in process ---------------------------------------------------------------------
def _local(clock: ManualClock, l2: MemoryProvider, bus: LocalBus) -> TieredProvider:
    return TieredProvider(
        l1=MemoryProvider(max_entries=100, clock=clock), l2=l2, backplane=LocalBackplane(bus)
    )


@pytest.fixture
async def local_pair(clock: ManualClock) -> AsyncIterator[tuple[Cache, Cache]]:
    l2, bus = MemoryProvider(clock=clock), LocalBus()
    a = Cache(_local(clock, l2, bus), namespace="n", clock=clock)
    b = Cache(_local(clock, l2, bus), namespace="n", clock=clock)
    async with a, b:
        yield a, b


class _NoLockMemory(MemoryProvider):
    """A real in-memory provider that does not offer the stampede-lock primitives."""

    capabilities = MemoryProvider.capabilities - LOCK_CAPS


async def test_capabilities_follow_l2(clock: ManualClock) -> None:
    with_locks = TieredProvider(l1=MemoryProvider(max_entries=10), l2=MemoryProvider())
    assert with_locks.capabilities >= LOCK_CAPS, "an L2 with the primitives lends them to tiers"
    without = TieredProvider(l1=MemoryProvider(max_entries=10), l2=_NoLockMemory())
    assert not LOCK_CAPS & without.capabilities, "an L2 without them must not be claimed"
    with pytest.raises(ConfigurationError, match="set_if_absent needs an L2"):
        await without.set_if_absent("k", "v", 1)
    cache = Cache(without, namespace="n")
    with pytest.raises(ConfigurationError, match="lock='distributed' needs"):
        await cache.get_or_set("k", lambda: 1, options=EntryOptions(lock="distributed"))


async def test_set_if_absent_is_atomic_across_instances(
    local_pair: tuple[Cache, Cache],
) -> None:
    a, b = (_tier(c) for c in local_pair)
    results = await asyncio.gather(
        *(t.set_if_absent("n:lock", f"token{i}", 5) for i, t in enumerate([a, b] * 10))
    )
    assert results.count(True) == 1, "exactly one instance may win set_if_absent"
    assert await b.set_if_absent("n:lock", "again", 5) is False, "a live entry blocks it"


async def test_set_if_absent_drops_a_stale_l1_copy_everywhere(
    local_pair: tuple[Cache, Cache], clock: ManualClock
) -> None:
    a, b = local_pair
    await a.set("k", "old")
    assert await b.get("k") == "old"
    await _tier(a).l2.delete("n:k")  # removed in L2 behind the tiers' backs
    assert await b.get("k") == "old", "b's L1 still holds its copy (no message was sent)"
    assert await _tier(a).set_if_absent("n:k", '"new"', 10) is True
    assert await b.get("k") == "new", "a stored value must drop every other L1's copy"


async def test_delete_if_equals_invalidates_only_when_it_deleted(
    local_pair: tuple[Cache, Cache],
) -> None:
    a, b = local_pair
    ta, tb = _tier(a), _tier(b)
    await a.set("k", "v")
    assert await b.get("k") == "v"
    before = tb.l1_invalidations
    assert await ta.delete_if_equals("n:k", '"other"') is False
    assert tb.l1_invalidations == before, "an unchanged L2 must not invalidate other L1s"
    assert await b.get("k") == "v"
    assert await ta.delete_if_equals("n:k", '"v"') is True
    assert tb.l1_invalidations == before + 1, "a removal must be published"
    assert await b.get("k") is None, "b must not serve the deleted entry from its L1"


async def test_failed_conditional_write_still_invalidates(clock: ManualClock) -> None:
    class Broken(MemoryProvider):
        async def delete_if_equals(self, key: str, value: str) -> bool:
            await super().delete_if_equals(key, value)  # lands, then the reply is lost
            raise ConnectionError("reply lost")

    l2, bus = Broken(clock=clock), LocalBus()
    a, b = _local(clock, l2, bus), _local(clock, l2, bus)
    async with Cache(a, namespace="n", clock=clock), Cache(b, namespace="n", clock=clock) as cb:
        await l2.set("n:k", '"v"', None)
        assert await cb.get("k") == "v"
        with pytest.raises(ConnectionError):
            await a.delete_if_equals("n:k", '"v"')
        await _until(lambda: b.l1_invalidations == 1, "the queued invalidation is sent")
        assert await cb.get("k") is None, "a write that may have landed must invalidate"


async def test_distributed_lock_through_tiers_calls_the_factory_once(
    local_pair: tuple[Cache, Cache],
) -> None:
    a, b = local_pair
    calls = 0
    gate = asyncio.Event()

    async def factory() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        return "filled"

    opts = EntryOptions(ttl=60, lock="distributed", lock_ttl=30)
    tasks = [
        asyncio.create_task(cache.get_or_set("hot", factory, options=opts)) for cache in [a, b] * 20
    ]
    await _until(lambda: calls == 1, "one caller holds the lock")
    await _until(
        lambda: _tier(b).l2.store.contains("n:__lock:hot", _tier(b).l2.clock.now()),
        "the lock is in L2",
    )
    gate.set()
    assert set(await asyncio.gather(*tasks)) == {"filled"}
    assert calls == 1, "the lock through tiers must let exactly one factory call run"
    assert not await _tier(a).has("n:__lock:hot"), "the holder released its lock"


async def test_tag_marker_from_one_instance_hides_the_other_l1_entry(
    local_pair: tuple[Cache, Cache], clock: ManualClock
) -> None:
    a, b = local_pair
    tb = _tier(b)
    for round_ in range(2):  # round 1: b's L1 also holds the previous marker
        await a.set("user", f"u{round_}", tags=("org:7",))
        clock.advance(1)
        assert await b.get("user") == f"u{round_}"
        hits = tb.l1_hits
        assert await b.get("user") == f"u{round_}"
        assert tb.l1_hits > hits, "b serves the tagged entry from its L1"
        clock.advance(1)
        await a.invalidate_tag("org:7")
        assert await b.get("user") is None, "a's tag marker must hide b's L1 copy"
        clock.advance(1)


# -- real redis-server, pub/sub backplane -------------------------------------------
def _redis_tiered(url: str, namespace: str) -> TieredProvider:
    return TieredProvider(
        l1=MemoryProvider(max_entries=100),
        l2=RedisProvider.from_url(url),
        backplane=RedisBackplane(url, namespace=namespace, heartbeat=0.05),
        staleness_bound=1.0,
    )


@pytest.fixture
async def redis_pair(redis_url: str, namespace: str) -> AsyncIterator[tuple[Cache, Cache]]:
    a = Cache(_redis_tiered(redis_url, namespace), namespace=namespace)
    b = Cache(_redis_tiered(redis_url, namespace), namespace=namespace)
    async with a, b:
        await _until(_tier(a).l1_active, "a's backplane is in touch")
        await _until(_tier(b).l1_active, "b's backplane is in touch")
        yield a, b


async def test_redis_distributed_lock_through_tiers(redis_pair: tuple[Cache, Cache]) -> None:
    a, b = redis_pair
    calls = 0
    gate = asyncio.Event()

    async def factory() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await gate.wait()
        return {"n": 1}

    opts = EntryOptions(ttl=60, lock="distributed", lock_ttl=30)
    tasks = [
        asyncio.create_task(cache.get_or_set("hot", factory, options=opts)) for cache in [a, b] * 25
    ]
    await _until(lambda: calls == 1, "one caller holds the lock")
    # The other instance's fill finds the lock taken in redis-server and waits.
    await _until(
        lambda: a.freshness.lock.polls + b.freshness.lock.polls > 0, "the other instance polls"
    )
    l2 = _tier(a).l2
    assert isinstance(l2, RedisProvider)
    assert await l2.client.exists(f"{a.namespace}:__lock:hot") == 1, "the lock is in redis"
    gate.set()
    assert all(r == {"n": 1} for r in await asyncio.gather(*tasks))
    assert calls == 1, "the lock over redis-server must let exactly one factory call run"
    assert a.freshness.lock_waits + b.freshness.lock_waits == 1, "the other instance waited"
    assert await l2.client.exists(f"{a.namespace}:__lock:hot") == 0, "the lock was released"


async def test_redis_tag_invalidation_reaches_the_other_l1(
    redis_pair: tuple[Cache, Cache],
) -> None:
    a, b = redis_pair
    tb = _tier(b)
    delays = []
    for round_ in range(3):
        await a.set("user", f"u{round_}", tags=("org:7",))
        await _until(
            lambda: tb.backplane.stats()["backplane_messages"] >= 2 * round_ + 1,  # noqa: B023
            "b hears a's set",
        )
        assert await b.get("user") == f"u{round_}"
        hits = tb.l1_hits
        assert await b.get("user") == f"u{round_}"
        assert tb.l1_hits > hits, "b serves the tagged entry (and marker) from its L1"
        await asyncio.sleep(0.002)  # the marker's time must follow the entry's write time
        heard = tb.backplane.stats()["backplane_messages"]
        started = time.monotonic()
        await a.invalidate_tag("org:7")
        await _until(
            lambda: tb.backplane.stats()["backplane_messages"] > heard,  # noqa: B023
            "b hears the marker",
        )
        delays.append(time.monotonic() - started)
        assert await b.get("user") is None, "a's marker must hide the entry in b's L1"
        await asyncio.sleep(0.002)
    print(f"tag invalidation heard by the other instance after {max(delays) * 1000:.1f} ms max")
