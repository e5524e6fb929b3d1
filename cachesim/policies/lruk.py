"""LRU-K (O'Neil, O'Neil & Weikum, SIGMOD'93): evict the largest backward K-distance.

This follows libCacheSim's LRU_K (equal hit and byte hit ratios on the same
trace).  Each cached entry keeps the times of its last ``k`` requests (a
logical clock that ticks once per read, and once per write that does not fill
a read miss).  Entries requested fewer than ``k`` times have an infinite
backward K-distance and are evicted first, oldest insertion first; among the
others the entry whose K-th most recent request is oldest goes first.
History is kept for cached entries only.  ``k=1`` is LRU.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies._store import PolicyStore
from cachesim.policies.base import MISSING

__all__ = ["LRUKStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUKStore(PolicyStore[K, V]):
    """LRU-K with ``k`` (default 2) recent request times per cached entry."""

    name = "lru-k"

    def __init__(self, capacity: int | None = None, *, k: int = 2) -> None:
        super().__init__(capacity)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k!r}")
        self.k = k
        self._clock = 0
        self._last_read: object = MISSING
        self._history: dict[K, deque[int]] = {}
        self._young: OrderedDict[K, None] = OrderedDict()  # fewer than k requests, oldest first
        self._kth: dict[K, int] = {}  # entries with k requests -> time of the K-th most recent
        self._order: list[tuple[int, K]] = []  # (K-th time, key), stale entries skipped

    def get(self, key: K, now: float) -> V:
        """Look ``key`` up; every read ticks the clock."""
        self._clock += 1
        value = super().get(key, now)
        self._last_read = key if value is MISSING else MISSING  # the fill that may follow
        return value

    def put(self, key: K, value: V, expires_at: float | None, now: float, size: int = 1) -> bool:
        """Store ``key``; a write that does not fill the preceding read miss ticks the clock."""
        if self._last_read != key:
            self._clock += 1
        self._last_read = MISSING
        return super().put(key, value, expires_at, now, size)

    def _rank(self, key: K, kth: int) -> None:
        self._kth[key] = kth
        heapq.heappush(self._order, (kth, key))
        if len(self._order) > 2 * len(self._kth) + 64:
            self._order = [(t, k) for k, t in self._kth.items()]
            heapq.heapify(self._order)

    def _on_insert(self, key: K, size: int) -> bool:
        self._history[key] = deque([self._clock], maxlen=self.k)
        if self.k == 1:
            self._rank(key, self._clock)
        else:
            self._young[key] = None
        return True

    def _on_hit(self, key: K) -> None:
        history = self._history[key]
        history.append(self._clock)
        if key in self._young:
            if len(history) >= self.k:
                del self._young[key]
                self._rank(key, history[0])
        else:
            self._rank(key, history[0])

    def _on_remove(self, key: K) -> None:
        del self._history[key]
        if self._young.pop(key, MISSING) is MISSING:
            del self._kth[key]

    def peek_victim(self) -> K:
        if self._young:
            return next(iter(self._young))
        heap, kth = self._order, self._kth
        while heap:
            t, key = heap[0]
            if kth.get(key) == t:
                return key
            heapq.heappop(heap)
        return MISSING  # type: ignore[no-any-return]

    def _victim(self, size: int) -> K:
        return self.peek_victim()
