"""VAL: what values round-trip, what is refused, copy semantics and size limits."""

from __future__ import annotations

from typing import Any

import pytest

from cachesim import Cache, UnstorableValueError, codec
from cachesim.contract.context import ContractContext
from cachesim.contract.data import (
    FALSY_VALUES,
    UNSTORABLE_VALUES,
    VALUE_CASES,
    Case,
    ids,
    strict_equal,
)
from cachesim.contract.helpers import CountingFactory
from cachesim.contract.markers import clause, expensive


def _cases(clause_id: str) -> list[Case]:
    return [c for c in VALUE_CASES if c.clause == clause_id]


async def _assert_round_trip(cache: Cache, case: Case) -> None:
    assert await cache.set("value", case.value) is True
    got = await cache.get("value", "MISS")
    assert strict_equal(got, case.want), f"set {case.id}: get returned {got!r:.200}"
    many = await cache.get_many(["value"])
    assert "value" in many, f"get_many lost {case.id}"
    assert strict_equal(many["value"], case.want), f"get_many returned {many['value']!r:.200}"


SCALARS = _cases("VAL-1")
CONTAINERS = _cases("VAL-3")
BYTES = _cases("VAL-4")


@clause("VAL-1")
@pytest.mark.parametrize("case", SCALARS, ids=ids(SCALARS))
async def test_scalar_round_trips_with_its_type(cache: Cache, case: Case) -> None:
    await _assert_round_trip(cache, case)


@clause("VAL-3")
@pytest.mark.parametrize("case", CONTAINERS, ids=ids(CONTAINERS))
async def test_container_round_trips_as_json(cache: Cache, case: Case) -> None:
    await _assert_round_trip(cache, case)


@clause("VAL-4")
@pytest.mark.parametrize("case", BYTES, ids=ids(BYTES))
async def test_bytes_round_trip_as_bytes(cache: Cache, case: Case) -> None:
    await _assert_round_trip(cache, case)


@clause("VAL-2", "OP-4", "GOS-3")
@pytest.mark.parametrize("case", FALSY_VALUES, ids=ids(FALSY_VALUES))
async def test_falsy_value_is_a_hit(cache: Cache, case: Case) -> None:
    await cache.set("falsy", case.value)
    sentinel = object()
    got = await cache.get("falsy", sentinel)
    assert got is not sentinel, f"a cached {case.id} was reported as a miss"
    assert strict_equal(got, case.value)
    assert await cache.has("falsy") is True
    assert await cache.get_many(["falsy"]) == {"falsy": case.value}
    factory = CountingFactory("from factory")
    assert strict_equal(await cache.get_or_set("falsy", factory), case.value)
    assert factory.calls == 0, "get_or_set called the factory for a cached falsy value"


@clause("VAL-5")
@pytest.mark.parametrize("case", UNSTORABLE_VALUES, ids=ids(UNSTORABLE_VALUES))
async def test_unstorable_value_is_refused_and_writes_nothing(cache: Cache, case: Case) -> None:
    await cache.set("k", "old")
    with pytest.raises(UnstorableValueError):
        await cache.set("k", case.value)
    assert await cache.get("k") == "old", "a refused set changed the stored value"
    with pytest.raises(UnstorableValueError):
        await cache.set_many({"other": 1, "k": case.value})
    assert await cache.get("other", "MISS") == "MISS", "a refused set_many wrote an entry"
    assert await cache.get("k") == "old"


@clause("VAL-6")
async def test_mutating_after_set_does_not_change_the_cache(cache: Cache) -> None:
    value: dict[str, Any] = {"list": [1, 2], "nested": {"a": 1}}
    await cache.set("k", value)
    value["list"].append(3)
    value["nested"]["a"] = 99
    value["new"] = True
    assert await cache.get("k") == {"list": [1, 2], "nested": {"a": 1}}


@clause("VAL-6")
async def test_mutating_after_set_many_does_not_change_the_cache(cache: Cache) -> None:
    value = [{"n": 1}]
    await cache.set_many({"k": value})
    value[0]["n"] = 2
    assert await cache.get("k") == [{"n": 1}]


@clause("VAL-6")
async def test_mutating_what_get_returned_does_not_change_the_cache(cache: Cache) -> None:
    await cache.set("k", {"items": [1]})
    first = await cache.get("k")
    first["items"].append(2)
    second = await cache.get("k")
    assert second == {"items": [1]}
    assert second is not first


@clause("VAL-6")
async def test_mutating_what_get_many_returned_does_not_change_the_cache(cache: Cache) -> None:
    await cache.set("k", [1])
    (await cache.get_many(["k"]))["k"].append(2)
    assert await cache.get("k") == [1]


