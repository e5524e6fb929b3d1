"""Providers for the freshness tests: every built-in one, on real servers where they have one."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import fakeredis
import pytest

from cachesim.clock import ManualClock
from cachesim.gateway.memcached_server import MemcachedServerNotFound, memcached_server
from cachesim.gateway.server import Gateway, run_gateway
from cachesim.providers import MemoryProvider, RedisProvider, UpstashProvider
from cachesim.providers.base import Provider

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: Every provider kind the freshness features must work on.
KINDS = ("memory", "fakeredis", "redis", "upstash", "memcached", "sqlite")


@pytest.fixture(scope="session")
def memcached_url() -> Iterator[str]:
    """A throwaway memcached (fails under CI if the binary is missing)."""
    try:
        with memcached_server() as server:
            yield server.url
    except MemcachedServerNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no memcached is available: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def fake_gateway() -> Iterator[Gateway]:
    """An Upstash-compatible gateway on an in-process fakeredis."""
    with run_gateway("fakeredis", fake_server=fakeredis.FakeServer()) as gw:
        yield gw


@pytest.fixture(scope="session")
def real_gateway(redis_url: str) -> Iterator[Gateway]:
    """An Upstash-compatible gateway on the session's real redis-server."""
    with run_gateway(redis_url) as gw:
        yield gw


def make_provider(
    kind: str, request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path
) -> Provider:
    """Build provider ``kind`` (memory and sqlite on ``clock``)."""
    if kind == "memory":
        return MemoryProvider(clock=clock, sweep_interval=None)
    if kind == "fakeredis":
        return RedisProvider.fake()
    if kind == "redis":
        return RedisProvider.from_url(request.getfixturevalue("redis_url"))
    if kind == "upstash":
        gw: Gateway = request.getfixturevalue("real_gateway")
        return UpstashProvider(url=gw.url, token=gw.token)
    if kind == "memcached":
        from cachesim.providers.memcached import MemcachedProvider

        return MemcachedProvider(request.getfixturevalue("memcached_url"))
    if kind == "sqlite":
        from cachesim.providers.sqlite import SQLiteProvider

        return SQLiteProvider(tmp_path / "cache.db", clock=clock, sweep_interval=None)
    raise AssertionError(kind)


@pytest.fixture(params=KINDS)
async def any_provider(
    request: pytest.FixtureRequest, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[Provider]:
    """Each built-in provider, initialized."""
    made = make_provider(request.param, request, clock, tmp_path)
    await made.initialize()
    try:
        yield made
    finally:
        await made.disconnect()


@pytest.fixture
def key() -> str:
    """A full key unique to this test (servers are shared by the session)."""
    return f"f{uuid.uuid4().hex[:10]}:lock"
