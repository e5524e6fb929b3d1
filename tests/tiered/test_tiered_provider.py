"""TieredProvider: L1 fill rules, invalidation, races and failure behaviour (in process)."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from cachesim import Cache
from cachesim.backplane import Change, LocalBackplane, LocalBus, PollingBackplane
from cachesim.clock import ManualClock
from cachesim.errors import ConfigurationError
from cachesim.providers import MemoryProvider, TieredProvider
from cachesim.providers.tiered import l1_bypass


def _tiered(
    clock: ManualClock, l2: MemoryProvider, bus: LocalBus | None, **options: Any
) -> TieredProvider:
    backplane = LocalBackplane(bus) if bus is not None else None
    return TieredProvider(
        l1=MemoryProvider(max_entries=options.pop("l1_size", 100), clock=clock),
        l2=l2,
        backplane=backplane,
        **options,
    )


@pytest.fixture
def l2(clock: ManualClock) -> MemoryProvider:
    return MemoryProvider(clock=clock)


async def test_l1_fill_uses_the_remaining_ttl_never_longer(
    clock: ManualClock, l2: MemoryProvider
) -> None:
    tiered = _tiered(clock, l2, LocalBus(), l1_ttl_cap=None)
    cache = Cache(tiered, namespace="n", clock=clock)
    async with cache:
        await cache.set("k", "v", ttl=10)
        clock.advance(7)
        assert await cache.get("k") == "v"
        assert tiered.l1.store.expires_at("n:k") == pytest.approx(clock.now() + 3), (
            "L1 must keep the entry only for L2's remaining TTL"
        )
        clock.advance(3.001)
        assert await cache.get("k") is None, "an L1 copy must not outlive the L2 entry"


async def test_l1_ttl_is_capped(clock: ManualClock, l2: MemoryProvider) -> None:
    tiered = _tiered(clock, l2, LocalBus(), l1_ttl_cap=5)
    cache = Cache(tiered, namespace="n", clock=clock)
    async with cache:
        await cache.set("k", "v", ttl=None)
        assert await cache.get("k") == "v"
        assert tiered.l1.store.expires_at("n:k") == pytest.approx(clock.now() + 5)
        # Another writer changes L2 behind this instance's back (no backplane message):
        await l2.set("n:k", '"w"', None)
        clock.advance(4.9)
        assert await cache.get("k") == "v", "within the cap L1 serves its copy"
        clock.advance(0.2)
        assert await cache.get("k") == "w", "past the cap L1 must re-read L2"


async def test_reads_hit_l1_and_save_l2_reads(clock: ManualClock, l2: MemoryProvider) -> None:
    tiered = _tiered(clock, l2, LocalBus())
    cache = Cache(tiered, namespace="n", clock=clock)
    async with cache:
        await cache.set("k", [1, 2])
        for _ in range(10):
            assert await cache.get("k") == [1, 2]
        stats = (await cache.get_stats()).provider_stats
        assert (stats["l1_hits"], stats["l2_hits"]) == (9, 1), "one L2 read, then L1 hits"


async def test_values_are_copies(clock: ManualClock, l2: MemoryProvider) -> None:
    cache = Cache(_tiered(clock, l2, LocalBus()), namespace="n", clock=clock)
    async with cache:
        value = {"a": [1]}
        await cache.set("k", value)
        first = await cache.get("k")
        first["a"].append(2)
        value["a"].append(3)
        assert await cache.get("k") == {"a": [1]}, "mutating a read copy must not change L1"


async def test_l1_is_bounded_by_size(clock: ManualClock, l2: MemoryProvider) -> None:
    tiered = _tiered(clock, l2, LocalBus(), l1_size=10)
    cache = Cache(tiered, namespace="n", clock=clock)
    async with cache:
        await cache.set_many({f"k{i}": i for i in range(50)})
        assert await cache.get_many([f"k{i}" for i in range(50)]) == {f"k{i}": i for i in range(50)}
        assert len(tiered.l1.store) <= 10, "L1 must never hold more than max_entries"


async def test_every_change_reaches_the_other_instances_l1(
    clock: ManualClock, l2: MemoryProvider
) -> None:
    bus = LocalBus()
    a, b = _tiered(clock, l2, bus), _tiered(clock, l2, bus)
    ca, cb = Cache(a, namespace="n", clock=clock), Cache(b, namespace="n", clock=clock)
    async with ca, cb:
        await ca.set_many({"u:1": 1, "u:2": 2, "v": 3, "w": 4})
        assert await cb.get_many(["u:1", "u:2", "v", "w"]) == {"u:1": 1, "u:2": 2, "v": 3, "w": 4}
        assert len(b.l1.store) == 4
        await ca.set("v", 30)
        assert await cb.get("v") == 30, "set must drop the other L1's copy"
        await ca.delete("w")
        assert await cb.get("w") is None, "delete must drop the other L1's copy"
        await ca.invalidate_pattern("u:*")
        assert await cb.get_many(["u:1", "u:2"]) == {}, "invalidate_pattern must reach L1s"
        await cb.get("v")
        await ca.clear()
        assert await cb.get("v") is None, "clear must reach L1s"
        await ca.set_many({"x": 1, "y": 2})
        await cb.get_many(["x", "y"])
        await ca.delete_many(["x", "y"])
        assert await cb.get_many(["x", "y"]) == {}, "delete_many must reach L1s"
        assert b.backplane.stats()["backplane_messages"] >= 6


async def test_a_read_racing_an_invalidation_does_not_fill_l1(clock: ManualClock) -> None:
    """The L2 read returns the old value after the invalidation arrived: no fill."""

    l2 = MemoryProvider(clock=clock)
    bus = LocalBus()
    reader, writer = _tiered(clock, l2, bus), _tiered(clock, l2, bus)
    await reader.initialize()
    await writer.initialize()
    await l2.set("k", "old", None)
    entered, release = asyncio.Event(), asyncio.Event()
    real_read = reader._l2_read

    async def slow_read(keys: Any) -> Any:
        rows = await real_read(keys)  # reads "old"
        entered.set()
        await release.wait()
        return rows

    reader._l2_read = slow_read  # type: ignore[method-assign]
    pending = asyncio.create_task(reader.get("k"))
    await entered.wait()
    await writer.set("k", "new", None)  # the invalidation arrives while the read is out
    release.set()
    assert await pending == "old"
    assert reader.l1.store.contains("k", clock.now()) is False, (
        "a read that raced an invalidation must not put its value in L1"
    )
    assert reader.fills_skipped == 1
    assert await reader.get("k") == "new"


async def test_losing_the_backplane_drops_and_bypasses_l1(
    clock: ManualClock, l2: MemoryProvider
) -> None:
    bus = LocalBus()
    a, b = _tiered(clock, l2, bus), _tiered(clock, l2, bus)
    ca, cb = Cache(a, namespace="n", clock=clock), Cache(b, namespace="n", clock=clock)
    async with ca, cb:
        await ca.set("k", 1)
        assert await cb.get("k") == 1
        assert isinstance(b.backplane, LocalBackplane)
        b.backplane.disconnect()
        await ca.set("k", 2)  # b misses this message
        assert await cb.get("k") == 2, "without a backplane, reads must go to L2"
        assert len(b.l1.store) == 0, "L1 must be dropped when the backplane is lost"
        assert b.backplane_losses == 1
        b.backplane.reconnect()
        assert await cb.get("k") == 2
        assert await cb.get("k") == 2
        stats = (await cb.get_stats()).provider_stats
        assert stats["backplane_reconnects"] == 1
        assert stats["l1_hits"] >= 1, "L1 serves again once the backplane is back"


async def test_failed_publish_is_retried_from_the_outbox(
    clock: ManualClock, l2: MemoryProvider
) -> None:
    bus = LocalBus()
    a, b = _tiered(clock, l2, bus), _tiered(clock, l2, bus)
    ca, cb = Cache(a, namespace="n", clock=clock), Cache(b, namespace="n", clock=clock)
    async with ca, cb:
        await ca.set("k", 1)
        assert await cb.get("k") == 1
        assert isinstance(a.backplane, LocalBackplane)
        a.backplane.connected = False  # only the publisher is cut off
        assert await ca.set("k", 2) is False, (
            "a write whose invalidation could not be sent is not confirmed"
        )
        assert a.backplane.stats()["backplane_pending"] == 1
        a.backplane.connected = True
        for _ in range(200):
            if a.backplane.stats()["backplane_pending"] == 0:
                break
            await asyncio.sleep(0.01)
        assert a.backplane.stats()["backplane_pending"] == 0, "the outbox must drain"
        assert await cb.get("k") == 2, "the retried message must reach the other L1"


async def test_l1_bypass_reads_l2_without_filling(clock: ManualClock, l2: MemoryProvider) -> None:
    tiered = _tiered(clock, l2, None)
    cache = Cache(tiered, namespace="n", clock=clock)
    async with cache:
        await cache.set("k", 1)
        with l1_bypass():
            assert await cache.get("k") == 1
        assert len(tiered.l1.store) == 0, "a bypassed read must not fill L1"
        assert tiered.bypassed_reads == 1


async def test_fill_on_write_puts_written_values_in_l1(
    clock: ManualClock, l2: MemoryProvider
) -> None:
    tiered = _tiered(clock, l2, LocalBus(), fill_on_write=True, l1_ttl_cap=30)
    cache = Cache(tiered, namespace="n", clock=clock)
    async with cache:
        await cache.set("k", 1, ttl=10)
        assert tiered.l1.store.expires_at("n:k") == pytest.approx(clock.now() + 10)
        assert await cache.get("k") == 1
        assert tiered.l2_hits == 0 and tiered.l1_hits == 1


def test_change_round_trips_and_rejects_garbage() -> None:
    change = Change("keys", "me", ("a", "b"))
    assert Change.decode(change.encode()) == change
    with pytest.raises(ValueError, match="not a backplane change"):
        Change.decode('{"o": "boom"}')


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"l2": None}, "needs l2"),
        ({"l1": MemoryProvider()}, "must be bounded"),
        ({"l1_ttl_cap": 0}, "l1_ttl_cap"),
        ({"staleness_bound": -1}, "staleness_bound"),
        ({"backplane": PollingBackplane(interval=1.0), "staleness_bound": 0.5}, "poll"),
    ],
)
def test_bad_options_raise_with_the_fix(options: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = {"l1": MemoryProvider(max_entries=10), "l2": MemoryProvider()}
    kwargs.update(options)
    with pytest.raises(ConfigurationError, match=message):
        TieredProvider(**kwargs)


def test_capabilities_drop_eviction_and_per_hit_accounting() -> None:
    tiered = TieredProvider(l1=MemoryProvider(max_entries=10), l2=MemoryProvider(max_entries=5))
    assert "eviction" not in tiered.capabilities
    assert "clock_injectable" in tiered.capabilities
    assert tiered.in_process is True
    assert math.isinf(tiered.backplane.synced_at())
