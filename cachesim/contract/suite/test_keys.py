"""KEY: the portable key grammar, exactness, invalid keys and CacheKeys."""

from __future__ import annotations

from typing import Any

import pytest

from cachesim import Cache, CacheKeys, InvalidKeyError
from cachesim.contract.context import ContractContext, SpyProvider
from cachesim.contract.data import INVALID_KEYS, KEY_PAIRS, VALID_KEYS, Case, ids
from cachesim.contract.markers import clause, requires
from cachesim.providers.capabilities import Capability


@clause("KEY-1")
@pytest.mark.parametrize("case", VALID_KEYS, ids=ids(VALID_KEYS))
async def test_valid_key_works_for_every_operation(cache: Cache, case: Case) -> None:
    key = case.value
    assert await cache.set(key, case.id) is True
    assert await cache.get(key) == case.id
    assert await cache.has(key) is True
    assert await cache.get_many([key]) == {key: case.id}
    assert await cache.get_or_set(key, lambda: "factory called") == case.id
    assert await cache.delete(key) is True
    assert await cache.has(key) is False
    assert await cache.set_many({key: "again"}) is True
    assert await cache.delete_many([key]) == 1


@clause("KEY-1", "KEY-2")
async def test_all_valid_keys_coexist_without_collisions(cache: Cache) -> None:
    items = {case.value: case.id for case in VALID_KEYS}
    assert len(items) == len(VALID_KEYS)
    await cache.set_many(items)
    assert await cache.get_many(list(items)) == items


@clause("KEY-2")
@pytest.mark.parametrize("case", KEY_PAIRS, ids=ids(KEY_PAIRS))
async def test_different_keys_are_different_entries(cache: Cache, case: Case) -> None:
    first, second = case.value
    await cache.set(first, "first")
    await cache.set(second, "second")
    assert await cache.get(first) == "first", f"{first!r} was overwritten by {second!r}"
    assert await cache.get(second) == "second"
    await cache.delete(first)
    assert await cache.get(second) == "second", f"deleting {first!r} removed {second!r}"


def _operations(key: Any) -> dict[str, Any]:
    operations = {
        "get": lambda c: c.get(key),
        "set": lambda c: c.set(key, 1),
        "has": lambda c: c.has(key),
        "delete": lambda c: c.delete(key),
        "get_or_set": lambda c: c.get_or_set(key, lambda: 1),
        "get_many": lambda c: c.get_many([key]),
        "set_many": lambda c: c.set_many({key: 1}),
        "delete_many": lambda c: c.delete_many([key]),
    }
    try:
        hash(key)
    except TypeError:  # cannot even be a dict key
        del operations["set_many"]
    return operations


@clause("KEY-3")
@pytest.mark.parametrize("case", INVALID_KEYS, ids=ids(INVALID_KEYS))
async def test_invalid_key_is_refused_by_every_operation(
    cache: Cache, provider: SpyProvider, case: Case
) -> None:
    before = sum(provider.calls.values())
    for name, operation in _operations(case.value).items():
        with pytest.raises(InvalidKeyError):
            await operation(cache)
        assert sum(provider.calls.values()) == before, f"{name} called the provider first"


@clause("KEY-4")
@pytest.mark.parametrize("bad", ["", 7, "k" * 513], ids=["empty", "int", "too_long"])
async def test_batches_validate_every_key_before_mutating(cache: Cache, bad: Any) -> None:
    await cache.set("kept", "v")
    with pytest.raises(InvalidKeyError):
        await cache.set_many({"new": 1, bad: 2})
    assert await cache.has("new") is False, "set_many wrote before validating every key"
    with pytest.raises(InvalidKeyError):
        await cache.delete_many(["kept", bad])
    assert await cache.get("kept") == "v", "delete_many deleted before validating every key"
    with pytest.raises(InvalidKeyError):
        await cache.get_many(["kept", bad])


_NASTY_IDS: list[Any] = [
    1,
    4,
    42,
    "1",
    "*",
    "?",
    "[1]",
    "1:organizations",
    "{1}",
    "1}",
    "%2A",
    "a\\b",
    "é",
    "4*",
]


def _builder_keys(entity_id: Any) -> list[str]:
    return [
        CacheKeys.user(entity_id),
        CacheKeys.user_organizations(entity_id),
        CacheKeys.user_sessions(entity_id),
        CacheKeys.user_activity(entity_id),
        CacheKeys.organization(entity_id),
        CacheKeys.organization_members(entity_id),
        CacheKeys.session(str(entity_id)),
        CacheKeys.rate_limit(entity_id),
        CacheKeys.rate_limit(entity_id, "minute"),
    ]


@clause("KEY-5")
async def test_cachekeys_never_collide_across_builders_and_ids(cache: Cache) -> None:
    owners: dict[str, tuple[int, Any]] = {}
    for entity_id in _NASTY_IDS:
        for index, key in enumerate(_builder_keys(entity_id)):
            other = owners.get(key)
            # 1 and "1" are the same id (ids are text), anything else must not collide
            same = other is not None and str(other[1]) == str(entity_id) and other[0] == index
            assert other is None or same, f"{key!r} built for {entity_id!r} and {other}"
            owners[key] = (index, entity_id)
    await cache.set_many({key: list(owner[1:]) for key, owner in owners.items()})
    got = await cache.get_many(list(owners))
    assert len(got) == len(owners)


@clause("KEY-5", "PAT-4")
@requires(Capability.PATTERN_INVALIDATION)
@pytest.mark.parametrize("target", ["4", "*", "?", "[1]", "{1}", "4*", "1:organizations"])
async def test_cachekeys_pattern_matches_only_that_id(cache: Cache, target: str) -> None:
    ids_ = ["4", "42", "*", "?", "[1]", "1", "{1}", "4*", "1:organizations"]
    keys = {
        key: entity_id
        for entity_id in ids_
        for key in (
            CacheKeys.user(entity_id),
            CacheKeys.user_sessions(entity_id),
            CacheKeys.user_organizations(entity_id),
        )
    }
    await cache.set_many(dict.fromkeys(keys, "v"))
    removed = await cache.invalidate_pattern(CacheKeys.user_pattern(target))
    assert removed == 3, f"user_pattern({target!r}) removed {removed} keys, expected 3"
    left = await cache.get_many(list(keys))
    assert set(left) == {k for k, owner in keys.items() if owner != target}


@clause("KEY-3")
async def test_invalid_key_error_explains_itself(ctx: ContractContext) -> None:
    with pytest.raises(InvalidKeyError) as info:
        await ctx.cache.get("k" * 600)
    assert "512" in str(info.value)
