"""ISO and SHARE: which provider instances see each other's entries, persistence
across a reconnect, and everything a shared backend must share (TTLs, bulk writes,
key counts)."""

from __future__ import annotations

import pytest

from cachesim import NO_EXPIRY
from cachesim.contract.context import ContractContext
from cachesim.contract.markers import clause, realtime, requires
from cachesim.providers.capabilities import Capability

_MISS = "<miss>"


@clause("ISO-1")
async def test_separate_in_process_instances_are_separate(ctx: ContractContext) -> None:
    if not ctx.info.in_process or ctx.has_capability(Capability.SHARED_BACKEND):
        pytest.skip("applies to in-process providers that do not declare SHARED_BACKEND")
    first = ctx.cache
    second = ctx.make_cache(await ctx.open_provider())
    await first.set_many({"a": 1, "b": 2})
    await first.set("c", 3)
    seen = await second.get_many(["a", "b", "c"])
    assert seen == {}, (
        f"a second instance of an in-process provider without SHARED_BACKEND read {seen} "
        "written through the first: expected {} (state in a class attribute or module global?)"
    )
    assert await second.clear() == 0, "clear() through a second instance removed entries"
    assert await first.get_many(["a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}, (
        "clear() through a second, separate instance removed the first instance's entries"
    )
    if ctx.has_capability(Capability.COUNT_KEYS):
        keys = (await second.get_stats()).keys
        assert keys == 0, f"the separate instance counted {keys} keys, expected 0"


@clause("ISO-2")
@requires(Capability.PERSISTENT)
async def test_entries_survive_disconnect_and_initialize(ctx: ContractContext) -> None:
    provider = await ctx.open_provider()
    cache = ctx.make_cache(provider)
    items = {"a": {"n": 1}, "b": "two", "c\n*": None}
    await cache.set_many(items, ttl=NO_EXPIRY)
    await cache.set("ttl", "expires", ttl=365 * 86400)
    await provider.disconnect()
    await provider.initialize()
    got = await cache.get_many([*items, "ttl"])
    assert got == {**items, "ttl": "expires"}, (
        f"after disconnect() and initialize() a PERSISTENT provider should still hold "
        f"{sorted([*items, 'ttl'])}, observed {sorted(got)}"
    )
    if ctx.has_capability(Capability.SHARED_BACKEND):
        other = ctx.make_cache(await ctx.open_provider())
        seen = await other.get_many([*items, "ttl"])
        assert seen == got, (
            f"a new instance from the same factory (PERSISTENT, SHARED_BACKEND) read "
            f"{sorted(seen)}, expected {sorted(got)}"
        )


@clause("ISO-2", "TTL-1")
@requires(Capability.PERSISTENT, Capability.TTL)
@realtime
async def test_ttls_survive_disconnect_and_initialize(ctx: ContractContext) -> None:
    provider = await ctx.open_provider()
    cache = ctx.make_cache(provider)
    unit = ctx.ttl_unit
    mark = ctx.now()
    await cache.set("short", "v", ttl=unit)
    await provider.disconnect()
    await provider.initialize()
    await ctx.after_expiry(mark, unit)
    got = await cache.get("short", _MISS)
    assert got == _MISS, (
        f"an entry with TTL {unit:g} s outlived its TTL across a reconnect (observed {got!r})"
    )


@clause("SHARE-1", "TTL-9")
@requires(Capability.SHARED_BACKEND, Capability.TTL)
@realtime
async def test_instances_share_ttls_and_bulk_writes(ctx: ContractContext) -> None:
    first = ctx.cache
    second = ctx.make_cache(await ctx.open_provider())
    unit = ctx.ttl_unit
    mark = ctx.now()
    await first.set_many({"a": 1, "b": 2}, ttl=unit)
    await first.set("forever", 3, ttl=NO_EXPIRY)
    seen = await second.get_many(["a", "b", "forever"])
    assert seen == {"a": 1, "b": 2, "forever": 3} or not ctx.within(mark, unit), (
        f"a second instance read {seen} of a set_many through the first"
    )
    await ctx.after_expiry(mark, unit)
    for name, cache in (("second", second), ("first", first)):  # the writer's last
        left = await cache.get_many(["a", "b", "forever"])
        assert left == {"forever": 3}, (
            f"after the set_many TTL the {name} instance read {left}, expected only "
            "{'forever': 3}: the TTL must live in the shared backend"
        )


@clause("SHARE-1", "STAT-4")
@requires(Capability.SHARED_BACKEND, Capability.COUNT_KEYS)
async def test_instances_share_key_counts(ctx: ContractContext) -> None:
    first = ctx.cache
    second = ctx.make_cache(await ctx.open_provider())
    await first.set_many({f"k{i}": i for i in range(7)})
    await second.set("k7", 7)
    await second.delete_many(["k0", "k1"])
    for name, cache in (("first", first), ("second", second)):
        keys = (await cache.get_stats()).keys
        assert keys == 6, f"CacheStats.keys through the {name} instance: expected 6, got {keys}"
