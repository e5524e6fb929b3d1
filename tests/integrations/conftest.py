"""Fixtures for the application-integration tests (FastAPI, SyncCache, @cached)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cachesim import Cache
from cachesim.clock import ManualClock
from cachesim.providers import MemoryProvider
from cachesim.sync import SyncCache


@pytest.fixture
def memory_cache(clock: ManualClock, namespace: str) -> Cache:
    """A memory-backed cache on the manual clock (no background sweep)."""
    return Cache(MemoryProvider(clock=clock, sweep_interval=None), namespace=namespace)


@pytest.fixture
def sync_cache(memory_cache: Cache) -> Iterator[SyncCache]:
    """A SyncCache over ``memory_cache``, closed after the test."""
    with SyncCache(memory_cache) as wrapped:
        yield wrapped
