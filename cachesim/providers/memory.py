"""In-process provider: a bounded, TTL-aware dict on the shared eviction core."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock, system_clock
from cachesim.keys import compile_glob
from cachesim.policies import MISSING, EntryStore, make_store
from cachesim.providers.base import BaseProvider
from cachesim.providers.capabilities import Capability

__all__ = ["MemoryProvider"]

logger = logging.getLogger("cachesim.providers.memory")

_SWEEP_BATCH = 1000


class MemoryProvider(BaseProvider):
    """Entries live in this process, in a store from :mod:`cachesim.policies`.

    ``max_entries=None`` is unbounded; otherwise ``policy`` (``lru``, ``fifo``,
    ``lfu`` ...) picks what to evict.  TTLs are measured on ``clock`` (inject a
    :class:`~cachesim.clock.ManualClock` to make time move by hand).  Expired
    entries are purged lazily on access and by a background sweep that works in
    small batches so it never blocks the event loop.
    """

    name = "memory"
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.TTL,
            Capability.TTL_SUBSECOND,
            Capability.CLOCK_INJECTABLE,
            Capability.PATTERN_INVALIDATION,
            Capability.COUNT_KEYS,
            Capability.EVICTION,
        }
    )
    in_process = True

    def __init__(
        self,
        max_entries: int | None = None,
        policy: str = "lru",
        clock: Clock | None = None,
        *,
        sweep_interval: float | None = 1.0,
        max_value_bytes: int | None = None,
    ) -> None:
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1
        ):
            raise ValueError(f"max_entries must be a positive int or None, got {max_entries!r}")
        if sweep_interval is not None and sweep_interval <= 0:
            raise ValueError(f"sweep_interval must be > 0 seconds or None, got {sweep_interval!r}")
        self.max_entries = max_entries
        self.policy = policy.lower()
        self.clock: Clock = clock or system_clock
        self.sweep_interval = sweep_interval
        self.max_value_bytes = max_value_bytes
        self.store: EntryStore[str, str] = make_store(self.policy, max_entries)  # type: ignore[assignment]
        self._sweeper: asyncio.Task[None] | None = None
        self._store_get = self.store.get
        self._now = self.clock.now

    # -- lifecycle ----------------------------------------------------------------
    async def initialize(self) -> None:
        """Start the background expiry sweep (once)."""
        if self.sweep_interval is not None and (self._sweeper is None or self._sweeper.done()):
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="cachesim-memory-sweep")

    async def disconnect(self) -> None:
        """Stop the sweep; entries stay (a memory cache lives as long as the object)."""
        task, self._sweeper = self._sweeper, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sweep_forever(self) -> None:
        assert self.sweep_interval is not None
        while True:
            await asyncio.sleep(self.sweep_interval)
            self.sweep()

    def sweep(self, limit: int | None = None) -> int:
        """Purge expired entries now (at most ``limit``); return how many went."""
        total = 0
        now = self.clock.now()
        while True:
            batch = _SWEEP_BATCH if limit is None else min(_SWEEP_BATCH, limit - total)
            if batch <= 0:
                return total
            n = self.store.purge_expired(now, batch)
            total += n
            if n < batch:
                return total

    # -- operations ---------------------------------------------------------------
    @staticmethod
    def _expiry(now: float, ttl: float | None) -> float | None:
        return None if ttl is None else now + ttl

    async def get(self, key: str) -> str | None:
        """Return the stored text (counts as an access for the policy)."""
        value = self.store.get(key, self.clock.now())
        return None if value is MISSING else value

    def get_now(self, key: str) -> str | None:
        """Synchronous :meth:`get` (in-process, never blocks): the cache's fast path."""
        value = self._store_get(key, self._now())
        return None if value is MISSING else value

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Read several keys at one instant."""
        now, get = self.clock.now(), self.store.get
        return [None if (v := get(k, now)) is MISSING else v for k in keys]

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Store text with an optional TTL in seconds."""
        now = self.clock.now()
        self.store.put(key, value, self._expiry(now, ttl), now)

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Store several entries at one instant."""
        now = self.clock.now()
        expires = self._expiry(now, ttl)
        put = self.store.put
        for key, value in items:
            put(key, value, expires, now)

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True if a live entry was there."""
        live = self.store.contains(key, self.clock.now())
        self.store.delete(key)
        return live

    async def delete_many(self, keys: Sequence[str]) -> int:
        """Remove keys; count the live ones."""
        now, store = self.clock.now(), self.store
        removed = 0
        for key in keys:
            removed += store.contains(key, now)
            store.delete(key)
        return removed

    async def has(self, key: str) -> bool:
        """Whether ``key`` is live (no effect on eviction order)."""
        return self.store.contains(key, self.clock.now())

    def _matching(self, pattern: str) -> list[str]:
        match = compile_glob(pattern).match
        return [k for k in self.store.keys(self.clock.now()) if match(k.encode("utf-8"))]

    async def invalidate_pattern(self, pattern: str) -> int:
        """Remove live keys matching the Redis glob ``pattern``."""
        keys = self._matching(pattern)
        for key in keys:
            self.store.delete(key)
        return len(keys)

    async def clear(self, namespace: str) -> int:
        """Remove every key that starts with ``namespace:``."""
        prefix = namespace + ":"
        keys = [k for k in self.store.keys(self.clock.now()) if k.startswith(prefix)]
        for key in keys:
            self.store.delete(key)
        return len(keys)

    async def count(self, pattern: str) -> int:
        """Count live keys matching ``pattern``."""
        return len(self._matching(pattern))

    async def get_stats(self) -> dict[str, Any]:
        """Entries, capacity, policy, evictions and expirations."""
        store = self.store
        return {
            "entries": len(store),
            "max_entries": self.max_entries,
            "policy": self.policy,
            "evictions": store.evictions,
            "expirations": store.expirations,
        }

    def __repr__(self) -> str:
        return (
            f"MemoryProvider(max_entries={self.max_entries!r}, policy={self.policy!r}, "
            f"clock={self.clock!r})"
        )

    # -- stampede-lock primitives (ATOMIC_SET_IF_ABSENT, COMPARE_AND_DELETE) ----------
    capabilities = capabilities | {Capability.ATOMIC_SET_IF_ABSENT, Capability.COMPARE_AND_DELETE}

    async def set_if_absent(self, key: str, value: str, ttl: float | None) -> bool:
        """Store only when ``key`` holds no live entry; True if stored."""
        now = self.clock.now()
        if self.store.contains(key, now):
            return False
        self.store.put(key, value, self._expiry(now, ttl), now)
        return True

    async def delete_if_equals(self, key: str, value: str) -> bool:
        """Remove ``key`` only while it holds ``value``; True if removed."""
        now = self.clock.now()
        if self.store.peek(key, now) != value:
            return False
        self.store.delete(key)
        return True
