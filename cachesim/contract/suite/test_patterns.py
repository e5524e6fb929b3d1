"""PAT: invalidate_pattern with Redis glob semantics, escaping and any number of keys."""

from __future__ import annotations

from typing import Any

import pytest

from cachesim import Cache, InvalidKeyError, escape_glob
from cachesim.contract.context import ContractContext
from cachesim.contract.data import ESCAPE_CASES, GLOB_CASES, GLOB_KEYS, Case, GlobCase, ids
from cachesim.contract.markers import clause, expensive, realtime, requires
from cachesim.providers.capabilities import Capability

PATTERNS = Capability.PATTERN_INVALIDATION


@clause("PAT-1", "PAT-2")
@requires(PATTERNS)
@pytest.mark.parametrize("case", GLOB_CASES, ids=ids(GLOB_CASES))
async def test_glob_removes_exactly_the_matching_keys(cache: Cache, case: GlobCase) -> None:
    await cache.set_many({key: key for key in GLOB_KEYS})
    removed = await cache.invalidate_pattern(case.pattern)
    left = set(await cache.get_many(list(GLOB_KEYS)))
    wrongly_kept = sorted(case.matches & left)
    wrongly_removed = sorted(set(GLOB_KEYS) - case.matches - left)
    assert (wrongly_kept, wrongly_removed) == ([], []), (
        f"pattern {case.pattern!r}: kept {wrongly_kept}, removed {wrongly_removed}"
    )
    assert removed == len(case.matches), f"returned {removed}, removed {len(case.matches)}"


@clause("PAT-2")
@requires(PATTERNS)
async def test_no_match_returns_zero_and_removes_nothing(cache: Cache) -> None:
    await cache.set_many({"a": 1, "b": 2})
    assert await cache.invalidate_pattern("zzz*") == 0
    assert await cache.get_many(["a", "b"]) == {"a": 1, "b": 2}


@clause("PAT-2")
@requires(PATTERNS)
async def test_count_is_of_keys_actually_removed(cache: Cache) -> None:
    await cache.set_many({"user:1": 1, "user:2": 2})
    await cache.delete("user:2")
    assert await cache.invalidate_pattern("user:*") == 1
    assert await cache.invalidate_pattern("user:*") == 0


@clause("PAT-2", "TTL-7")
@requires(PATTERNS, Capability.TTL)
@realtime
async def test_expired_keys_are_not_counted(ctx: ContractContext, cache: Cache) -> None:
    unit = ctx.ttl_unit
    mark = ctx.now()
    await cache.set_many({"p:1": 1, "p:2": 2}, ttl=unit)
    await cache.set("p:3", 3, ttl=unit * 50)
    await ctx.after_expiry(mark, unit)
    assert await cache.invalidate_pattern("p:*") == 1


@clause("PAT-3")
@requires(PATTERNS)
@pytest.mark.parametrize("pattern", ["*", "k*", "?", "[k]"])
async def test_only_this_namespace_is_touched(ctx: ContractContext, pattern: str) -> None:
    mine = ctx.cache
    other = ctx.make_cache(namespace=ctx.fresh_namespace())
    suffix = ctx.make_cache(namespace=mine.namespace + "x")
    for cache in (mine, other, suffix):
        await cache.set("k", cache.namespace)
    assert await mine.invalidate_pattern(pattern) == 1
    assert await other.get("k") == other.namespace
    assert await suffix.get("k") == suffix.namespace


@clause("PAT-4")
@requires(PATTERNS)
@pytest.mark.parametrize("case", ESCAPE_CASES, ids=ids(ESCAPE_CASES))
async def test_escape_glob_matches_exactly_one_key(cache: Cache, case: Case) -> None:
    target = case.value
    decoys = {target + "x", "x" + target, target * 2, "a" + target + "b", "axb", "a", "ab"}
    decoys.discard(target)
    await cache.set_many(dict.fromkeys([target, *decoys], "v"))
    assert await cache.invalidate_pattern(escape_glob(target)) == 1
    assert await cache.has(target) is False
    left = await cache.get_many(sorted(decoys))
    assert set(left) == decoys, f"escape_glob({target!r}) also removed {decoys - set(left)}"


@clause("PAT-5")
@requires(PATTERNS)
@expensive
async def test_thousands_of_keys_are_removed_in_one_call(cache: Cache) -> None:
    total = 2500
    for start in range(0, total, 500):
        await cache.set_many({f"bulk:{i}": i for i in range(start, start + 500)})
    await cache.set_many({f"keep:{i}": i for i in range(10)})
    assert await cache.invalidate_pattern("bulk:*") == total
    assert await cache.get_many([f"bulk:{i}" for i in range(0, total, 97)]) == {}
    assert len(await cache.get_many([f"keep:{i}" for i in range(10)])) == 10
    assert await cache.invalidate_pattern("bulk:*") == 0


@clause("PAT-6")
@pytest.mark.parametrize(
    "bad", ["", None, 1, b"*", ["*"]], ids=["empty", "none", "int", "bytes", "list"]
)
async def test_bad_pattern_is_refused(cache: Cache, bad: Any) -> None:
    await cache.set("k", "v")
    with pytest.raises(InvalidKeyError):
        await cache.invalidate_pattern(bad)
    assert await cache.get("k") == "v"
