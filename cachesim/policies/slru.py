"""Segmented LRU: a stack of LRU segments; a hit promotes an entry one segment up.

This follows libCacheSim's SLRU (equal hit and byte hit ratios on the same
trace): ``segments`` LRU lists (4 of equal size by default, or relative
sizes such as ``(1, 4)`` for a 20 % probation / 80 % protected split).  A new
entry goes into the lowest segment with room for it (segment 0 once the cache
is full).  A hit in segment *i* moves the entry to the top of segment *i* + 1
(the top segment keeps it there); a segment over its size hands its least
recently used entry down to the one below, and segment 0 evicts.  Eviction
takes the least recently used entry of the lowest non-empty segment.  An entry
larger than the smallest segment is not stored; a segment holds at least one
unit, so caches smaller than the number of segments still work.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import TypeVar

from cachesim.policies._store import PolicyStore
from cachesim.policies.base import MISSING

__all__ = ["SLRUStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def segment_limits(capacity: int | None, segments: int | Sequence[float]) -> list[float]:
    """Each segment's size for ``capacity``: ``n`` equal parts, or parts proportional to ratios."""
    if isinstance(segments, int):
        if segments < 1:
            raise ValueError(f"segments must be >= 1, got {segments!r}")
        if capacity is None:
            return [math.inf] * segments
        return [float(max(1, capacity // segments) if capacity else 0)] * segments
    ratios = [float(r) for r in segments]
    if not ratios or any(not r > 0 for r in ratios):
        raise ValueError(f"segment ratios must be positive numbers, got {segments!r}")
    if capacity is None:
        return [math.inf] * len(ratios)
    total = sum(ratios)
    return [float(max(1, int(r / total * capacity)) if capacity else 0) for r in ratios]


class SLRUStore(PolicyStore[K, V]):
    """Segmented LRU (libCacheSim's SLRU); ``segments``: a count or relative sizes."""

    name = "slru"

    def __init__(self, capacity: int | None = None, *, segments: int | Sequence[float] = 4) -> None:
        super().__init__(capacity)
        self.limits = segment_limits(capacity, segments)
        n = len(self.limits)
        self._segs: list[OrderedDict[K, None]] = [OrderedDict() for _ in range(n)]
        self._bytes = [0] * n
        self._seg_of: dict[K, int] = {}

    def _admit(self, key: K, size: int) -> bool:
        return size <= min(self.limits)

    def _on_insert(self, key: K, size: int) -> bool:
        seg = 0
        for i, limit in enumerate(self.limits):
            if self._bytes[i] + size <= limit:
                seg = i
                break
        self._segs[seg][key] = None
        self._seg_of[key] = seg
        self._bytes[seg] += size
        return True

    def _on_hit(self, key: K) -> None:
        i = self._seg_of[key]
        top = len(self._segs) - 1
        if i == top:
            self._segs[i].move_to_end(key)
            return
        size = self._size(key)
        del self._segs[i][key]
        self._bytes[i] -= size
        self._segs[i + 1][key] = None
        self._seg_of[key] = i + 1
        self._bytes[i + 1] += size
        while self._bytes[i + 1] > self.limits[i + 1]:
            self._cool(i + 1)

    def _cool(self, seg: int) -> None:
        """Hand the LRU entry of ``seg`` down one segment (segment 0 evicts)."""
        if seg == 0:
            victim = self.peek_victim()
            if victim is not MISSING:
                self._evict_now(victim)
            return
        key = next(iter(self._segs[seg]))
        size = self._size(key)
        del self._segs[seg][key]
        self._bytes[seg] -= size
        self._segs[seg - 1][key] = None
        self._seg_of[key] = seg - 1
        self._bytes[seg - 1] += size
        while self._bytes[seg - 1] > self.limits[seg - 1]:
            self._cool(seg - 1)

    def _on_remove(self, key: K) -> None:
        seg = self._seg_of.pop(key)
        del self._segs[seg][key]
        self._bytes[seg] -= self._size(key)

    def peek_victim(self) -> K:
        for seg in self._segs:
            if seg:
                return next(iter(seg))
        return MISSING  # type: ignore[no-any-return]

    def _victim(self, size: int) -> K:
        return self.peek_victim()
