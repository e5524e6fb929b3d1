"""A base for policies that need the incoming entry's size, refuse some sizes or evict from hooks.

:class:`~cachesim.policies.base.EntryStore` calls its hooks without the size of
the entry being written; segmented policies need it to pick a segment, and
some (SLRU, 2Q, LIRS) cannot hold an entry larger than one of their segments.
:class:`PolicyStore` records the incoming size (and the old size on an
overwrite) before delegating to :meth:`EntryStore.put`, refuses what
:meth:`_accepts` rejects, and offers :meth:`_evict_now` for evictions that a
policy performs while promoting or demoting entries.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies.base import MISSING, EntryStore

__all__ = ["PolicyStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PolicyStore(EntryStore[K, V]):
    """An :class:`EntryStore` that knows the size of the entry being written."""

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(capacity)
        self._incoming = 1  # size of the entry being written
        self._previous = 1  # size an overwritten entry had before the write
        self._now = 0.0  # time of the write in progress

    def _size(self, key: K) -> int:
        """Current size of the stored ``key``."""
        return self._sizes.get(key, 1)

    def _accepts(self, key: K, size: int) -> bool:
        """Whether ``key`` with ``size`` can be stored at all (beyond fitting the capacity)."""
        return True

    def put(self, key: K, value: V, expires_at: float | None, now: float, size: int = 1) -> bool:
        """Store ``key`` as :meth:`EntryStore.put` does; refuse sizes the policy cannot hold."""
        self._incoming = size
        self._now = now
        present = key in self._values
        if present:
            self._previous = self._size(key)
        if not self._accepts(key, size):
            if present:
                self._remove(key)
            return False
        return super().put(key, value, expires_at, now, size)

    def _evict_now(self, key: K) -> None:
        """Evict ``key`` from inside a policy hook (counted as an eviction)."""
        self._remove(key)
        self.evictions += 1

    def peek_victim(self) -> K:
        """The key the next eviction would remove, without changing any state (MISSING if empty)."""
        raise NotImplementedError  # abstract

    def _victim_excluding(self, key: K) -> K:
        victim = self.peek_victim()
        if victim is MISSING or victim != key:
            return victim
        return super()._victim_excluding(key)
