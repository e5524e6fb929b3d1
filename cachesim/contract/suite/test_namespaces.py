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


#: First characters from every UTF-8 length and both ends of the code space: a clear
#: that deletes a key range ending at ``prefix + "\uffff"`` misses the astral ones.
_EDGE_FIRSTS = "\x00\x7f\x80\u07ff\u0800\uffff\U00010000\U0001f600\U0010ffff"
EDGE_KEYS: list[str] = [f"{first}{rest}" for first in _EDGE_FIRSTS for rest in ("", "x")]


@clause("NS-2")
async def test_clear_removes_keys_starting_anywhere_in_the_code_space(
    ctx: ContractContext, cache: Cache
) -> None:
    items = {key: f"value of {key!r}" for key in EDGE_KEYS}
    assert await cache.set_many(items) is True
    if ctx.has_capability(Capability.COUNT_KEYS):
        keys = (await cache.get_stats()).keys
        assert keys == len(items), (
            f"STAT-4 keys counts live entries: {len(items)} keys whose first character spans "
            f"U+0000..U+10FFFF, expected {len(items)}, observed {keys}"
        )
    cleared = await cache.clear()
    left = await cache.get_many(list(items))
    assert (cleared, left) == (len(items), {}), (
        f"NS-2 clear empties the namespace: {len(items)} keys whose first character spans "
        f"U+0000..U+10FFFF, expected clear() == {len(items)} and nothing left, observed "
        f"{cleared} and {sorted(left)!r} left; fix: a key range must end past every "
        "character (prefix + U+FFFF misses astral characters such as U+1F600); compare the "
        "prefix exactly instead"
    )


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
