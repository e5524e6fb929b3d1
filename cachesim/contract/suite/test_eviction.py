"""EVI: a bounded provider evicts, consistently, and never loses the newest write."""

from __future__ import annotations

import pytest

from cachesim import Cache
from cachesim.contract.context import ContractContext
from cachesim.contract.markers import clause, requires
from cachesim.providers.capabilities import Capability

CAPACITY = 8


async def _bounded(ctx: ContractContext) -> Cache:
    if "max_entries" not in ctx.harness.factory.accepts:
        pytest.fail(
            "the provider declares EVICTION but its factory takes no max_entries keyword, "
            "so the suite cannot bound it"
        )
    return ctx.make_cache(await ctx.open_provider(max_entries=CAPACITY))


@clause("EVI-1")
@requires(Capability.EVICTION)
async def test_bounded_provider_keeps_at_most_its_capacity(ctx: ContractContext) -> None:
    cache = await _bounded(ctx)
    keys = [f"k{i}" for i in range(CAPACITY * 5)]
    for key in keys:
        assert await cache.set(key, key) is True
        assert await cache.get(key) == key, f"{key} was evicted by its own write"
    live = await cache.get_many(keys)
    assert 0 < len(live) <= CAPACITY, f"{len(live)} entries live with capacity {CAPACITY}"
    assert keys[-1] in live


@clause("EVI-2")
@requires(Capability.EVICTION)
async def test_evicted_entries_are_gone_everywhere(ctx: ContractContext) -> None:
    cache = await _bounded(ctx)
    keys = [f"k{i}" for i in range(CAPACITY * 3)]
    await cache.set_many({k: k for k in keys})
    live = await cache.get_many(keys)
    for key in keys:
        assert await cache.has(key) is (key in live), f"has({key}) disagrees with get_many"
    if ctx.has_capability(Capability.COUNT_KEYS):
        assert (await cache.get_stats()).keys == len(live)
