"""A base for this package's newer policies: the write's time, and peeking at the next victim.

:class:`PolicyStore` remembers the time of the write in progress (some policies
purge expired entries themselves before deciding what to evict), offers
:meth:`_evict_now` for evictions that a policy performs while promoting or
demoting entries, and declares :meth:`peek_victim`, which TinyLFU admission
uses to compare a new entry with the one it would displace.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies.base import EntryStore

__all__ = ["PolicyStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PolicyStore(EntryStore[K, V]):
    """An :class:`EntryStore` that knows the time of the write in progress."""

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(capacity)
        self._now = 0.0  # time of the write in progress

    def _size(self, key: K) -> int:
        """Current size of the stored ``key``."""
        return self._sizes.get(key, 1)

    def put(self, key: K, value: V, expires_at: float | None, now: float, size: int = 1) -> bool:
        """Store ``key`` as :meth:`EntryStore.put` does."""
        self._now = now
        return super().put(key, value, expires_at, now, size)

    def _evict_now(self, key: K) -> None:
        """Evict ``key`` from inside a policy hook (counted as an eviction)."""
        self._remove(key)
        self.evictions += 1

    def peek_victim(self) -> K:
        """The key the next eviction would remove, without changing any state (MISSING if empty)."""
        raise NotImplementedError  # abstract
