"""TTL boundaries: the exact expiry instant, months and a year, TTL changes through
every write path, and reads that must not extend a TTL.

Every write path is checked (``set``, ``set_many`` and the ``get_or_set`` fill),
because providers implement them separately and get one of them wrong. On an
injected clock the checks are exact to the millisecond; in real time they are
ranges (a miss counts only once the TTL has certainly elapsed), and the cases of one
test run concurrently so that the sleeping overlaps.
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from cachesim import NO_EXPIRY, Cache
from cachesim.contract.context import ContractContext
from cachesim.contract.helpers import CountingFactory
from cachesim.contract.markers import clause, realtime, requires
from cachesim.providers.capabilities import Capability

TTL = Capability.TTL
CLOCK = Capability.CLOCK_INJECTABLE
_DAY = 86400.0
_MISS = "<miss>"
WRITERS = ["set", "set_many", "get_or_set"]


async def write(cache: Cache, writer: str, key: str, value: Any, ttl: float) -> None:
    """Write ``key`` through ``writer``; a ``get_or_set`` fill needs ``key`` to be a miss."""
    if writer == "set":
        assert await cache.set(key, value, ttl=ttl) is True
    elif writer == "set_many":
        assert await cache.set_many({key: value, key + "/sibling": value}, ttl=ttl) is True
    else:
        factory = CountingFactory(value)
        got = await cache.get_or_set(key, factory, ttl=ttl)
        assert factory.calls == 1, (
            f"get_or_set({key!r}) should have filled a missing key: expected the factory to run "
            f"once, observed {factory.calls} calls (returned {got!r})"
        )


async def observe(cache: Cache, key: str) -> dict[str, Any]:
    """What every read surface says about ``key`` (each is a separate read)."""
    return {
        "get": await cache.get(key, _MISS),
        "has": await cache.has(key),
        "get_many": key in await cache.get_many([key]),
    }


def _gone(seen: dict[str, Any]) -> bool:
    return seen == {"get": _MISS, "has": False, "get_many": False}


def _ttl_text(ttl: float) -> str:
    return "NO_EXPIRY" if math.isinf(ttl) else f"{ttl:g} s"


_EXACT_TTLS = [
    pytest.param(0.001, id="1ms", marks=requires(Capability.TTL_SUBSECOND)),
    pytest.param(0.25, id="250ms", marks=requires(Capability.TTL_SUBSECOND)),
    pytest.param(0.57, id="570ms", marks=requires(Capability.TTL_SUBSECOND)),
    pytest.param(1.0, id="1s"),
    pytest.param(1.1, id="1_1s"),
    pytest.param(1.001, id="1_001s"),  # int(1.001 * 1000) == 1000: a truncating conversion
    pytest.param(2.3, id="2_3s"),
    pytest.param(7.25, id="7_25s"),
    pytest.param(86400.0, id="1_day"),
    pytest.param(40 * _DAY, id="40_days"),
]


@clause("TTL-1", "TTL-9")
@requires(TTL, CLOCK)
@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("ttl", _EXACT_TTLS)
async def test_entry_is_gone_at_exactly_its_ttl(
    ctx: ContractContext, cache: Cache, writer: str, ttl: float
) -> None:
    if ctx.info.ttl_resolution:
        pytest.skip(f"the provider counts TTLs in steps of {ctx.info.ttl_resolution:g} s")
    assert ctx.clock is not None
    ctx.clock.advance(0.0003)  # off the millisecond grid: flooring the expiry shows
    mark = ctx.now()
    await write(cache, writer, "k", "v", ttl)
    ctx.clock.set(mark + ttl - 0.0002)
    before = await observe(cache, "k")
    assert before == {"get": "v", "has": True, "get_many": True}, (
        f"written by {writer} with TTL {ttl:g} s, read 0.2 ms before expiry: expected live "
        f"everywhere, observed {before}; fix: never shorten a TTL (int(ttl * 1000) turns "
        "0.57 s into 569 ms; flooring the absolute expiry to the millisecond loses up to 1 ms)"
    )
    ctx.clock.set(mark + ttl)
    at = await observe(cache, "k")
    assert _gone(at), (
        f"written by {writer} with TTL {ttl:g} s, read at exactly the expiry instant: expected "
        f"gone everywhere (live means less than ttl has elapsed), observed {at}; "
        "fix: expired when now >= written_at + ttl, not now > ..."
    )
    if ctx.has_capability(Capability.COUNT_KEYS):
        keys = (await cache.get_stats()).keys
        assert keys == 0, f"at the expiry instant CacheStats.keys: expected 0, observed {keys}"


_LONG_TTLS = [
    pytest.param(90 * _DAY, id="90_days"),
    pytest.param(180 * _DAY + 0.5, id="180_days"),
    pytest.param(365 * _DAY, id="1_year"),
]


@clause("TTL-8", "TTL-9")
@requires(TTL)
@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("ttl", _LONG_TTLS)
async def test_months_and_a_year_are_durations(
    ctx: ContractContext, cache: Cache, writer: str, ttl: float
) -> None:
    mark = ctx.now()
    await write(cache, writer, "k", "v", ttl)
    seen = await observe(cache, "k")
    assert seen == {"get": "v", "has": True, "get_many": True}, (
        f"a {ttl / _DAY:g}-day TTL written by {writer}: expected live at once, observed {seen}; "
        "fix: memcached reads TTLs over 30 days as Unix timestamps"
    )
    if ctx.clock is None:
        return
    step = ctx.info.ttl_resolution or 0.0
    for days in (29, 31, 89):
        if days * _DAY < ttl - step:
            ctx.clock.set(mark + days * _DAY)
            got = await cache.get("k", _MISS)
            assert got == "v", (
                f"a {ttl / _DAY:g}-day TTL written by {writer} expired after {days} days "
                f"(observed {got!r}); fix: no 32-bit millisecond overflow, no 30-day cap"
            )
    ctx.clock.set(mark + ttl - max(0.001, step))
    got = await cache.get("k", _MISS)
    assert got == "v", f"a {ttl / _DAY:g}-day TTL ({writer}) expired before its end: {got!r}"
    ctx.clock.set(mark + ttl + (2 * step if step else 0.0))
    gone = await observe(cache, "k")
    assert _gone(gone), (
        f"a {ttl / _DAY:g}-day TTL ({writer}) outlived its TTL: observed {gone}; fix: a long "
        "TTL may not be clamped up or stored as no expiry"
    )


@clause("TTL-3", "TTL-8")
@requires(TTL)
@pytest.mark.parametrize("writer", WRITERS)
async def test_no_expiry_through_every_write_path(
    ctx: ContractContext, cache: Cache, writer: str
) -> None:
    await write(cache, writer, "k", "v", NO_EXPIRY)
    seen = await observe(cache, "k")
    assert seen == {"get": "v", "has": True, "get_many": True}, (
        f"a NO_EXPIRY entry written by {writer}: expected live, observed {seen}"
    )
    if ctx.clock is not None:
        for years in (1, 2, 30):
            ctx.clock.advance(years * 365 * _DAY)
            got = await cache.get("k", _MISS)
            assert got == "v", (
                f"a NO_EXPIRY entry written by {writer} expired within {years} more years "
                f"(observed {got!r}); fix: ttl=None at the provider means no expiry"
            )


# -- a TTL changed through every write path -----------------------------------------

_CHANGES = ["shorter", "longer", "to_no_expiry", "from_no_expiry"]


async def _change_case(
    ctx: ContractContext, cache: Cache, writer: str, change: str, key: str
) -> list[str]:
    """Write ``key`` with a first TTL, rewrite it through ``writer`` with a second; the
    second must rule. Returns what went wrong (empty when right)."""
    unit = ctx.ttl_unit
    first, second = {
        "shorter": (6 * unit, unit),
        "longer": (unit, 3 * unit),
        "to_no_expiry": (unit, math.inf),
        "from_no_expiry": (math.inf, unit),
    }[change]
    label = f"{writer} {change} ({_ttl_text(first)} -> {_ttl_text(second)})"
    start = ctx.now()
    await cache.set(key, "first", ttl=first)
    if writer == "get_or_set":
        # a fill needs a miss: the first entry is deleted, and its expiry must go with it
        assert await cache.delete(key) is True, f"{label}: delete of the first write missed"
    mark = ctx.now()
    await write(cache, writer, key, "second", second)
    problems: list[str] = []
    if math.isinf(second):
        await ctx.after_expiry(start, first)
        got = await cache.get(key, _MISS)
        if got != "second":
            problems.append(f"{label}: expected 'second' after the old TTL, observed {got!r}")
        return problems
    if first > second or math.isinf(first):
        await ctx.before_expiry(mark, second)
        got = await cache.get(key, _MISS)
        if got != "second" and ctx.within(mark, second):
            problems.append(f"{label}: expected 'second' before the new TTL, observed {got!r}")
    else:  # longer: the old expiry passes first, the entry must survive it
        await ctx.after_expiry(start, first)
        got = await cache.get(key, _MISS)
        if got != "second" and ctx.within(mark, second):
            problems.append(
                f"{label}: expected 'second' after the old TTL, before the new one; "
                f"observed {got!r} (the old expiry was kept)"
            )
    await ctx.after_expiry(mark, second)
    seen = await observe(cache, key)
    if not _gone(seen):
        problems.append(f"{label}: expected gone after the new TTL, observed {seen}")
    return problems


async def _run_cases(
    ctx: ContractContext, cases: Sequence[Callable[[], Awaitable[list[str]]]]
) -> list[str]:
    """Sequentially on an injected clock (cases move it), concurrently in real time."""
    if ctx.clock is not None:
        found: list[str] = []
        for case in cases:
            found += await case()
        return found
    results = await asyncio.gather(*(case() for case in cases))
    return [p for problems in results for p in problems]


@clause("TTL-5", "TTL-9")
@requires(TTL)
@realtime
@pytest.mark.parametrize("writer", WRITERS)
async def test_every_write_path_replaces_the_ttl(
    ctx: ContractContext, cache: Cache, writer: str
) -> None:
    cases = [functools.partial(_change_case, ctx, cache, writer, c, f"k-{c}") for c in _CHANGES]
    problems = await _run_cases(ctx, cases)
    assert not problems, "a write must give the key its own TTL: " + "\n".join(problems)


@clause("TTL-5", "TTL-7")
@requires(TTL)
@realtime
@pytest.mark.parametrize("second", ["longer", "no_expiry"])
async def test_fill_after_expiry_replaces_the_old_ttl(
    ctx: ContractContext, cache: Cache, second: str
) -> None:
    unit = ctx.ttl_unit
    start = ctx.now()
    await cache.set("k", "old", ttl=unit)
    await ctx.after_expiry(start, unit)
    new_ttl = 4 * unit if second == "longer" else NO_EXPIRY
    mark = ctx.now()
    await write(cache, "get_or_set", "k", "refilled", new_ttl)
    await ctx.advance_to(mark, 2 * unit)
    got = await cache.get("k", _MISS)
    assert got == "refilled" or not ctx.within(mark, new_ttl), (
        f"a get_or_set fill with TTL {_ttl_text(new_ttl)} after the old entry expired: "
        f"expected 'refilled' {2 * unit:g} s later, observed {got!r} (the old expiry was kept)"
    )


# -- reads never extend a TTL ---------------------------------------------------------

_READS = ["get", "has", "get_many", "get_or_set_hit"]


async def _read(cache: Cache, how: str, key: str) -> None:
    if how == "get":
        await cache.get(key)
    elif how == "has":
        await cache.has(key)
    elif how == "get_many":
        await cache.get_many([key, key + "-other"])
    else:
        await cache.get_or_set(key, CountingFactory("factory"))


@clause("TTL-10")
@requires(TTL)
@realtime
@pytest.mark.parametrize("how", _READS)
async def test_reads_never_extend_a_ttl(ctx: ContractContext, cache: Cache, how: str) -> None:
    unit = ctx.ttl_unit
    mark = ctx.now()
    await cache.set("k", "v", ttl=unit)
    for fraction in (0.3, 0.6, 0.9):
        if ctx.clock is not None:
            ctx.clock.set(mark + unit * fraction)
        else:
            await ctx.advance_to(mark, unit * fraction)
        await _read(cache, how, "k")
    await ctx.after_expiry(mark, unit)
    seen = await observe(cache, "k")
    assert _gone(seen), (
        f"an entry with TTL {unit:g} s read by {how} just before expiry: expected gone at "
        f"its original expiry, observed {seen} (a read re-armed the TTL)"
    )


# -- the expiry instant seen first by each surface --------------------------------------

#: every surface that must see the expiry on its own (TTL-7)
_FIRST_SURFACES = [
    "has",
    "get_many",
    "delete",
    "delete_many",
    "keys",
    "invalidate_pattern",
    "clear",
]


async def _first_touch(cache: Cache, surface: str, keys: list[str]) -> Any:
    """Ask ``surface`` about ``keys`` without any read before it."""
    if surface == "has":
        return [await cache.has(k) for k in keys]
    if surface == "get_many":
        return await cache.get_many(keys)
    if surface == "delete":
        return [await cache.delete(k) for k in keys]
    if surface == "delete_many":
        return await cache.delete_many(keys)
    if surface == "keys":
        return (await cache.get_stats()).keys
    if surface == "invalidate_pattern":
        return await cache.invalidate_pattern("*")
    return await cache.clear()


_GONE_ANSWER: dict[str, Any] = {
    "has": [False, False],
    "get_many": {},
    "delete": [False, False],
    "delete_many": 0,
    "keys": 0,
    "invalidate_pattern": 0,
    "clear": 0,
}


@clause("TTL-1", "TTL-7")
@requires(TTL, CLOCK)
@pytest.mark.parametrize("writer", ["set", "set_many"])
@pytest.mark.parametrize("surface", _FIRST_SURFACES)
async def test_each_surface_alone_sees_expiry_at_the_instant(
    ctx: ContractContext, cache: Cache, writer: str, surface: str
) -> None:
    """No ``get`` runs first: a ``get`` that purges the entry would hide a surface that
    compares the expiry with ``<=`` on its own."""
    if ctx.info.ttl_resolution:
        pytest.skip(f"the provider counts TTLs in steps of {ctx.info.ttl_resolution:g} s")
    if surface == "keys" and not ctx.has_capability(Capability.COUNT_KEYS):
        pytest.skip("the provider does not declare COUNT_KEYS")
    if surface == "invalidate_pattern" and not ctx.has_capability(Capability.PATTERN_INVALIDATION):
        pytest.skip("the provider does not declare PATTERN_INVALIDATION")
    assert ctx.clock is not None
    ctx.clock.advance(0.0003)
    ttl = 1.1
    keys = ["k", "k/sibling"]
    mark = ctx.now()
    if writer == "set":
        for key in keys:
            assert await cache.set(key, "v", ttl=ttl) is True
    else:
        assert await cache.set_many(dict.fromkeys(keys, "v"), ttl=ttl) is True
    ctx.clock.set(mark + ttl)
    seen = await _first_touch(cache, surface, keys)
    expected = _GONE_ANSWER[surface]
    assert seen == expected, (
        f"TTL-7 expired entries are invisible everywhere: two entries written by {writer} "
        f"with TTL {ttl:g} s, asked of {surface} first (no get before) at exactly the expiry "
        f"instant: expected {expected!r}, observed {seen!r}; fix: every surface treats an "
        "entry as expired when now >= written_at + ttl (not now > ...), not only get"
    )
