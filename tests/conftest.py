"""Shared fixtures: a real redis-server per test session, and providers under test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from cachesim.clock import ManualClock
from cachesim.gateway.redis_server import RedisServerNotFound, redis_server
from cachesim.providers import MemoryProvider, RedisProvider
from cachesim.providers.base import Provider

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a throwaway redis-server on a free loopback port (fails under CI if missing)."""
    try:
        with redis_server() as server:
            yield server.url
    except RedisServerNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no redis-server is available: {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock starting at t=1000."""
    return ManualClock(1000.0)


@pytest.fixture
def namespace() -> str:
    """A namespace unique to this test (tests may share a server)."""
    return f"t{uuid.uuid4().hex[:10]}"


PROVIDER_KINDS = ["memory", "fakeredis", "redis"]


@pytest.fixture(params=PROVIDER_KINDS)
async def provider(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[Provider]:
    """Each built-in provider that needs no HTTP: memory (manual clock), fakeredis, real redis."""
    kind = request.param
    if kind == "memory":
        made: Provider = MemoryProvider(clock=clock, sweep_interval=None)
    elif kind == "fakeredis":
        made = RedisProvider.fake()
    else:
        made = RedisProvider.from_url(request.getfixturevalue("redis_url"))
    try:
        yield made
    finally:
        await made.disconnect()