@clause("VAL-6", "GOS-2")
async def test_mutating_what_get_or_set_returned_does_not_change_the_cache(
    cache: Cache,
) -> None:
    filled: Any = await cache.get_or_set("k", lambda: {"n": [1]})
    filled["n"].append(2)
    hit: Any = await cache.get_or_set("k", lambda: {"n": ["factory called"]})
    assert hit == {"n": [1]}
    hit["n"].append(3)
    assert await cache.get("k") == {"n": [1]}


def _text_of_size(size: int) -> str:
    """A str whose encoded form is exactly ``size`` bytes."""
    value = "x" * (size - 2)
    assert len(codec.encode(value)) == size
    return value


@clause("VAL-7")
@pytest.mark.parametrize("limit", [64, 1000, 65536])
async def test_configured_size_limit_is_enforced_before_writing(
    ctx: ContractContext, limit: int
) -> None:
    cache = ctx.make_cache(max_value_bytes=limit)
    at_limit = _text_of_size(limit)
    assert await cache.set("k", at_limit) is True, "a value exactly at the limit was refused"
    assert await cache.get("k") == at_limit
    with pytest.raises(UnstorableValueError):
        await cache.set("k", at_limit + "x")
    assert await cache.get("k") == at_limit, "a refused oversize set changed the stored value"
    with pytest.raises(UnstorableValueError):
        await cache.set_many({"small": 1, "k": at_limit + "x"})
    assert await cache.get("small", "MISS") == "MISS"
    factory = CountingFactory(at_limit + "x")
    with pytest.raises(UnstorableValueError):
        await cache.get_or_set("fill", factory)
    assert await cache.has("fill") is False


@clause("VAL-7")
async def test_size_limit_counts_utf8_bytes_not_characters(ctx: ContractContext) -> None:
    cache = ctx.make_cache(max_value_bytes=1000)
    small = "é" * 400  # 802 bytes encoded
    assert await cache.set("k", small) is True
    wide = "é" * 600  # 602 characters but 1202 bytes encoded
    with pytest.raises(UnstorableValueError):
        await cache.set("k", wide)
    assert await cache.get("k") == small


def _wide_text_of_size(size: int) -> str:
    """A str of mostly multi-byte characters whose encoded form is exactly ``size`` bytes."""
    wide = "é" * ((size - 2) // 2)
    value = wide + "x" * (size - len(codec.encode(wide).encode("utf-8")))
    assert len(codec.encode(value).encode("utf-8")) == size
    return value


#: Declared limits probed at exactly that size (larger ones only in ``thorough``).
_PROBE_LIMIT = 16_000_000
_THOROUGH_PROBE_LIMIT = 64_000_000


@clause("VAL-7", "VAL-9")
@pytest.mark.parametrize("text", ["ascii", "multibyte"])
async def test_provider_declared_size_limit_is_enforced(ctx: ContractContext, text: str) -> None:
    limit = ctx.max_value_bytes
    cache = ctx.cache
    if limit is None:
        pytest.skip("the provider declares no max_value_bytes")
    probe = _THOROUGH_PROBE_LIMIT if ctx.options.profile == "thorough" else _PROBE_LIMIT
    if limit > probe:
        pytest.skip(
            f"declared max_value_bytes={limit} is probed only up to {probe} bytes "
            "(64 MB with --contract-profile thorough)"
        )
    at_limit = _text_of_size(limit) if text == "ascii" else _wide_text_of_size(limit)
    stored = await cache.set("k", at_limit)
    assert stored is True, (
        f"a {text} value of exactly the declared max_value_bytes={limit}: expected stored, "
        "observed refused (the backend's real limit is lower than declared)"
    )
    got = await cache.get("k")
    assert got == at_limit, (
        f"a value of exactly max_value_bytes={limit} came back "
        f"{'different' if got is not None else 'as a miss'}"
    )
    with pytest.raises(UnstorableValueError):
        await cache.set("k", at_limit + "x")
    assert await cache.get("k") == at_limit, "a refused oversize set changed the stored value"


_MB = 1_000_000


@clause("VAL-8")
@expensive
@pytest.mark.parametrize("kind", ["text_1mb", "bytes_1mb", "list_1mb", "text_non_ascii_1mb"])
async def test_large_value_round_trips(ctx: ContractContext, cache: Cache, kind: str) -> None:
    value: Any
    if kind == "text_1mb":
        value = "".join(chr(65 + i % 26) for i in range(_MB))
    elif kind == "bytes_1mb":
        value = bytes(i % 251 for i in range(_MB))
    elif kind == "list_1mb":
        value = [{"i": i, "s": "x" * 20} for i in range(25_000)]
    else:
        value = "ü😀" * (_MB // 6)
    size = len(codec.encode(value).encode("utf-8"))
    limit = ctx.max_value_bytes
    if limit is not None and size > limit:
        pytest.skip(f"a {size}-byte value exceeds the declared max_value_bytes={limit}")
    assert await cache.set("big", value) is True
    got = await cache.get("big")
    assert got == value, "a large value came back different"
