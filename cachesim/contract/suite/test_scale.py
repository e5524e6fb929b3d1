"""OP-8 and NS-6: bulk operations of thousands of items in non-round counts, and
exact namespace operations on a backend crowded with foreign keys.

The foreign keys are written straight to the provider (full keys, no namespace of
this test) and named to sort before, after and right next to the namespace's keys,
so a ``SCAN`` over them returns many pages, most of them empty for the namespace's
``MATCH``. The ``thorough`` profile multiplies every size by four.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from cachesim import Cache
from cachesim.contract.context import ContractContext
from cachesim.contract.markers import clause, expensive, requires
from cachesim.providers.capabilities import Capability

_CHUNK = 2000


@clause("OP-8", "OP-5", "OP-6", "OP-7")
@expensive
async def test_bulk_operations_of_thousands_in_odd_counts(
    ctx: ContractContext, cache: Cache
) -> None:
    total = 4099 * ctx.options.scale
    items = {f"item:{i:05d}": {"i": i} for i in range(total)}
    assert await cache.set_many(items) is True
    missing = [f"missing:{i}" for i in range(13)]
    asked = [*reversed(list(items)), *missing]
    got = await cache.get_many(asked)
    lost = [k for k in items if k not in got]
    wrong = [k for k in got if got[k] != items.get(k)]
    assert not lost, (
        f"set_many then get_many of {total} items: expected {total} hits, observed "
        f"{len(got)}; lost {len(lost)} (e.g. {lost[:3]}): is the last partial batch written?"
    )
    assert not wrong, (
        f"get_many of {total} items: {len(wrong)} keys got another key's value "
        f"(e.g. {wrong[:3]}): keep each batch's answers aligned with its keys"
    )
    assert len(got) == total, f"get_many returned {len(got) - total} keys never written"
    doomed = list(items)[: 3001 * ctx.options.scale]
    deleted = await cache.delete_many([*doomed, *doomed[:7], *missing])
    assert deleted == len(doomed), (
        f"delete_many of {len(doomed)} live keys (plus duplicates and missing keys): expected "
        f"{len(doomed)}, observed {deleted}"
    )
    left = await cache.get_many(list(items))
    assert len(left) == total - len(doomed), (
        f"after delete_many: expected {total - len(doomed)} entries left, observed {len(left)}"
    )
    if ctx.has_capability(Capability.COUNT_KEYS):
        keys = (await cache.get_stats()).keys
        assert keys == total - len(doomed), (
            f"CacheStats.keys after bulk writes and deletes: expected {total - len(doomed)}, "
            f"observed {keys}"
        )


def _foreign_keys(namespace: str, count: int) -> list[str]:
    """Keys outside ``namespace`` that sort before, after and right around it."""
    stem = namespace[:-1]
    shapes = [
        "0000-foreign:{i:05d}",  # before everything
        "~~~~-foreign:{i:05d}",  # after everything
        namespace + "0:{i:05d}",  # just before "<ns>:" (0 < :)
        namespace + ";{i:05d}",  # just after "<ns>:" (; > :)
        namespace + "{i:05d}",  # longer namespaces
        stem + ":{i:05d}",  # a namespace that is a string prefix of ours
        "{i:05d}:" + namespace + ":k",  # our namespace inside someone else's key
    ]
    return [shapes[i % len(shapes)].format(i=i) for i in range(count)]


@asynccontextmanager
async def _crowded(ctx: ContractContext, count: int) -> AsyncIterator[list[str]]:
    """``count`` foreign keys on the backend for the duration of the block."""
    keys = _foreign_keys(ctx.namespace, count)
    provider = ctx.provider
    try:
        for start in range(0, len(keys), _CHUNK):
            await provider.set_many([(k, '"foreign"') for k in keys[start : start + _CHUNK]], None)
        yield keys
    finally:
        for start in range(0, len(keys), _CHUNK):
            await provider.delete_many(keys[start : start + _CHUNK])


async def _foreign_left(ctx: ContractContext, keys: list[str]) -> int:
    found = 0
    for start in range(0, len(keys), _CHUNK):
        values = await ctx.provider.get_many(keys[start : start + _CHUNK])
        found += sum(v is not None for v in values)
    return found


@clause("NS-6", "NS-2", "NS-3", "PAT-5")
@requires(Capability.PATTERN_INVALIDATION)
@expensive
async def test_exact_among_ten_thousand_foreign_keys(ctx: ContractContext, cache: Cache) -> None:
    count = 10_007 * ctx.options.scale
    async with _crowded(ctx, count) as foreign:
        mine = {f"k{i}": i for i in range(1237)}
        await cache.set_many(mine)
        counting = ctx.has_capability(Capability.COUNT_KEYS)
        if counting:
            keys = (await cache.get_stats()).keys
            assert keys == len(mine), (
                f"CacheStats.keys with {count} foreign keys on the backend: expected "
                f"{len(mine)}, observed {keys} (fix: count with SCAN MATCH over every page, "
                "not DBSIZE)"
            )
        expected = sum(1 for k in mine if k.startswith("k1"))
        removed = await cache.invalidate_pattern("k1*")
        assert removed == expected, (
            f"invalidate_pattern('k1*') among {count} foreign keys: expected {expected}, "
            f"observed {removed} (fix: loop SCAN until the cursor returns to 0; pages may be "
            "empty and may repeat keys)"
        )
        cleared = await cache.clear()
        assert cleared == len(mine) - expected, (
            f"clear() among {count} foreign keys: expected {len(mine) - expected}, "
            f"observed {cleared}"
        )
        assert await cache.get_many(list(mine)) == {}, "clear() left entries of the namespace"
        survivors = await _foreign_left(ctx, foreign)
        assert survivors == count, (
            f"clear/invalidate_pattern removed {count - survivors} of {count} keys outside "
            f"the namespace {ctx.namespace!r}"
        )
        if counting:
            keys = (await cache.get_stats()).keys
            assert keys == 0, f"CacheStats.keys after clear: expected 0, observed {keys}"


@clause("NS-6", "NS-2", "NS-3")
@expensive
async def test_clear_is_exact_among_foreign_keys(ctx: ContractContext, cache: Cache) -> None:
    if ctx.has_capability(Capability.PATTERN_INVALIDATION):
        pytest.skip("clear is checked among foreign keys with the pattern tests")
    count = 10_007 * ctx.options.scale
    async with _crowded(ctx, count) as foreign:
        await cache.set_many({f"k{i}": i for i in range(311)})
        cleared = await cache.clear()
        assert cleared == 311, f"clear() among {count} foreign keys: expected 311, got {cleared}"
        survivors = await _foreign_left(ctx, foreign)
        assert survivors == count, (
            f"clear() removed {count - survivors} of {count} keys outside {ctx.namespace!r}"
        )
