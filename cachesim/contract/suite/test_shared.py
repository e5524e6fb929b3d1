"""SHARE: two provider instances over one backend."""

from __future__ import annotations

from cachesim.contract.context import ContractContext
from cachesim.contract.markers import clause, requires
from cachesim.providers.capabilities import Capability

SHARED = Capability.SHARED_BACKEND


@clause("SHARE-1")
@requires(SHARED)
async def test_instances_see_each_others_writes_and_deletes(ctx: ContractContext) -> None:
    first = ctx.cache
    second = ctx.make_cache(await ctx.open_provider())
    await first.set("k", {"from": "first"})
    assert await second.get("k") == {"from": "first"}
    assert await second.has("k") is True
    await second.set_many({"a": 1, "b": 2})
    assert await first.get_many(["a", "b"]) == {"a": 1, "b": 2}
    assert await second.delete("k") is True
    assert await first.get("k", "MISS") == "MISS"
    assert await first.delete_many(["a"]) == 1
    assert await second.has("a") is False


@clause("SHARE-1", "NS-2")
@requires(SHARED)
async def test_clear_through_one_instance_is_seen_by_the_other(ctx: ContractContext) -> None:
    first = ctx.cache
    second = ctx.make_cache(await ctx.open_provider())
    await second.set_many({"a": 1, "b": 2})
    assert await first.clear() == 2
    assert await second.get_many(["a", "b"]) == {}


@clause("SHARE-1", "PAT-1")
@requires(SHARED, Capability.PATTERN_INVALIDATION)
async def test_invalidation_through_one_instance_is_seen_by_the_other(
    ctx: ContractContext,
) -> None:
    first = ctx.cache
    second = ctx.make_cache(await ctx.open_provider())
    await first.set_many({"u:1": 1, "u:2": 2, "v": 3})
    assert await second.invalidate_pattern("u:*") == 2
    assert await first.get_many(["u:1", "u:2", "v"]) == {"v": 3}


@clause("SHARE-2", "NS-3")
@requires(SHARED)
async def test_namespaces_stay_isolated_across_instances(ctx: ContractContext) -> None:
    mine = ctx.cache
    theirs = ctx.make_cache(await ctx.open_provider(), namespace=ctx.fresh_namespace())
    await theirs.set("k", "theirs")
    await mine.set("k", "mine")
    assert await mine.clear() == 1
    assert await theirs.get("k") == "theirs"


@clause("SHARE-2", "PAT-3")
@requires(SHARED, Capability.PATTERN_INVALIDATION)
async def test_invalidation_stays_in_its_namespace_across_instances(
    ctx: ContractContext,
) -> None:
    mine = ctx.cache
    theirs = ctx.make_cache(await ctx.open_provider(), namespace=ctx.namespace + "x")
    await theirs.set("k", "theirs")
    await mine.set("k", "mine")
    assert await mine.invalidate_pattern("*") == 1
    assert await theirs.get("k") == "theirs"
