"""FAIL: a failing or hanging backend never reaches the caller (fail-open)."""

from __future__ import annotations

import logging
import time

import pytest

from cachesim import Cache, InvalidKeyError, InvalidTTLError, UnstorableValueError
from cachesim.contract.context import ContractContext, FaultyProvider
from cachesim.contract.helpers import CountingFactory, capture_logs
from cachesim.contract.markers import clause


def _failing(
    ctx: ContractContext, mode: str = "error", **kwargs: float
) -> tuple[Cache, FaultyProvider]:
    faulty = ctx.faulty(mode=mode)
    options = {"timeout": 0.2, "breaker_threshold": 10_000}
    options.update(kwargs)
    return ctx.make_cache(faulty, **options), faulty  # type: ignore[arg-type]


@clause("FAIL-1")
async def test_failed_reads_are_misses(ctx: ContractContext) -> None:
    await ctx.cache.set("k", "v")
    cache, _ = _failing(ctx)
    sentinel = object()
    assert await cache.get("k", sentinel) is sentinel
    assert await cache.has("k") is False
    assert await cache.get_many(["k", "x"]) == {}


@clause("FAIL-2")
async def test_failed_writes_are_dropped(ctx: ContractContext) -> None:
    await ctx.cache.set("k", "v")
    cache, _ = _failing(ctx)
    assert await cache.set("k", "w") is False
    assert await cache.set_many({"a": 1}) is False
    assert await cache.delete("k") is False
    assert await cache.delete_many(["k", "a"]) == 0
    assert await cache.invalidate_pattern("*") == 0
    assert await cache.clear() == 0
    assert await ctx.cache.get("k") == "v", "a dropped write changed the backend"


@clause("FAIL-3")
@pytest.mark.parametrize("mode", ["error", "hang"])
async def test_get_or_set_returns_the_factory_value(ctx: ContractContext, mode: str) -> None:
    cache, _ = _failing(ctx, mode, timeout=0.1)
    factory = CountingFactory({"fresh": True})
    assert await cache.get_or_set("k", factory) == {"fresh": True}
    assert await cache.get_or_set("k", factory) == {"fresh": True}
    assert factory.calls == 2, "nothing can be cached while the backend fails"


@clause("FAIL-4")
async def test_failures_are_counted_and_logged(ctx: ContractContext) -> None:
    cache, _ = _failing(ctx)
    with capture_logs() as records:
        await cache.get("a")
        await cache.set("b", 1)
        await cache.delete("c")
    stats = await cache.get_stats(count_keys=False)
    assert stats.errors == 3
    warnings = [r for r in records if r.levelno >= logging.WARNING]
    assert warnings, "a backend failure was not logged"
    assert len(warnings) == 1, "every failure of one outage was logged separately"


@clause("FAIL-5")
async def test_a_hanging_backend_is_abandoned_after_the_timeout(ctx: ContractContext) -> None:
    timeout = 0.15
    cache, _ = _failing(ctx, "hang", timeout=timeout)
    for name, call in (
        ("get", cache.get("k", "MISS")),
        ("set", cache.set("k", 1)),
        ("has", cache.has("k")),
    ):
        start = time.monotonic()
        result = await call
        elapsed = time.monotonic() - start
        assert result in ("MISS", False), f"{name} returned {result!r}"
        assert elapsed < 2 * timeout + 0.25, f"{name} took {elapsed:.2f} s (timeout {timeout})"
    assert (await cache.get_stats(count_keys=False)).timeouts == 3


@clause("FAIL-6")
async def test_programmer_errors_still_raise(ctx: ContractContext) -> None:
    cache, _ = _failing(ctx)
    with pytest.raises(InvalidKeyError):
        await cache.get("")
    with pytest.raises(InvalidTTLError):
        await cache.set("k", 1, ttl=0)
    with pytest.raises(UnstorableValueError):
        await cache.set("k", {1, 2})


@clause("FAIL-7")
async def test_the_breaker_skips_a_dead_backend_and_recovers(ctx: ContractContext) -> None:
    reset = 5.0 if ctx.clock is not None else 0.2 * ctx.options.time_scale
    cache, faulty = _failing(ctx, breaker_threshold=3, breaker_reset=reset)
    for _ in range(3):
        await cache.get("k")
    assert faulty.attempts["get"] == 3
    for _ in range(5):
        assert await cache.get("k", "MISS") == "MISS"
    assert faulty.attempts["get"] == 3, "calls reached the backend while the breaker was open"
    assert (await cache.get_stats(count_keys=False)).short_circuited == 5
    faulty.mode = "ok"
    await ctx.advance(reset + ctx.margin)
    assert await cache.set("k", "back") is True, "the probe after the reset did not go through"
    assert await cache.get("k") == "back"
    assert (await cache.get_stats(count_keys=False)).breaker_state == "closed"


@clause("FAIL-8")
@pytest.mark.parametrize("mode", ["error", "hang"])
async def test_initialize_against_a_failing_backend_returns(
    ctx: ContractContext, mode: str
) -> None:
    cache, faulty = _failing(ctx, mode, timeout=0.1)
    await cache.initialize()
    faulty.mode = "ok"
    assert await cache.set("k", "v") is True
