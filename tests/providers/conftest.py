"""Fixtures for the memcached and SQLite provider tests: a real memcached per session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from cachesim.gateway.memcached_server import (
    MemcachedServer,
    MemcachedServerNotFound,
    memcached_server,
)
from cachesim.providers.memcached import MemcachedProvider

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _start(**options: object) -> Iterator[MemcachedServer]:
    """Run a throwaway memcached; under CI a missing binary fails instead of skipping."""
    try:
        with memcached_server(**options) as server:  # type: ignore[arg-type]
            yield server
    except MemcachedServerNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no memcached is available: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def memcached() -> Iterator[MemcachedServer]:
    """A memcached on a free loopback port with the default item size (-I 1m)."""
    yield from _start()


@pytest.fixture
def start_memcached() -> Callable[..., Iterator[MemcachedServer]]:
    """Start another memcached with options: ``for server in start_memcached(...):``."""
    return _start


@pytest.fixture
async def mc(memcached: MemcachedServer) -> AsyncIterator[MemcachedProvider]:
    """A connected provider on the session's memcached."""
    provider = MemcachedProvider(memcached.url)
    await provider.initialize()
    try:
        yield provider
    finally:
        await provider.disconnect()
