"""LOCK: the stampede-lock primitives (set_if_absent, delete_if_equals)."""

from __future__ import annotations

import asyncio

from cachesim.contract.context import ContractContext
from cachesim.contract.markers import clause, requires
from cachesim.providers.capabilities import Capability

SET_IF_ABSENT = Capability.ATOMIC_SET_IF_ABSENT
COMPARE_AND_DELETE = Capability.COMPARE_AND_DELETE


def _key(ctx: ContractContext, name: str = "lock") -> str:
    return f"{ctx.namespace}:__lock:{name}"


@clause("LOCK-1")
@requires(SET_IF_ABSENT)
async def test_set_if_absent_stores_only_when_absent(ctx: ContractContext) -> None:
    key = _key(ctx)
    assert await ctx.provider.set_if_absent(key, "first", 60) is True
    assert await ctx.provider.set_if_absent(key, "second", 60) is False, "a live key was replaced"
    assert await ctx.provider.get(key) == "first"


@clause("LOCK-1")
@requires(SET_IF_ABSENT)
async def test_concurrent_set_if_absent_has_exactly_one_winner(ctx: ContractContext) -> None:
    key = _key(ctx)
    providers = [ctx.provider]
    if ctx.has_capability(Capability.SHARED_BACKEND):
        providers.append(await ctx.open_provider())
    calls = [
        p.set_if_absent(key, f"t{i}-{j}", 60) for i, p in enumerate(providers) for j in range(10)
    ]
    wins = await asyncio.gather(*calls)
    assert sum(wins) == 1, (
        f"exactly one of {len(calls)} concurrent callers must win, got {sum(wins)}"
    )


@clause("LOCK-1")
@requires(SET_IF_ABSENT, Capability.TTL)
async def test_an_expired_entry_counts_as_absent(ctx: ContractContext) -> None:
    key = _key(ctx)
    mark = ctx.now()
    assert await ctx.provider.set_if_absent(key, "dead-holder", ctx.ttl_unit) is True
    await ctx.after_expiry(mark, ctx.ttl_unit)
    assert await ctx.provider.set_if_absent(key, "next", 60) is True, "an expired lock stays taken"
    assert await ctx.provider.get(key) == "next"


@clause("LOCK-2")
@requires(COMPARE_AND_DELETE)
async def test_delete_if_equals_removes_only_the_matching_value(ctx: ContractContext) -> None:
    key = _key(ctx)
    await ctx.provider.set(key, "mine", 60)
    assert await ctx.provider.delete_if_equals(key, "theirs") is False
    assert await ctx.provider.get(key) == "mine", "a non-matching value was removed"
    assert await ctx.provider.delete_if_equals(key, "mine") is True
    assert await ctx.provider.get(key) is None
    assert await ctx.provider.delete_if_equals(key, "mine") is False, "absent must answer False"


@clause("LOCK-2")
@requires(COMPARE_AND_DELETE, SET_IF_ABSENT)
async def test_a_released_lock_can_be_taken_again(ctx: ContractContext) -> None:
    key = _key(ctx)
    assert await ctx.provider.set_if_absent(key, "a", 60) is True
    assert await ctx.provider.delete_if_equals(key, "a") is True
    assert await ctx.provider.set_if_absent(key, "b", 60) is True
    assert await ctx.provider.delete_if_equals(key, "a") is False, "a stale token released b's lock"
    assert await ctx.provider.get(key) == "b"
