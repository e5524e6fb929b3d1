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
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(scope="session", autouse=True)
def _no_proxy_for_loopback() -> Iterator[None]:
    """httpx honours proxy variables and does not bypass loopback by itself."""
    saved = {name: os.environ.get(name) for name in (*PROXY_VARS, "NO_PROXY", "no_proxy")}
    for name in PROXY_VARS:
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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


def _make(kind: str, request: pytest.FixtureRequest, clock: ManualClock) -> Provider:
    if kind == "memory":
        return MemoryProvider(clock=clock, sweep_interval=None)
    if kind == "fakeredis":
        return RedisProvider.fake()
    return RedisProvider.from_url(request.getfixturevalue("redis_url"))


@pytest.fixture(params=["memory", "fakeredis", "redis"])
async def provider(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[Provider]:
    """Each built-in provider that needs no HTTP: memory (manual clock), fakeredis, real redis."""
    made = _make(request.param, request, clock)
    try:
        yield made
    finally:
        await made.disconnect()


@pytest.fixture(params=["fakeredis", "redis"])
async def server_provider(
    request: pytest.FixtureRequest, clock: ManualClock
) -> AsyncIterator[Provider]:
    """Providers whose TTLs run on the server's clock (fakeredis, real redis)."""
    made = _make(request.param, request, clock)
    try:
        yield made
    finally:
        await made.disconnect()
