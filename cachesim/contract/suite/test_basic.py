"""OP: basic operations (get, set, delete, has and their bulk forms)."""

from __future__ import annotations

import random

import pytest

from cachesim import Cache
from cachesim.contract.context import ContractContext
from cachesim.contract.helpers import CountingFactory
from cachesim.contract.markers import clause, realtime, requires
from cachesim.providers.capabilities import Capability


@clause("OP-1")
async def test_get_of_missing_key_returns_none(cache: Cache) -> None:
    assert await cache.get("never-written") is None


@clause("OP-1")
async def test_get_of_missing_key_returns_the_given_default(cache: Cache) -> None:
    sentinel = object()
    assert await cache.get("never-written", sentinel) is sentinel
    assert await cache.get("never-written", default=0) == 0


@clause("OP-2")
async def test_set_returns_true_and_get_returns_the_value(cache: Cache) -> None:
    assert await cache.set("k", {"id": 1, "name": "Ada"}) is True
    assert await cache.get("k") == {"id": 1, "name": "Ada"}


@clause("OP-2")
async def test_set_replaces_the_value(cache: Cache) -> None:
    await cache.set("k", "old")
    assert await cache.set("k", "new") is True
    assert await cache.get("k") == "new"


@clause("OP-2")
async def test_set_replaces_a_value_of_another_type(cache: Cache) -> None:
    for value in ("text", 1, [1, 2], {"a": None}, None, b"\x00raw", 2.5, False):
        await cache.set("k", value)
        got = await cache.get("k", "MISS")
        assert got == value, f"after set({value!r}) get returned {got!r}"


@clause("OP-3")
async def test_delete_of_live_entry_returns_true_then_false(cache: Cache) -> None:
    await cache.set("k", "v")
    assert await cache.delete("k") is True
    assert await cache.delete("k") is False


@clause("OP-3")
async def test_delete_of_missing_key_returns_false(cache: Cache) -> None:
    assert await cache.delete("never-written") is False


@clause("OP-3", "OP-4", "OP-5")
async def test_no_stale_reads_after_delete(cache: Cache) -> None:
    await cache.set("k", "v")
    for _ in range(3):  # warm any read path the provider may keep
        assert await cache.get("k") == "v"
    assert await cache.get_many(["k"]) == {"k": "v"}
    assert await cache.delete("k") is True
    assert await cache.get("k", "MISS") == "MISS", "get returned a deleted value"
    assert await cache.has("k") is False, "has() is True after delete"
    assert await cache.get_many(["k"]) == {}, "get_many returned a deleted value"
    factory = CountingFactory("fresh")
    assert await cache.get_or_set("k", factory) == "fresh"
    assert factory.calls == 1, "get_or_set did not call the factory after delete"


@clause("OP-3")
async def test_a_deleted_key_can_be_written_again(cache: Cache) -> None:
    await cache.set("k", "first")
    await cache.delete("k")
    assert await cache.set("k", "second") is True
    assert await cache.get("k") == "second"


@clause("OP-4")
@pytest.mark.parametrize("state", ["present", "missing", "deleted", "overwritten"])
async def test_has_agrees_with_get(cache: Cache, state: str) -> None:
    if state != "missing":
        await cache.set("k", "v")
    if state == "deleted":
        await cache.delete("k")
    if state == "overwritten":
        await cache.set("k", "w")
    sentinel = object()
    hit = await cache.get("k", sentinel) is not sentinel
    assert await cache.has("k") is hit


@clause("OP-4", "TTL-7")
@requires(Capability.TTL)
@realtime
async def test_has_agrees_with_get_after_expiry(ctx: ContractContext, cache: Cache) -> None:
    unit = ctx.ttl_unit
    mark = ctx.now()
    await cache.set("k", "v", ttl=unit)
    await ctx.after_expiry(mark, unit)
    has = await cache.has("k")  # asked first: a read may purge the entry
    sentinel = object()
    hit = await cache.get("k", sentinel) is not sentinel
    assert has is hit, f"has() says {has} but get() says {hit} about an expired entry"
    assert hit is False


@clause("OP-5")
async def test_get_many_returns_only_the_hits(cache: Cache) -> None:
    await cache.set("a", 1)
    await cache.set("n", None)
    assert await cache.get_many(["a", "missing", "n"]) == {"a": 1, "n": None}


@clause("OP-5")
async def test_get_many_maps_each_key_to_its_own_value(cache: Cache) -> None:
    keys = [f"item:{i}" for i in range(60)]
    await cache.set_many({k: f"value of {k}" for k in keys[::2]})
    asked = keys[:]
    random.Random(7).shuffle(asked)
    got = await cache.get_many(asked)
    assert got == {k: f"value of {k}" for k in keys[::2]}


@clause("OP-5")
async def test_get_many_of_nothing_is_empty(cache: Cache) -> None:
    assert await cache.get_many([]) == {}
    assert await cache.get_many(["missing-1", "missing-2"]) == {}


@clause("OP-5")
async def test_get_many_collapses_duplicates_and_takes_any_iterable(cache: Cache) -> None:
    await cache.set("a", "A")
    assert await cache.get_many(["a", "a", "b", "a"]) == {"a": "A"}
    assert await cache.get_many(k for k in ("a", "b")) == {"a": "A"}


@clause("OP-6")
async def test_set_many_stores_every_entry(cache: Cache) -> None:
    items = {f"k{i}": {"i": i} for i in range(150)}
    assert await cache.set_many(items) is True
    assert await cache.get_many(list(items)) == items


@clause("OP-6")
async def test_set_many_replaces_existing_entries(cache: Cache) -> None:
    await cache.set("a", "old")
    assert await cache.set_many({"a": "new", "b": "B"}) is True
    assert await cache.get("a") == "new"
    assert await cache.get("b") == "B"


@clause("OP-6")
async def test_set_many_of_nothing_returns_true(cache: Cache) -> None:
    assert await cache.set_many({}) is True


@clause("OP-7")
async def test_delete_many_counts_live_entries(cache: Cache) -> None:
    await cache.set_many({"a": 1, "b": 2, "c": 3})
    assert await cache.delete_many(["a", "b", "missing"]) == 2
    assert await cache.get_many(["a", "b", "c"]) == {"c": 3}


@clause("OP-7")
async def test_delete_many_counts_duplicates_once(cache: Cache) -> None:
    await cache.set("a", 1)
    assert await cache.delete_many(["a", "a", "a"]) == 1
    assert await cache.delete_many([]) == 0
