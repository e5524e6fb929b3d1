"""TAG, FRESH and LOCK-3: tags, entries with options and the distributed lock."""

from __future__ import annotations

import asyncio

import pytest

from cachesim import ConfigurationError, EntryOptions
from cachesim.contract.context import ContractContext
from cachesim.contract.helpers import AsyncFactory, CountingFactory
from cachesim.contract.markers import clause, requires
from cachesim.providers.capabilities import Capability


async def _settle(ctx: ContractContext) -> None:
    """Let background refreshes reach the backend and land."""
    for _ in range(50 if ctx.info.in_process else 200):
        await asyncio.sleep(0 if ctx.info.in_process else 0.01)
        if not ctx.cache.freshness.flights:
            return


@clause("TAG-1", "TAG-2")
async def test_invalidate_tag_hides_entries_written_before_it(ctx: ContractContext) -> None:
    cache = ctx.cache
    await cache.set("a", 1, tags=("user:1",))
    await cache.set("b", 2, tags=("user:1", "org:7"))
    await cache.set("c", 3, tags=("org:7",))
    await cache.set("d", 4)
    await ctx.advance(0.01)
    assert await cache.invalidate_tag("user:1") is None
    assert await cache.get("a", "MISS") == "MISS"
    assert await cache.get_many(["a", "b", "c", "d"]) == {"c": 3, "d": 4}
    factory = CountingFactory("recomputed")
    assert await cache.get_or_set("b", factory, options=EntryOptions(ttl=60)) == "recomputed"
    assert factory.calls == 1, "get_or_set must recompute a tag-invalidated entry"
    await ctx.advance(0.01)
    await cache.set("a", 10, tags=("user:1",))
    assert await cache.get("a") == 10, "an entry written after the invalidation is visible"


@clause("TAG-1")
@requires(Capability.SHARED_BACKEND)
async def test_an_invalidation_is_seen_by_every_cache_on_the_backend(ctx: ContractContext) -> None:
    other = ctx.make_cache(await ctx.open_provider())
    await ctx.cache.set("k", "v", tags=("t",))
    assert await other.get("k") == "v"
    await ctx.advance(0.01)
    await other.invalidate_tag("t")
    assert await ctx.cache.get("k", "MISS") == "MISS"


@clause("TAG-3")
async def test_bad_tags_are_refused_before_writing(ctx: ContractContext) -> None:
    for bad in ("user:1", ("",), ("a b\n",), ("x" * 201,), (1,)):
        with pytest.raises(ConfigurationError):
            await ctx.cache.set("k", "v", tags=bad)  # type: ignore[arg-type]
    assert await ctx.cache.has("k") is False, "a refused write wrote something"
    with pytest.raises(ConfigurationError):
        await ctx.cache.invalidate_tag("")


@clause("FRESH-1")
async def test_entries_with_options_round_trip(ctx: ContractContext) -> None:
    cache = ctx.cache
    options = EntryOptions(ttl=60, grace=30, fail_safe=120, tags=("t",))
    value = {"id": 1, "roles": ["a", "b"], "none": None, "big": 2**70}
    assert await cache.set("k", value, options=options) is True
    assert await cache.get("k") == value
    assert await cache.get_many(["k"]) == {"k": value}
    assert await cache.get_or_set("k", CountingFactory("new"), options=options) == value
    assert await cache.get_or_set("k", CountingFactory("new")) == value, (
        "a plain get_or_set must read an entry written with options"
    )
    assert await cache.set("bytes", b"\x00\xff", options=options) is True
    assert await cache.get("bytes") == b"\x00\xff"
    await cache.set("plain", [1, 2])
    assert await ctx.provider.get(f"{ctx.namespace}:plain") == "[1,2]", (
        "an entry written without options must keep the plain stored form"
    )


@clause("FRESH-2")
@requires(Capability.TTL)
async def test_grace_serves_stale_then_the_refreshed_value(ctx: ContractContext) -> None:
    cache = ctx.cache
    ttl = ctx.ttl_unit
    options = EntryOptions(ttl=ttl, grace=ttl * 20)
    mark = ctx.now()
    assert await cache.get_or_set("k", CountingFactory("old"), options=options) == "old"
    await ctx.after_expiry(mark, ttl)
    assert await cache.get("k", "MISS") == "MISS", "plain get must not see a stale entry"
    refresh = AsyncFactory("new")
    assert await cache.get_or_set("k", refresh, options=options) == "old"
    await asyncio.wait_for(refresh.started.wait(), 30)
    await _settle(ctx)
    assert refresh.calls == 1
    assert await cache.get_or_set("k", CountingFactory("other"), options=options) == "new"
    stats = await cache.get_stats(count_keys=False)
    assert stats.stale_served == 1, "the stale read is counted"
    assert stats.background_refreshes == 1, "the refresh is counted"


@clause("LOCK-3")
@requires(Capability.COMPARE_AND_DELETE, Capability.ATOMIC_SET_IF_ABSENT)
async def test_one_factory_call_across_caches_with_the_distributed_lock(
    ctx: ContractContext,
) -> None:
    providers = [ctx.provider]
    if ctx.has_capability(Capability.SHARED_BACKEND):
        providers += [await ctx.open_provider(), await ctx.open_provider()]
    caches = [ctx.cache] + [ctx.make_cache(p) for p in providers[1:]]
    caches += [ctx.make_cache(ctx.provider) for _ in range(2)]  # more caches on one provider
    options = EntryOptions(ttl=60, lock="distributed", lock_ttl=30, lock_wait=60)
    factory = AsyncFactory("once", gated=True)
    pending = asyncio.gather(
        *(c.get_or_set("k", factory, options=options) for c in caches for _ in range(5))
    )
    await asyncio.wait_for(factory.started.wait(), 30)
    await asyncio.sleep(0.05 if ctx.info.in_process else 0.3)  # the others find the lock taken
    factory.release()
    answers = await pending
    assert answers == ["once"] * len(answers)
    assert factory.calls == 1, f"the lock must allow one factory call, saw {factory.calls}"


@clause("LOCK-3")
@requires(Capability.COMPARE_AND_DELETE, Capability.ATOMIC_SET_IF_ABSENT, Capability.TTL)
async def test_a_dead_holders_lock_expires(ctx: ContractContext) -> None:
    ttl = ctx.ttl_unit
    lock = f"{ctx.namespace}:__lock:k"
    mark = ctx.now()
    assert await ctx.provider.set_if_absent(lock, "holder-that-died", ttl) is True
    options = EntryOptions(ttl=60, lock="distributed", lock_ttl=ttl, lock_wait=600)
    factory = CountingFactory("filled")
    waiter = asyncio.ensure_future(ctx.cache.get_or_set("k", factory, options=options))
    await asyncio.sleep(0.05)
    assert factory.calls == 0, "a waiter must not call the factory while the lock is held"
    await ctx.after_expiry(mark, ttl)
    assert await asyncio.wait_for(waiter, 60) == "filled"
    assert factory.calls == 1
    stats = await ctx.cache.get_stats(count_keys=False)
    assert stats.lock_timeouts == 0
