"""NS: namespaces are independent, and clear() empties exactly one of them."""

from __future__ import annotations

import pytest

from cachesim import Cache
from cachesim.contract.context import ContractContext
from cachesim.contract.markers import clause, requires
from cachesim.providers.capabilities import Capability


@clause("NS-1")
async def test_same_key_in_two_namespaces_is_two_entries(ctx: ContractContext) -> None:
    first = ctx.cache
    second = ctx.make_cache(namespace=ctx.fresh_namespace())
    await first.set("k", "first")
    await second.set("k", "second")
    assert await first.get("k") == "first"
    assert await second.get("k") == "second"
    assert await first.delete("k") is True
    assert await second.get("k") == "second", "delete reached into another namespace"
    assert await first.has("k") is False


@clause("NS-2")
async def test_clear_removes_every_entry_and_counts_them(cache: Cache) -> None:
    await cache.set_many({f"k{i}": i for i in range(25)})
    await cache.set("none", None)
    assert await cache.clear() == 26
    assert await cache.get_many([f"k{i}" for i in range(25)] + ["none"]) == {}
    assert await cache.has("none") is False


@clause("NS-2")
async def test_clear_of_an_empty_namespace_returns_zero(cache: Cache) -> None:
    assert await cache.clear() == 0
    await cache.set("k", 1)
    await cache.delete("k")
    assert await cache.clear() == 0


@clause("NS-2")
async def test_namespace_is_usable_after_clear(cache: Cache) -> None:
    await cache.set("k", "old")
    await cache.clear()
    assert await cache.set("k", "new") is True
    assert await cache.get("k") == "new"
    assert await cache.clear() == 1


@clause("NS-3")
async def test_clear_never_escapes_its_namespace(ctx: ContractContext) -> None:
    base = ctx.namespace
    cache = ctx.cache
    siblings = [base + "2", base + "-x", base + "_", base[:-1], "x" + base, base.upper()]
    others = [ctx.make_cache(namespace=name) for name in siblings]
    for other in others:
        await other.set("k", other.namespace)
    raw = ctx.provider
    raw_keys = [base, base + "x:raw", base + "2:raw", "raw:" + base + ":k"]
    for key in raw_keys:
        await raw.set(key, "raw", None)
    await cache.set_many({"k": "mine", "k2": "mine"})
    assert await cache.clear() == 2
    for other in others:
        got = await other.get("k", "MISS")
        assert got == other.namespace, f"clear of {base!r} removed {other.namespace!r}:k"
    for key in raw_keys:
        assert await raw.get(key) == "raw", f"clear of {base!r} removed the raw key {key!r}"
        await raw.delete(key)


@clause("NS-4")
@pytest.mark.parametrize("meta", ["*", "?", "[1]", "\\", "[^x]", "{a}"])
async def test_namespace_with_glob_characters_clears_only_itself(
    ctx: ContractContext, meta: str
) -> None:
    stem = ctx.fresh_namespace()
    odd = ctx.make_cache(namespace=stem + meta)
    neighbours = [stem + s for s in ("1", "x", "abc", "", "]", "\\x")]
    caches = [ctx.make_cache(namespace=n) for n in neighbours if n != odd.namespace]
    for other in caches:
        await other.set("k", "neighbour")
    await odd.set("k", "odd")
    assert await odd.get("k") == "odd"
    assert await odd.clear() == 1
    for other in caches:
        assert await other.get("k", "MISS") == "neighbour", (
            f"clear of namespace {odd.namespace!r} removed {other.namespace!r}:k"
        )


@clause("NS-4", "PAT-3")
@requires(Capability.PATTERN_INVALIDATION)
@pytest.mark.parametrize("meta", ["*", "?", "[1]", "\\"])
async def test_namespace_with_glob_characters_invalidates_only_itself(
    ctx: ContractContext, meta: str
) -> None:
    stem = ctx.fresh_namespace()
    odd = ctx.make_cache(namespace=stem + meta)
    neighbour = ctx.make_cache(namespace=stem + "1")
    await neighbour.set("k", "neighbour")
    await odd.set("k", "odd")
    assert await odd.invalidate_pattern("*") == 1
    assert await neighbour.get("k") == "neighbour"
