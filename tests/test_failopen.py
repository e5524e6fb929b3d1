"""Backend failures never reach the caller: misses, dropped writes, timeouts, breaker, logs."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from cachesim import Cache, ManualClock
from cachesim.gateway.redis_server import free_port, redis_server
from cachesim.providers import RedisProvider, UpstashProvider
from cachesim.providers.base import Provider


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A real TCP server that accepts connections and never answers (a hung backend)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


@pytest.fixture(params=["redis-refused", "redis-hung", "upstash-refused", "upstash-hung"])
async def dead_provider(request: pytest.FixtureRequest) -> AsyncIterator[Provider]:
    """Providers pointing at a closed port or at a server that never answers."""
    kind, fault = request.param.split("-")
    port = request.getfixturevalue("silent_port") if fault == "hung" else free_port()
    if kind == "redis":
        provider: Provider = RedisProvider.from_url(f"redis://127.0.0.1:{port}/0")
    else:
        provider = UpstashProvider(url=f"http://127.0.0.1:{port}", token="tok-secret-123")
    yield provider
    await provider.disconnect()


OPERATIONS: list[tuple[str, Any, Any]] = [
    ("initialize", lambda c: c.initialize(), None),
    ("get", lambda c: c.get("k", "dflt"), "dflt"),
    ("has", lambda c: c.has("k"), False),
    ("set", lambda c: c.set("k", 1), False),
    ("delete", lambda c: c.delete("k"), False),
    ("get_many", lambda c: c.get_many(["a", "b"]), {}),
    ("set_many", lambda c: c.set_many({"a": 1}), False),
    ("delete_many", lambda c: c.delete_many(["a"]), 0),
    ("get_or_set", lambda c: c.get_or_set("k", lambda: "fresh"), "fresh"),
    ("invalidate_pattern", lambda c: c.invalidate_pattern("*"), 0),
    ("clear", lambda c: c.clear(), 0),
]


@pytest.mark.parametrize(("op", "call", "expected"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
async def test_every_operation_fails_open_within_its_timeout(
    dead_provider: Provider, op: str, call: Any, expected: Any
) -> None:
    cache = Cache(dead_provider, namespace="n", timeout=0.2, bulk_timeout=0.2)
    start = time.perf_counter()
    result = await call(cache)
    elapsed = time.perf_counter() - start
    assert result == expected, f"{op} on a dead backend must return {expected!r}"
    assert elapsed < 0.2 + 0.25, f"{op} took {elapsed:.3f}s: must be bounded by the timeout"
    stats = await cache.get_stats()
    assert stats.errors + stats.timeouts >= 1, "the failure is counted"


async def test_unreachable_at_startup_then_served_when_it_comes_up() -> None:
    port = free_port()
    clock = ManualClock()
    provider = RedisProvider.from_url(f"redis://127.0.0.1:{port}/0")
    cache = Cache(provider, namespace="n", timeout=0.5, clock=clock, breaker_reset=5)
    await cache.initialize()  # must not raise
    assert await cache.get_or_set("k", lambda: 1) == 1, "the factory's value is still returned"
    for _ in range(3):
        await cache.get("x")
    assert cache.errors == 5, "initialize, the get_or_set read and three gets each failed"
    assert (await cache.get_stats(count_keys=False)).breaker_state == "open"
    with redis_server(port=port):
        assert await cache.set("k", 2) is False, "an open breaker skips even a live backend"
        clock.advance(6)
        assert await cache.set("k", 2) is True, "after the backend comes up, writes land"
        assert await cache.get("k") == 2
        assert (await cache.get_stats()).breaker_state == "closed"
    await provider.disconnect()


async def test_breaker_opens_skips_and_recovers(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    clock = ManualClock()
    provider = RedisProvider.from_url(f"redis://127.0.0.1:{port}/0")
    cache = Cache(
        provider, namespace="n", timeout=0.5, clock=clock, breaker_threshold=3, breaker_reset=10
    )
    caplog.set_level(logging.INFO, logger="cachesim")
    for _ in range(3):
        assert await cache.get("k") is None
    stats = await cache.get_stats(count_keys=False)
    assert stats.breaker_state == "open"
    assert stats.errors == 3
    start = time.perf_counter()
    for _ in range(100):
        await cache.get("k")
    assert time.perf_counter() - start < 0.1, "an open breaker costs nothing per call"
    stats = await cache.get_stats(count_keys=False)
    assert stats.short_circuited == 100 and stats.errors == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, "logged once when failing starts and once when the breaker opens"
    clock.advance(10)
    await cache.get("k")  # the half-open probe fails: open again
    assert (await cache.get_stats(count_keys=False)).breaker_state == "open"
    with redis_server(port=port):
        clock.advance(10)
        assert await cache.set("k", "back") is True
        assert (await cache.get_stats(count_keys=False)).breaker_state == "closed"
        assert any("recovered" in r.getMessage() for r in caplog.records)
    await provider.disconnect()


async def test_timeouts_are_counted_separately(silent_port: int) -> None:
    provider = RedisProvider.from_url(f"redis://127.0.0.1:{silent_port}/0")
    cache = Cache(provider, namespace="n", timeout=0.1)
    await cache.get("k")
    stats = await cache.get_stats(count_keys=False)
    assert stats.timeouts == 1 and stats.errors == 0
    await provider.disconnect()


async def test_upstash_client_retries_are_off() -> None:
    """The client's default is a 3 s sleep between attempts; the provider turns it off."""
    provider = UpstashProvider(url=f"http://127.0.0.1:{free_port()}", token="t")
    cache = Cache(provider, namespace="n", timeout=5)
    start = time.perf_counter()
    await cache.get("k")
    assert time.perf_counter() - start < 1.0, "a refused connection must fail fast, not retry"
    await provider.disconnect()


async def test_secrets_never_reach_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cachesim")
    token = "tok-very-secret-999"
    provider = UpstashProvider(url=f"http://127.0.0.1:{free_port()}", token=token)
    cache = Cache(provider, namespace="n", timeout=0.5)
    for _ in range(6):
        await cache.get("k")
        await cache.set("k", 1)
    assert token not in repr(provider) and token not in repr(cache)
    assert token not in caplog.text
    redis = RedisProvider.from_url("redis://user:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in repr(redis)
    await provider.disconnect()
    await redis.disconnect()


async def test_cancellation_is_not_swallowed(silent_port: int) -> None:
    provider = RedisProvider.from_url(f"redis://127.0.0.1:{silent_port}/0")
    cache = Cache(provider, namespace="n", timeout=5)
    task = asyncio.create_task(cache.get("k"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await cache.get_stats(count_keys=False)).errors == 0
    await provider.disconnect()


async def test_get_or_set_on_a_hung_backend_costs_one_timeout(silent_port: int) -> None:
    provider = RedisProvider.from_url(f"redis://127.0.0.1:{silent_port}/0")
    cache = Cache(provider, namespace="n", timeout=0.2)
    start = time.perf_counter()
    assert await cache.get_or_set("k", lambda: "fresh") == "fresh"
    assert time.perf_counter() - start < 0.2 + 0.1, "no fill write after a failed read"
    assert (await cache.get_stats(count_keys=False)).timeouts == 1
    await provider.disconnect()
