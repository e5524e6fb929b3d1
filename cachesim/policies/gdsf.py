"""GDSF, Greedy-Dual-Size-Frequency (Cherkasova, HP Labs 1998): size-aware LFU with aging.

Each entry has the priority ``L + frequency × 10⁶ / size``; the entry with the
lowest priority is evicted (the least recently prioritised among equals) and
``L`` becomes its priority, so entries that stop being requested age out.  A
hit increments the frequency and recomputes the priority with the current
``L``.  A new entry competes with the cached ones: if its own priority is the
lowest while room is still needed, it is evicted at once (counted as an
eviction; nothing cached is displaced after that).  With unit sizes this is LFU
with dynamic aging.  This follows
libCacheSim's GDSF (equal hit and byte hit ratios on the same trace).
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies._store import PolicyStore
from cachesim.policies.base import MISSING

__all__ = ["GDSFStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class GDSFStore(PolicyStore[K, V]):
    """Greedy-Dual-Size-Frequency; ``scale`` is the frequency/size multiplier (10⁶)."""

    name = "gdsf"

    def __init__(self, capacity: int | None = None, *, scale: float = 1.0e6) -> None:
        super().__init__(capacity)
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        self.scale = scale
        self.inflation = 0.0  # L: the priority of the last evicted entry
        self._clock = 0
        self._last_read: object = MISSING
        self._freq: dict[K, int] = {}
        self._rank: dict[K, tuple[float, int]] = {}  # key -> (priority, tie-break time)
        self._order: list[tuple[float, int, K]] = []
        self._pending: float | None = None  # priority of the entry being inserted

    def get(self, key: K, now: float) -> V:
        """Look ``key`` up; every read ticks the tie-break clock."""
        self._clock += 1
        value = super().get(key, now)
        self._last_read = key if value is MISSING else MISSING  # the fill that may follow
        return value

    def put(self, key: K, value: V, expires_at: float | None, now: float, size: int = 1) -> bool:
        """Store ``key``; a write that does not fill the preceding read miss ticks the clock.

        A new entry whose priority is the lowest while room is still needed is
        evicted at once and False is returned.
        """
        if self._last_read != key:
            self._clock += 1
        self._last_read = MISSING
        values = self._values
        if key in values:  # an expired entry, or one of another size, leaves first
            if self._expires and self._is_expired(key, now):
                self._expire(key)
            elif size != self._sizes.get(key, 1):
                self._remove(key)
        capacity = self.capacity
        if key not in values and capacity is not None and 0 < size <= capacity:
            if self._heap and self.used + size > capacity:
                self.purge_expired(now)
            mine = (self.inflation + self.scale / size, self._clock)
            while self.used + size > capacity:
                victim = self.peek_victim()
                if victim is MISSING or self._rank[victim] > mine:
                    self.inflation = mine[0]
                    self.evictions += 1
                    return False
                self._remove(self._victim(size))
                self.evictions += 1
            self._pending = mine[0]
        return super().put(key, value, expires_at, now, size)

    def _push(self, key: K, size: int, priority: float | None = None) -> None:
        if priority is None:
            priority = self.inflation + self._freq[key] * self.scale / size
        entry = (priority, self._clock)
        self._rank[key] = entry
        heapq.heappush(self._order, (priority, self._clock, key))
        if len(self._order) > 2 * len(self._rank) + 64:
            self._order = [(p, t, k) for k, (p, t) in self._rank.items()]
            heapq.heapify(self._order)

    def _on_insert(self, key: K, size: int) -> bool:
        self._freq[key] = 1
        self._push(key, size, self._pending)
        self._pending = None
        return True

    def _on_hit(self, key: K) -> None:
        self._freq[key] += 1
        self._push(key, self._size(key))

    def _on_remove(self, key: K) -> None:
        del self._freq[key]
        del self._rank[key]

    def peek_victim(self) -> K:
        heap, rank = self._order, self._rank
        while heap:
            priority, t, key = heap[0]
            if rank.get(key) == (priority, t):
                return key
            heapq.heappop(heap)
        return MISSING  # type: ignore[no-any-return]

    def _victim(self, size: int) -> K:
        key = self.peek_victim()
        if key is not MISSING:
            self.inflation = self._rank[key][0]
        return key
