"""What a reader sees, and for how long, in each freshness mode (injected clock, no sleeps)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest

from cachesim import Cache, EntryOptions, FactoryTimeoutError
from cachesim.clock import ManualClock
from cachesim.envelope import decode_envelope
from cachesim.providers import MemoryProvider
from tests.freshness.support import Factory, FixedRandom, Switchable, settle

pytestmark = pytest.mark.asyncio


class Boom(Exception):
    """The origin failed."""


@pytest.fixture
def memory(clock: ManualClock) -> MemoryProvider:
    return MemoryProvider(clock=clock, sweep_interval=None)


@pytest.fixture
async def cache(memory: MemoryProvider, clock: ManualClock) -> AsyncIterator[Cache]:
    made = Cache(memory, namespace="app", clock=clock)
    async with made:
        yield made


def counters(cache: Cache) -> dict[str, int]:
    return cache.freshness.counters()


# -- plain entries are untouched --------------------------------------------------------
async def test_entries_without_options_keep_the_plain_stored_form(
    cache: Cache, memory: MemoryProvider
) -> None:
    await cache.set("k", {"a": 1})
    await cache.get_or_set("g", lambda: [1, 2])
    assert await memory.get("app:k") == '{"a":1}', "a write without options must not be wrapped"
    assert await memory.get("app:g") == "[1,2]"


async def test_a_plain_entry_is_a_fresh_hit_for_get_or_set_with_options(cache: Cache) -> None:
    await cache.set("k", "old")
    factory = Factory("new")
    assert await cache.get_or_set("k", factory, options=EntryOptions(ttl=10, grace=5)) == "old"
    assert factory.calls == 0, "an entry written before options existed must stay readable"


async def test_an_unknown_envelope_version_reads_as_a_miss(
    cache: Cache, memory: MemoryProvider
) -> None:
    await memory.set("app:k", 'e9:{"future":true}\n"x"', None)
    assert await cache.get("k", "miss") == "miss"
    assert await cache.get_or_set("k", Factory("new"), options=EntryOptions(ttl=5)) == "new"


# -- fresh / expiry ---------------------------------------------------------------------
async def test_fresh_until_ttl_then_a_miss(cache: Cache, clock: ManualClock) -> None:
    opts = EntryOptions(ttl=10)
    factory = Factory()
    assert await cache.get_or_set("k", factory, options=opts) == "value-1"
    clock.advance(9.999)
    assert await cache.get_or_set("k", factory, options=opts) == "value-1"
    assert await cache.get("k") == "value-1"
    clock.advance(0.001)
    assert await cache.get("k") is None, "plain get must not see an expired entry"
    assert await cache.get_or_set("k", factory, options=opts) == "value-2"
    assert factory.calls == 2


async def test_envelope_records_write_time_expiry_and_keep_until(
    cache: Cache, memory: MemoryProvider, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10, grace=5, fail_safe=60)
    await cache.get_or_set("k", Factory("v", clock=clock, advance=0.25), options=opts)
    stored = await memory.get("app:k")
    assert stored is not None and stored.startswith("e1:")
    envelope = decode_envelope(stored)
    assert envelope is not None
    assert envelope.written == pytest.approx(1000.25)
    assert envelope.fresh_until == pytest.approx(1010.25)
    assert envelope.keep_until == pytest.approx(1070.25), "kept for max(grace, fail_safe)"
    assert envelope.compute == pytest.approx(0.25), "the recompute time is measured and stored"
    assert memory.store.expires_at("app:k") == pytest.approx(1070.25), "physical TTL = keep"


async def test_jitter_stretches_the_duration(cache: Cache, memory: MemoryProvider) -> None:
    cache.freshness.rng = FixedRandom(0.5)
    await cache.set("k", 1, options=EntryOptions(ttl=100, jitter=0.2))
    envelope = decode_envelope(await memory.get("app:k") or "")
    assert envelope is not None and envelope.fresh_until == pytest.approx(1000 + 110)


# -- grace (stale-while-revalidate) -----------------------------------------------------
async def test_grace_serves_stale_at_once_and_refreshes_once_in_background(
    cache: Cache, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10, grace=30)
    await cache.get_or_set("k", Factory("old"), options=opts)
    clock.advance(15)
    gate = asyncio.Event()
    refresh = Factory("new", gate=gate)
    answers = await asyncio.gather(
        *(cache.get_or_set("k", refresh, options=opts) for _ in range(10))
    )
    assert answers == ["old"] * 10, "within grace every reader gets the stale value at once"
    await settle()
    assert refresh.calls == 1, "one background refresh per key, not one per reader"
    gate.set()
    await settle()
    assert await cache.get_or_set("k", refresh, options=opts) == "new"
    stats = counters(cache)
    assert stats["stale_served"] == 10
    assert stats["background_refreshes"] == 1
    assert stats["early_recomputes"] == 0


async def test_after_grace_the_reader_waits_for_the_factory(
    cache: Cache, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10, grace=30)
    await cache.get_or_set("k", Factory("old"), options=opts)
    clock.advance(40)
    assert await cache.get_or_set("k", Factory("new"), options=opts) == "new"
    assert counters(cache)["stale_served"] == 0


async def test_plain_get_never_sees_a_stale_value(cache: Cache, clock: ManualClock) -> None:
    await cache.get_or_set("k", Factory("old"), options=EntryOptions(ttl=10, grace=30))
    clock.advance(11)
    assert await cache.get("k", "miss") == "miss"
    assert await cache.get_many(["k"]) == {}
    assert await cache.has("k") is True, "has() reports the entry kept for grace"


async def test_a_failing_background_refresh_keeps_the_entry(
    cache: Cache, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10, grace=30)
    await cache.get_or_set("k", Factory("old"), options=opts)
    clock.advance(12)
    failing = Factory(error=Boom())
    assert await cache.get_or_set("k", failing, options=opts) == "old"
    await settle()
    assert failing.calls == 1
    assert await cache.get_or_set("k", failing, options=opts) == "old"
    await settle()
    assert failing.calls == 1, "a failed refresh is not retried on every read"


# -- fail-safe --------------------------------------------------------------------------
async def test_fail_safe_serves_the_last_good_value_and_throttles(
    cache: Cache, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10, fail_safe=100, fail_safe_throttle=20)
    await cache.get_or_set("k", Factory("good"), options=opts)
    clock.advance(30)
    failing = Factory(error=Boom())
    assert await cache.get_or_set("k", failing, options=opts) == "good"
    assert failing.calls == 1
    stats = counters(cache)
    assert stats["fail_safe_activations"] == 1 and stats["stale_served"] == 1
    clock.advance(19.9)
    assert await cache.get_or_set("k", failing, options=opts) == "good"
    assert failing.calls == 1, "within the throttle the factory is not called again"
    clock.advance(0.1)
    assert await cache.get_or_set("k", failing, options=opts) == "good"
    assert failing.calls == 2, "after the throttle the factory is retried"
    working = Factory("fresh")
    clock.advance(20)
    assert await cache.get_or_set("k", working, options=opts) == "fresh"


async def test_fail_safe_never_serves_past_its_maximum(cache: Cache, clock: ManualClock) -> None:
    opts = EntryOptions(ttl=10, fail_safe=100, fail_safe_throttle=30)
    await cache.get_or_set("k", Factory("good"), options=opts)
    clock.advance(10 + 99)
    assert await cache.get_or_set("k", Factory(error=Boom()), options=opts) == "good"
    clock.advance(1)  # 100 s past expiry: the throttle is capped at keep_until
    with pytest.raises(Boom):
        await cache.get_or_set("k", Factory(error=Boom()), options=opts)


async def test_without_fail_safe_the_factory_error_reaches_the_caller(
    cache: Cache, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10)
    await cache.get_or_set("k", Factory("good"), options=opts)
    clock.advance(11)
    with pytest.raises(Boom):
        await cache.get_or_set("k", Factory(error=Boom()), options=opts)


async def test_fail_safe_answers_from_the_process_copy_when_the_backend_is_down(
    memory: MemoryProvider, clock: ManualClock
) -> None:
    backend = Switchable(memory)
    cache = Cache(backend, namespace="app", clock=clock, breaker_threshold=1000)
    opts = EntryOptions(ttl=10, fail_safe=60, fail_safe_throttle=5)
    await cache.get_or_set("k", Factory("good"), options=opts)
    backend.down = True
    factory = Factory("unused")
    assert await cache.get_or_set("k", factory, options=opts) == "good", "fresh local copy"
    assert factory.calls == 0
    clock.advance(20)
    assert await cache.get_or_set("k", Factory(error=Boom()), options=opts) == "good"
    assert counters(cache)["fail_safe_activations"] == 1
    clock.advance(50)  # 60 s past expiry: nothing left to serve
    with pytest.raises(Boom):
        await cache.get_or_set("k", Factory(error=Boom()), options=opts)
    assert await cache.get_or_set("k", Factory("origin"), options=opts) == "origin"


# -- timeouts ---------------------------------------------------------------------------
async def test_soft_timeout_serves_stale_and_stores_the_late_value(
    cache: Cache, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10, fail_safe=100, soft_timeout=0.01)
    await cache.get_or_set("k", Factory("old"), options=opts)
    clock.advance(11)
    gate = asyncio.Event()
    slow = Factory("new", gate=gate)
    assert await cache.get_or_set("k", slow, options=opts) == "old", "soft timeout: stale"
    assert slow.calls == 1 and slow.finished == 0
    gate.set()
    await settle()
    assert slow.finished == 1
    assert await cache.get("k") == "new", "the slow factory's value is stored when it arrives"
    stats = counters(cache)
    assert stats["stale_served"] == 1 and stats["background_refreshes"] == 1


async def test_hard_timeout_without_stale_raises_and_still_stores(cache: Cache) -> None:
    opts = EntryOptions(ttl=10, hard_timeout=0.01)
    gate = asyncio.Event()
    slow = Factory("late", gate=gate)
    with pytest.raises(FactoryTimeoutError) as info:
        await cache.get_or_set("k", slow, options=opts)
    assert isinstance(info.value, TimeoutError)
    assert "hard_timeout" in str(info.value)
    gate.set()
    await settle()
    assert await cache.get("k") == "late", "the factory finished in the background"


async def test_hard_timeout_with_stale_serves_it(cache: Cache, clock: ManualClock) -> None:
    opts = EntryOptions(ttl=10, fail_safe=100, hard_timeout=0.01)
    await cache.get_or_set("k", Factory("old"), options=opts)
    clock.advance(11)
    gate = asyncio.Event()
    assert await cache.get_or_set("k", Factory("new", gate=gate), options=opts) == "old"
    gate.set()
    await settle()


async def test_a_factory_timeout_error_is_a_failure_not_a_hard_timeout(
    cache: Cache, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10, hard_timeout=5)
    with pytest.raises(TimeoutError) as info:
        await cache.get_or_set("k", Factory(error=TimeoutError("origin")), options=opts)
    assert not isinstance(info.value, FactoryTimeoutError)


# -- early refresh ----------------------------------------------------------------------
async def test_eager_refresh_starts_one_background_refresh_after_the_fraction(
    cache: Cache, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10, eager_refresh=0.8)
    await cache.get_or_set("k", Factory("old"), options=opts)
    clock.advance(7.9)
    early = Factory("new")
    assert await cache.get_or_set("k", early, options=opts) == "old"
    await settle()
    assert early.calls == 0
    clock.advance(0.1)
    assert await cache.get_or_set("k", early, options=opts) == "old", "still fresh: old value"
    await settle()
    assert early.calls == 1
    assert await cache.get_or_set("k", early, options=opts) == "new"
    stats = counters(cache)
    assert stats["early_recomputes"] == 1 and stats["background_refreshes"] == 1
    assert stats["stale_served"] == 0


@pytest.mark.parametrize(("draw", "refreshes"), [(0.5, False), (0.999, True)])
async def test_xfetch_uses_the_stored_recompute_time(
    cache: Cache, clock: ManualClock, draw: float, refreshes: bool
) -> None:
    # delta = 2 s, beta = 1, read 5 s before expiry: refresh iff -2*ln(U) >= 5, U = 1 - draw.
    opts = EntryOptions(ttl=20, xfetch_beta=1.0)
    await cache.get_or_set("k", Factory("old", clock=clock, advance=2.0), options=opts)
    clock.advance(15)
    cache.freshness.rng = FixedRandom(draw)
    refresh = Factory("new")
    assert await cache.get_or_set("k", refresh, options=opts) == "old"
    await settle()
    expected = -2.0 * math.log(1 - draw) >= 5
    assert expected is refreshes
    assert refresh.calls == int(refreshes)
    assert counters(cache)["early_recomputes"] == int(refreshes)


# -- tags -------------------------------------------------------------------------------
async def test_invalidate_tag_hides_entries_written_before_it(
    cache: Cache, clock: ManualClock
) -> None:
    await cache.set("a", 1, tags=("user:1",))
    await cache.set("b", 2, tags=("user:1", "org:7"))
    await cache.set("c", 3, tags=("org:7",))
    await cache.set("d", 4)
    clock.advance(1)
    assert await cache.invalidate_tag("user:1") is None, "the count is unknown by design"
    assert await cache.get("a") is None and await cache.get("b") is None
    assert await cache.get("c") == 3 and await cache.get("d") == 4
    assert await cache.get_many(["a", "b", "c", "d"]) == {"c": 3, "d": 4}
    clock.advance(1)
    await cache.set("a", 10, tags=("user:1",))
    assert await cache.get("a") == 10, "an entry written after the invalidation is visible"
    factory = Factory("recomputed")
    opts = EntryOptions(ttl=60, grace=60, fail_safe=60, tags=("user:1",))
    assert await cache.get_or_set("b", factory, options=opts) == "recomputed"
    assert factory.calls == 1, "no grace or fail-safe serves a tag-invalidated entry"


async def test_tagged_entries_never_outlive_their_markers(
    memory: MemoryProvider, clock: ManualClock
) -> None:
    cache = Cache(memory, namespace="app", clock=clock, tag_ttl=100)
    await cache.set("k", 1, ttl=1000, tags=("t",))
    assert memory.store.expires_at("app:k") == pytest.approx(1100)
    await cache.invalidate_tag("t")
    assert memory.store.expires_at("app:__tag:t") == pytest.approx(1100)


async def test_bad_tags_are_programmer_errors(cache: Cache) -> None:
    from cachesim import ConfigurationError

    with pytest.raises(ConfigurationError, match="collection"):
        await cache.set("k", 1, tags="user:1")
    with pytest.raises(ConfigurationError, match="printable"):
        await cache.set("k", 1, tags=("",))


# -- distributed lock, two caches on one backend ----------------------------------------
async def test_distributed_lock_one_factory_call_across_caches(
    memory: MemoryProvider, clock: ManualClock
) -> None:
    caches = [Cache(memory, namespace="app", clock=clock) for _ in range(4)]
    opts = EntryOptions(ttl=60, lock="distributed")
    gate = asyncio.Event()
    factory = Factory("once", gate=gate)
    calls = [c.get_or_set("k", factory, options=opts) for c in caches for _ in range(5)]
    pending = asyncio.gather(*calls)
    await asyncio.wait_for(factory.started.wait(), 30)
    await asyncio.sleep(0.02)  # let the other caches find the lock taken
    gate.set()
    assert await pending == ["once"] * 20
    assert factory.calls == 1, "the lock lets one cache (process) call the factory"
    assert sum(c.freshness.lock_waits for c in caches) == 3
    assert await memory.get("app:__lock:k") is None, "the holder released its lock"


async def test_a_dead_holder_blocks_the_key_only_until_its_lock_expires(
    memory: MemoryProvider, clock: ManualClock
) -> None:
    cache = Cache(memory, namespace="app", clock=clock)
    opts = EntryOptions(ttl=60, lock="distributed", lock_ttl=5, lock_wait=600)
    await memory.set("app:__lock:k", "someone-who-died", 5)
    factory = Factory("filled")
    waiter = asyncio.ensure_future(cache.get_or_set("k", factory, options=opts))
    await asyncio.sleep(0.05)
    assert not waiter.done() and factory.calls == 0, "a waiter does not call the factory"
    clock.advance(5)  # the dead holder's lock expires
    assert await asyncio.wait_for(waiter, 30) == "filled"
    assert factory.calls == 1
    assert cache.freshness.lock_waits == 1 and cache.freshness.lock_timeouts == 0


async def test_distributed_lock_needs_the_capabilities(clock: ManualClock) -> None:
    from cachesim import ConfigurationError
    from cachesim.providers.proxy import ProviderProxy

    class Plain(ProviderProxy):
        capabilities = frozenset()  # type: ignore[assignment]

    cache = Cache(Plain(MemoryProvider(clock=clock)), clock=clock)
    with pytest.raises(ConfigurationError, match="atomic_set_if_absent"):
        await cache.get_or_set("k", Factory(), options=EntryOptions(lock="distributed"))


async def test_a_lost_entry_is_answered_from_the_process_copy_only_if_the_factory_fails(
    cache: Cache, memory: MemoryProvider, clock: ManualClock
) -> None:
    opts = EntryOptions(ttl=10, fail_safe=60)
    await cache.get_or_set("k", Factory("good"), options=opts)
    memory.store.delete("app:k")  # the backend restarted empty
    assert await cache.get_or_set("k", Factory("origin"), options=opts) == "origin", (
        "the local copy is never a hit: the factory is asked first"
    )
    memory.store.delete("app:k")
    assert await cache.get_or_set("k", Factory(error=Boom()), options=opts) == "origin"
    assert counters(cache)["fail_safe_activations"] == 1
    assert counters(cache)["stale_served"] == 0, "the copy was still fresh"


async def test_refresh_backoff_runs_on_the_cache_clock(cache: Cache, clock: ManualClock) -> None:
    opts = EntryOptions(ttl=10, grace=100)
    await cache.get_or_set("k", Factory("old"), options=opts)
    clock.advance(12)
    failing = Factory(error=Boom())
    await cache.get_or_set("k", failing, options=opts)
    await settle()
    assert failing.calls == 1
    clock.advance(0.999)
    await cache.get_or_set("k", failing, options=opts)
    await settle()
    assert failing.calls == 1, "within the backoff (cache clock) no new refresh"
    clock.advance(0.001)
    await cache.get_or_set("k", failing, options=opts)
    await settle()
    assert failing.calls == 2, "after the backoff on the cache clock, a refresh again"


async def test_lock_wait_deadline_runs_on_the_cache_clock(
    memory: MemoryProvider, clock: ManualClock
) -> None:
    cache = Cache(memory, namespace="app", clock=clock)
    opts = EntryOptions(ttl=60, lock="distributed", lock_ttl=600, lock_wait=30)
    await memory.set("app:__lock:k", "stuck", 600)
    factory = Factory("own")
    waiter = asyncio.ensure_future(cache.get_or_set("k", factory, options=opts))
    await asyncio.sleep(0.05)
    assert not waiter.done(), "the real time that passed must not count toward lock_wait"
    clock.advance(30)
    assert await asyncio.wait_for(waiter, 30) == "own"
    assert cache.freshness.lock_timeouts == 1


async def test_a_background_refresh_skips_while_another_process_holds_the_lock(
    memory: MemoryProvider, clock: ManualClock
) -> None:
    cache = Cache(memory, namespace="app", clock=clock)
    opts = EntryOptions(ttl=10, grace=100, lock="distributed", lock_ttl=60)
    await cache.get_or_set("k", Factory("old"), options=opts)
    clock.advance(11)
    await memory.set("app:__lock:k", "another-process", 60)
    refresh = Factory("new")
    assert await cache.get_or_set("k", refresh, options=opts) == "old"
    await settle()
    assert refresh.calls == 0, "the lock holder refreshes; this process does not"
    assert cache.freshness.lock_waits == 0, "a background refresh does not wait"
    assert await cache.get_or_set("k", refresh, options=opts) == "old"
    await settle()
    assert cache.freshness.background_refreshes == 1, "no new attempt within the backoff"


async def test_invalidate_tag_refuses_a_non_string(cache: Cache) -> None:
    from cachesim import ConfigurationError

    with pytest.raises(ConfigurationError, match="string"):
        await cache.invalidate_tag(["a", "b"])  # type: ignore[arg-type]
