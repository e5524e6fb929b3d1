"""TTL: expiry, the default TTL, NO_EXPIRY, invalid TTLs, overwrites and invisibility.

On a provider with an injected clock time moves by hand; otherwise these tests
sleep through short TTLs (marker ``realtime``) and accept a miss only once the TTL
has really elapsed, so network latency cannot make them flaky.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from cachesim import NO_EXPIRY, Cache, InvalidTTLError
from cachesim.contract.context import ContractContext
from cachesim.contract.data import INVALID_TTLS, Case, ids
from cachesim.contract.helpers import CountingFactory
from cachesim.contract.markers import clause, realtime, requires
from cachesim.providers.capabilities import Capability

TTL = Capability.TTL
_DAY = 86400.0


async def _expect_live(
    ctx: ContractContext, cache: Cache, key: str, mark: float, ttl: float, value: Any = "v"
) -> None:
    """``key`` must still read ``value`` unless ``ttl`` has really elapsed since ``mark``."""
    got = await cache.get(key, "MISS")
    if got != value:
        assert not ctx.within(mark, ttl), (
            f"{key!r} missed after {ctx.elapsed(mark):.3f} s, before its TTL of {ttl} s"
        )


async def _expect_gone(cache: Cache, key: str, ttl: float) -> None:
    got = await cache.get(key, "MISS")
    assert got == "MISS", f"{key!r} (TTL {ttl} s) was still readable after its TTL"


@clause("TTL-1")
@requires(TTL)
@realtime
@pytest.mark.parametrize("kind", ["int", "float", "timedelta"])
async def test_entry_lives_until_its_ttl_then_expires(
    ctx: ContractContext, cache: Cache, kind: str
) -> None:
    unit = ctx.ttl_unit
    ttl: Any = {"int": math.ceil(unit), "float": unit, "timedelta": dt.timedelta(seconds=unit)}[
        kind
    ]
    seconds = ttl.total_seconds() if isinstance(ttl, dt.timedelta) else float(ttl)
    mark = ctx.now()
    assert await cache.set("k", "v", ttl=ttl) is True
    await ctx.before_expiry(mark, seconds)
    await _expect_live(ctx, cache, "k", mark, seconds)
    await ctx.after_expiry(mark, seconds)
    await _expect_gone(cache, "k", seconds)


@clause("TTL-2")
@requires(TTL)
@realtime
@pytest.mark.parametrize("how", ["omitted", "none"])
async def test_no_ttl_means_the_default_ttl(ctx: ContractContext, how: str) -> None:
    unit = ctx.ttl_unit
    cache = ctx.make_cache(default_ttl=unit)
    mark = ctx.now()
    if how == "omitted":
        await cache.set("k", "v")
    else:
        await cache.set("k", "v", ttl=None)
    await ctx.before_expiry(mark, unit)
    await _expect_live(ctx, cache, "k", mark, unit)
    await ctx.after_expiry(mark, unit)
    await _expect_gone(cache, "k", unit)


@clause("TTL-3")
@requires(TTL)
@realtime
@pytest.mark.parametrize("how", ["ttl_no_expiry", "ttl_float_inf", "default_no_expiry"])
async def test_no_expiry_never_expires(ctx: ContractContext, how: str) -> None:
    unit = ctx.ttl_unit
    if how == "default_no_expiry":
        cache = ctx.make_cache(default_ttl=NO_EXPIRY)
        await cache.set("forever", "v")
    else:
        cache = ctx.make_cache(default_ttl=unit)
        await cache.set("forever", "v", ttl=NO_EXPIRY if how == "ttl_no_expiry" else float("inf"))
    mark = ctx.now()
    await cache.set("short", "v", ttl=unit)
    await ctx.after_expiry(mark, unit)
    await _expect_gone(cache, "short", unit)
    assert await cache.get("forever") == "v", "an entry stored with NO_EXPIRY expired"
    if ctx.clock is not None:
        await ctx.advance(50 * 365 * _DAY)
        assert await cache.get("forever") == "v", "a NO_EXPIRY entry expired within 50 years"


@clause("TTL-4")
@pytest.mark.parametrize("case", INVALID_TTLS, ids=ids(INVALID_TTLS))
async def test_invalid_ttl_is_refused_before_anything_happens(cache: Cache, case: Case) -> None:
    await cache.set("k", "old")
    with pytest.raises(InvalidTTLError):
        await cache.set("k", "new", ttl=case.value)
    assert await cache.get("k") == "old", "a refused set changed the stored value"
    with pytest.raises(InvalidTTLError):
        await cache.set_many({"other": 1}, ttl=case.value)
    assert await cache.has("other") is False
    factory = CountingFactory("v")
    with pytest.raises(InvalidTTLError):
        await cache.get_or_set("fill", factory, ttl=case.value)
    assert factory.calls == 0, "get_or_set called the factory before validating the TTL"
    assert await cache.has("fill") is False


@clause("TTL-4")
@pytest.mark.parametrize("bad", [0, -5, "60", math.nan], ids=["zero", "negative", "str", "nan"])
async def test_invalid_default_ttl_is_refused(ctx: ContractContext, bad: Any) -> None:
    with pytest.raises(InvalidTTLError):
        ctx.make_cache(default_ttl=bad)


@clause("TTL-4", "TTL-1")
@requires(TTL)
@pytest.mark.parametrize(
    "ttl",
    [1, 1.5, 0.001, dt.timedelta(minutes=2), NO_EXPIRY],
    ids=["int", "float", "minimum_1ms", "timedelta", "no_expiry"],
)
async def test_valid_ttl_is_accepted(ctx: ContractContext, cache: Cache, ttl: Any) -> None:
    mark = ctx.now()
    assert await cache.set("k", "v", ttl=ttl) is True
    seconds = ttl.total_seconds() if isinstance(ttl, dt.timedelta) else float(ttl)
    await _expect_live(ctx, cache, "k", mark, seconds)


@clause("TTL-5")
@requires(TTL)
@realtime
@pytest.mark.parametrize(
    ("first", "second"),
    [(10.0, 1.0), (1.0, 3.0), (1.0, math.inf), (math.inf, 1.0), (1.0, 1.0)],
    ids=["shorter", "longer", "to_no_expiry", "from_no_expiry", "same_restarts"],
)
async def test_a_write_replaces_the_ttl(
    ctx: ContractContext, cache: Cache, first: float, second: float
) -> None:
    unit = ctx.ttl_unit
    first_ttl, second_ttl = first * unit, second * unit
    start = ctx.now()
    await cache.set("k", "first", ttl=first_ttl)
    if first == second:
        await ctx.advance_to(start, unit * 0.6)
    mark = ctx.now()
    await cache.set("k", "second", ttl=second_ttl)
    if math.isinf(second_ttl):
        await ctx.after_expiry(start, first_ttl)
        assert await cache.get("k") == "second", "the old TTL was kept after a NO_EXPIRY write"
        return
    if first_ttl < second_ttl:  # the old expiry passes; the entry must survive it
        await ctx.after_expiry(start, first_ttl)
        await _expect_live(ctx, cache, "k", mark, second_ttl, "second")
    await ctx.after_expiry(mark, second_ttl)
    await _expect_gone(cache, "k", second_ttl)


@clause("TTL-5", "TTL-9")
@requires(TTL)
@realtime
@pytest.mark.parametrize("writer", ["set_many", "get_or_set_after_expiry"])
async def test_bulk_and_fill_writes_replace_the_ttl(
    ctx: ContractContext, cache: Cache, writer: str
) -> None:
    unit = ctx.ttl_unit
    start = ctx.now()
    if writer == "set_many":
        await cache.set("k", "first", ttl=unit)
        await cache.set_many({"k": "second"}, ttl=NO_EXPIRY)
        await ctx.after_expiry(start, unit)
        assert await cache.get("k") == "second", "set_many kept the old TTL"
    else:
        await cache.set("k", "first", ttl=unit)
        await ctx.after_expiry(start, unit)
        assert await cache.get_or_set("k", lambda: "refilled", ttl=NO_EXPIRY) == "refilled"
        await ctx.advance(unit * 2)
        assert await cache.get("k") == "refilled", "the refilled entry kept an old TTL"


@clause("TTL-6")
@requires(TTL, Capability.TTL_SUBSECOND)
@realtime
@pytest.mark.parametrize("ttl", [0.001, 0.05, 0.25, 0.75], ids=["1ms", "50ms", "250ms", "750ms"])
async def test_subsecond_ttl_is_honoured(ctx: ContractContext, cache: Cache, ttl: float) -> None:
    mark = ctx.now()
    await cache.set("k", "v", ttl=ttl)
    await ctx.before_expiry(mark, ttl)
    await _expect_live(ctx, cache, "k", mark, ttl)
    await ctx.after_expiry(mark, ttl)
    await _expect_gone(cache, "k", ttl)


@clause("TTL-6")
@requires(TTL, Capability.TTL_SUBSECOND)
@realtime
async def test_ttl_has_millisecond_resolution_beyond_whole_seconds(
    ctx: ContractContext, cache: Cache
) -> None:
    ttl = 1.25 if ctx.clock is not None else 0.45 * ctx.options.time_scale
    mark = ctx.now()
    await cache.set("k", "v", ttl=ttl)
    await ctx.before_expiry(mark, ttl)
    await _expect_live(ctx, cache, "k", mark, ttl)
    await ctx.after_expiry(mark, ttl)
    await _expect_gone(cache, "k", ttl)


_SURFACES = [
    "get",
    "has",
    "get_many",
    "delete",
    "delete_many",
    "get_or_set",
    pytest.param("stats_keys", marks=requires(Capability.COUNT_KEYS)),
    pytest.param("invalidate_pattern", marks=requires(Capability.PATTERN_INVALIDATION)),
    "clear",
]


@clause("TTL-7")
@requires(TTL)
@realtime
@pytest.mark.parametrize("surface", _SURFACES)
async def test_expired_entry_is_invisible(ctx: ContractContext, cache: Cache, surface: str) -> None:
    unit = ctx.ttl_unit
    mark = ctx.now()
    await cache.set("expired", "old", ttl=unit)
    await cache.set("live", "v", ttl=NO_EXPIRY)
    await ctx.after_expiry(mark, unit)
    if surface == "get":
        assert await cache.get("expired", "MISS") == "MISS"
    elif surface == "has":
        assert await cache.has("expired") is False
    elif surface == "get_many":
        assert await cache.get_many(["expired", "live"]) == {"live": "v"}
    elif surface == "delete":
        assert await cache.delete("expired") is False
    elif surface == "delete_many":
        assert await cache.delete_many(["expired", "live"]) == 1
    elif surface == "get_or_set":
        factory = CountingFactory("new")
        assert await cache.get_or_set("expired", factory) == "new"
        assert factory.calls == 1
    elif surface == "stats_keys":
        assert (await cache.get_stats()).keys == 1
    elif surface == "invalidate_pattern":
        assert await cache.invalidate_pattern("*") == 1
    else:
        assert await cache.clear() == 1


@clause("TTL-8")
@requires(TTL)
@pytest.mark.parametrize("days", [31, 40, 365], ids=["31_days", "40_days", "1_year"])
async def test_long_ttl_is_a_duration(ctx: ContractContext, cache: Cache, days: int) -> None:
    await cache.set("k", "v", ttl=days * _DAY)
    assert await cache.get("k") == "v", f"a {days}-day TTL expired at once"
    if ctx.clock is not None:
        await ctx.advance(29 * _DAY)
        assert await cache.get("k") == "v", f"a {days}-day TTL expired within 29 days"
        await ctx.advance((days - 29) * _DAY + 1)
        assert await cache.get("k", "MISS") == "MISS", f"a {days}-day TTL outlived {days} days"


@clause("TTL-9")
@requires(TTL)
@realtime
@pytest.mark.parametrize("how", ["explicit", "default"])
async def test_set_many_applies_the_ttl_to_every_entry(ctx: ContractContext, how: str) -> None:
    unit = ctx.ttl_unit
    cache = ctx.make_cache(default_ttl=unit)
    items = {f"k{i}": i for i in range(20)}
    mark = ctx.now()
    if how == "explicit":
        await cache.set_many(items, ttl=unit)
    else:
        await cache.set_many(items)
    await ctx.before_expiry(mark, unit)
    got = await cache.get_many(list(items))
    assert got == items or not ctx.within(mark, unit), f"entries missing early: {got}"
    await ctx.after_expiry(mark, unit)
    left = await cache.get_many(list(items))
    assert left == {}, f"set_many entries outlived the TTL: {sorted(left)}"


@clause("TTL-9")
@requires(TTL)
@realtime
async def test_get_or_set_applies_its_ttl(ctx: ContractContext, cache: Cache) -> None:
    unit = ctx.ttl_unit
    mark = ctx.now()
    assert await cache.get_or_set("k", lambda: "v", ttl=unit) == "v"
    await ctx.before_expiry(mark, unit)
    await _expect_live(ctx, cache, "k", mark, unit)
    await ctx.after_expiry(mark, unit)
    await _expect_gone(cache, "k", unit)
