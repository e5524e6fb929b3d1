"""GOS: get_or_set hits, fills, errors, single flight and cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cachesim import Cache, UnstorableValueError
from cachesim.contract.context import ContractContext
from cachesim.contract.helpers import AsyncFactory, CountingFactory
from cachesim.contract.markers import clause


class FactoryError(Exception):
    """Raised by a test factory."""


@clause("GOS-1")
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_hit_does_not_call_the_factory(cache: Cache, kind: str) -> None:
    await cache.set("k", {"cached": True})
    factory = CountingFactory("new") if kind == "sync" else AsyncFactory("new")
    assert await cache.get_or_set("k", factory) == {"cached": True}
    assert factory.calls == 0


@clause("GOS-2")
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_miss_calls_the_factory_once_and_stores_its_value(cache: Cache, kind: str) -> None:
    factory = CountingFactory({"n": 1}) if kind == "sync" else AsyncFactory({"n": 1})
    assert await cache.get_or_set("k", factory) == {"n": 1}
    assert factory.calls == 1
    assert await cache.get("k") == {"n": 1}
    assert await cache.get_or_set("k", factory) == {"n": 1}
    assert factory.calls == 1, "the second call did not hit"


@clause("GOS-2", "VAL-3")
async def test_fill_returns_the_stored_form_of_the_value(cache: Cache) -> None:
    filled: Any = await cache.get_or_set("k", lambda: (1, (2, 3)))
    assert filled == [1, [2, 3]]
    assert await cache.get("k") == [1, [2, 3]]


@clause("GOS-3")
@pytest.mark.parametrize(
    "value", [None, 0, "", False, []], ids=["none", "zero", "empty_str", "false", "empty_list"]
)
async def test_factory_returning_a_falsy_value_caches_it(cache: Cache, value: object) -> None:
    factory = CountingFactory(value)
    assert await cache.get_or_set("k", factory) == value
    assert await cache.get_or_set("k", factory) == value
    assert factory.calls == 1, "a cached falsy value was treated as a miss"
    assert await cache.has("k") is True


@clause("GOS-4")
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_factory_error_propagates_and_caches_nothing(cache: Cache, kind: str) -> None:
    error = FactoryError("boom")
    failing = CountingFactory(error=error) if kind == "sync" else AsyncFactory(error=error)
    with pytest.raises(FactoryError) as info:
        await cache.get_or_set("k", failing)
    assert info.value is error, "the factory's exception was replaced"
    assert await cache.has("k") is False
    working = CountingFactory("ok")
    assert await cache.get_or_set("k", working) == "ok"
    assert working.calls == 1


async def _settle(ctx: ContractContext, factory: AsyncFactory) -> None:
    """Wait until the fill has started and every caller's first read has come back."""
    await asyncio.wait_for(factory.started.wait(), 30)
    await asyncio.sleep(0.01 if ctx.info.in_process else 0.2 * ctx.options.time_scale)


@clause("GOS-5", "VAL-6")
async def test_concurrent_misses_call_the_factory_once(ctx: ContractContext, cache: Cache) -> None:
    factory = AsyncFactory({"items": [1, 2]}, gated=True)
    tasks = [asyncio.ensure_future(cache.get_or_set("k", factory)) for _ in range(25)]
    await _settle(ctx, factory)
    factory.release()
    results = await asyncio.gather(*tasks)
    assert factory.calls == 1, f"the factory ran {factory.calls} times for one key"
    assert all(r == {"items": [1, 2]} for r in results)
    assert len({id(r) for r in results}) == len(results), "waiters share one object"
    results[0]["items"].append(3)
    assert await cache.get("k") == {"items": [1, 2]}


@clause("GOS-5", "GOS-4")
async def test_a_factory_error_reaches_every_waiter(ctx: ContractContext, cache: Cache) -> None:
    factory = AsyncFactory(error=FactoryError("boom"), gated=True)
    tasks = [asyncio.ensure_future(cache.get_or_set("k", factory)) for _ in range(10)]
    await _settle(ctx, factory)
    factory.release()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert factory.calls == 1
    assert all(isinstance(r, FactoryError) for r in results), results
    assert await cache.has("k") is False


@clause("GOS-5")
async def test_single_flight_is_per_key(cache: Cache) -> None:
    factories = {key: AsyncFactory(key) for key in ("a", "b", "c")}
    results = await asyncio.gather(
        *(cache.get_or_set(key, f) for key, f in factories.items() for _ in range(3))
    )
    assert sorted(results) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert all(f.calls == 1 for f in factories.values())


@clause("GOS-6")
async def test_cancelling_one_waiter_does_not_cancel_the_fill(
    ctx: ContractContext, cache: Cache
) -> None:
    factory = AsyncFactory("value", gated=True)
    first = asyncio.ensure_future(cache.get_or_set("k", factory))
    second = asyncio.ensure_future(cache.get_or_set("k", factory))
    await _settle(ctx, factory)
    first.cancel()
    factory.release()
    assert await second == "value"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert factory.calls == 1
    assert await cache.get("k") == "value"


@clause("GOS-6", "CONC-4")
async def test_cancelling_the_only_waiter_still_stores_the_value(
    ctx: ContractContext, cache: Cache
) -> None:
    factory = AsyncFactory("value", gated=True)
    task = asyncio.ensure_future(cache.get_or_set("k", factory))
    await factory.started.wait()
    task.cancel()
    factory.release()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(200):
        if await cache.has("k"):
            break
        await asyncio.sleep(0.01)
    assert await cache.get("k") == "value", "the fill was cancelled with its caller"
    assert await cache.get_or_set("other", lambda: "fine") == "fine"


@clause("GOS-7", "VAL-5")
async def test_unstorable_factory_value_reaches_every_waiter(
    ctx: ContractContext, cache: Cache
) -> None:
    factory = AsyncFactory({1: "int key"}, gated=True)
    tasks = [asyncio.ensure_future(cache.get_or_set("k", factory)) for _ in range(5)]
    await _settle(ctx, factory)
    factory.release()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, UnstorableValueError) for r in results), results
    assert await cache.has("k") is False
