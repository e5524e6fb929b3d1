"""STAT: the statistics a cache reports."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import pytest

from cachesim import Cache, CacheStats
from cachesim.contract.context import ContractContext
from cachesim.contract.helpers import CountingFactory
from cachesim.contract.markers import clause, requires
from cachesim.providers.capabilities import Capability

_COUNTERS = ("hits", "misses", "sets", "deletes", "errors", "timeouts", "short_circuited")


@clause("STAT-1")
async def test_stats_schema(ctx: ContractContext, cache: Cache) -> None:
    stats = await cache.get_stats()
    assert isinstance(stats, CacheStats)
    assert stats.namespace == ctx.namespace
    assert isinstance(stats.provider, str)
    assert stats.provider
    for name in _COUNTERS:
        value = getattr(stats, name)
        assert type(value) is int, f"{name}={value!r}"
        assert value >= 0, f"{name}={value!r}"
    assert stats.hit_rate == 0.0
    if ctx.has_capability(Capability.COUNT_KEYS):
        assert type(stats.keys) is int
        assert stats.keys >= 0
    else:
        assert stats.keys is None, "keys must be None without COUNT_KEYS"
    json.dumps(stats.as_dict())
    json.dumps(stats.to_json())


@clause("STAT-1", "STAT-2")
async def test_hit_rate_is_hits_over_reads(cache: Cache) -> None:
    await cache.set("k", 1)
    for key in ("k", "k", "k", "missing"):
        await cache.get(key)
    stats = await cache.get_stats()
    assert (stats.hits, stats.misses) == (3, 1)
    assert stats.hit_rate == 0.75


@clause("STAT-2", "OP-4")
async def test_reads_are_counted_exactly(cache: Cache) -> None:
    await cache.set("a", 1)
    await cache.set("n", None)
    await cache.get("a")  # hit
    await cache.get("n")  # hit (a cached None)
    await cache.get("x")  # miss
    await cache.get_many(["a", "a", "n", "x", "y"])  # 2 hits, 2 misses
    await cache.get_or_set("a", CountingFactory(0))  # hit
    await cache.get_or_set("z", CountingFactory(0))  # miss (and a fill)
    await cache.has("a")  # not a read
    await cache.has("x")  # not a read
    await cache.delete("a")
    stats = await cache.get_stats()
    assert (stats.hits, stats.misses) == (5, 4)


@clause("STAT-3")
async def test_writes_and_removals_are_counted(cache: Cache) -> None:
    await cache.set("a", 1)
    await cache.set_many({"b": 2, "c": 3, "d": 4})
    await cache.get_or_set("e", CountingFactory(5))
    await cache.delete("a")
    await cache.delete("never")
    await cache.delete_many(["b", "c", "never"])
    await cache.clear()  # removes d and e
    stats = await cache.get_stats()
    assert stats.sets == 5
    assert stats.deletes == 5


@clause("STAT-3", "PAT-2")
@requires(Capability.PATTERN_INVALIDATION)
async def test_invalidations_are_counted_as_deletes(cache: Cache) -> None:
    await cache.set_many({"u:1": 1, "u:2": 2, "v": 3})
    await cache.invalidate_pattern("u:*")
    assert (await cache.get_stats()).deletes == 2


@clause("STAT-4")
@requires(Capability.COUNT_KEYS)
async def test_keys_counts_live_entries_of_the_namespace(ctx: ContractContext) -> None:
    cache = ctx.cache
    other = ctx.make_cache(namespace=ctx.fresh_namespace())
    await other.set_many({f"o{i}": i for i in range(7)})
    assert (await cache.get_stats()).keys == 0
    await cache.set_many({"a": 1, "b": 2, "c": 3})
    assert (await cache.get_stats()).keys == 3
    await cache.set("a", "overwritten")
    assert (await cache.get_stats()).keys == 3
    await cache.delete("b")
    assert (await cache.get_stats()).keys == 2
    await cache.clear()
    assert (await cache.get_stats()).keys == 0
    assert (await other.get_stats()).keys == 7


@clause("STAT-4", "PAT-1")
@requires(Capability.COUNT_KEYS, Capability.PATTERN_INVALIDATION)
async def test_keys_follows_invalidation(cache: Cache) -> None:
    await cache.set_many({"u:1": 1, "u:2": 2, "v": 3})
    await cache.invalidate_pattern("u:*")
    assert (await cache.get_stats()).keys == 1


@clause("STAT-5")
async def test_reset_stats_zeroes_counters_and_keeps_entries(cache: Cache) -> None:
    await cache.set("k", "v")
    await cache.get("k")
    await cache.get("missing")
    cache.reset_stats()
    stats = await cache.get_stats()
    assert (stats.hits, stats.misses, stats.sets, stats.deletes) == (0, 0, 0, 0)
    assert await cache.get("k") == "v"


def _commands(stats: CacheStats) -> int:
    value = stats.provider_stats.get("commands")
    assert type(value) is int, f"provider_stats['commands'] is {value!r}"
    return value


@clause("STAT-6")
@requires(Capability.COMMAND_ACCOUNTING)
async def test_commands_are_counted(cache: Cache) -> None:
    await cache.set("k", "v")
    start = _commands(await cache.get_stats(count_keys=False))
    await cache.get("k")
    after_hit = _commands(await cache.get_stats(count_keys=False))
    assert after_hit - start == 1, f"a hit cost {after_hit - start} commands"
    await cache.get_or_set("fill", CountingFactory("v"))
    after_fill = _commands(await cache.get_stats(count_keys=False))
    assert after_fill - after_hit == 2, f"a get_or_set miss cost {after_fill - after_hit}"
    await cache.set_many({"a": 1, "b": 2})
    await cache.delete("a")
    assert _commands(await cache.get_stats(count_keys=False)) > after_fill


async def _provider_commands(ctx: ContractContext) -> int:
    value = (await ctx.provider.get_stats()).get("commands")
    assert type(value) is int, f"provider get_stats()['commands'] is {value!r}, expected an int"
    return value


_COSTED = [
    "get",
    "set",
    "delete",
    "has",
    "get_many",
    "set_many",
    "delete_many",
    pytest.param("invalidate_pattern", marks=requires(Capability.PATTERN_INVALIDATION)),
    "clear",
    pytest.param("count", marks=requires(Capability.COUNT_KEYS)),
]


@clause("STAT-6")
@requires(Capability.COMMAND_ACCOUNTING)
@pytest.mark.parametrize("operation", _COSTED)
async def test_every_operation_is_counted_as_declared(ctx: ContractContext, operation: str) -> None:
    provider = ctx.provider
    ns = ctx.namespace
    keys = [f"{ns}:k{i}" for i in range(7)]
    await provider.set_many([(k, '"v"') for k in keys], None)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "get": lambda: provider.get(keys[0]),
        "set": lambda: provider.set(keys[0], '"w"', None),
        "delete": lambda: provider.delete(keys[1]),
        "has": lambda: provider.has(keys[2]),
        "get_many": lambda: provider.get_many([*keys[:5], f"{ns}:missing"]),
        "set_many": lambda: provider.set_many([(k, '"x"') for k in keys[:5]], None),
        "delete_many": lambda: provider.delete_many([*keys[3:6], f"{ns}:missing"]),
        "invalidate_pattern": lambda: provider.invalidate_pattern(f"{ns}:k6"),
        "clear": lambda: provider.clear(ns),
        "count": lambda: provider.count(f"{ns}:*"),
    }
    before = await _provider_commands(ctx)
    await calls[operation]()
    cost = await _provider_commands(ctx) - before
    declared = (ctx.info.command_costs or {}).get(operation)
    if declared is not None:
        assert cost == declared, (
            f"one {operation} call with at most 10 keys: the provider declares "
            f"command_costs[{operation!r}] = {declared}, observed {cost} commands counted"
        )
    else:
        assert cost > 0, (
            f"one {operation} call counted {cost} commands: every backend operation must be "
            "counted, including commands sent in pipelines and batches"
        )
