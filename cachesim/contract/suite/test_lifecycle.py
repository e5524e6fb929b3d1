"""LIFE: initialize, disconnect, use after disconnect and reconnect."""

from __future__ import annotations

from cachesim import Cache
from cachesim.contract.context import ContractContext
from cachesim.contract.helpers import CountingFactory
from cachesim.contract.markers import clause


@clause("LIFE-1")
async def test_cache_works_as_an_async_context_manager(ctx: ContractContext) -> None:
    provider = await ctx.open_provider(initialize=False)
    async with ctx.make_cache(provider) as cache:
        assert isinstance(cache, Cache)
        assert await cache.set("k", "v") is True
        assert await cache.get("k") == "v"


@clause("LIFE-1")
async def test_initialize_and_disconnect_are_idempotent(ctx: ContractContext) -> None:
    provider = await ctx.open_provider(initialize=False)
    await provider.initialize()
    await provider.initialize()
    cache = ctx.make_cache(provider)
    assert await cache.set("k", "v") is True
    assert await cache.get("k") == "v"
    await provider.disconnect()
    await provider.disconnect()


@clause("LIFE-2")
async def test_operations_after_disconnect_never_raise(ctx: ContractContext) -> None:
    provider = await ctx.open_provider()
    cache = ctx.make_cache(provider)
    await cache.set("k", "v")
    await cache.disconnect()
    ctx.allow_provider_failures = True  # the provider may refuse: the cache must not raise
    await cache.get("k")
    await cache.has("k")
    await cache.get_many(["k", "x"])
    await cache.set("k", "w")
    await cache.set_many({"a": 1})
    await cache.delete("a")
    await cache.delete_many(["a", "b"])
    await cache.get_or_set("fill", CountingFactory("v"))
    await cache.invalidate_pattern("*")
    await cache.clear()
    await cache.get_stats()
    await cache.disconnect()


@clause("LIFE-3")
async def test_initialize_after_disconnect_reconnects(ctx: ContractContext) -> None:
    provider = await ctx.open_provider()
    cache = ctx.make_cache(provider)
    await cache.set("before", "v")
    await provider.disconnect()
    await provider.initialize()
    assert await cache.set("after", "w") is True
    assert await cache.get("after") == "w"
    assert await cache.get_many(["after"]) == {"after": "w"}
    assert await cache.delete("after") is True
