"""Size-aware offline optimum (Belady-Size): evict the largest ``size × time to next use``.

With objects of different sizes the optimal policy is NP-hard to compute;
Belady-Size is the standard offline reference (libCacheSim's ``BeladySize``,
the LRB paper's "Belady-Size"): when room is needed, evict the cached entry
with the largest product of its size and the number of requests until its next
read.  An entry that will not be read again (``next_use`` is
:data:`~cachesim.policies.offline.NEVER`) is not stored, and one read for the
last time goes first, as if dropped.  With equal sizes it evicts the entry read
furthest in the future, like Belady's MIN, and additionally never stores dead
entries.

libCacheSim samples 128 random entries per eviction.  Here entries are grouped
by size, each group keeps a heap on the next use, and an eviction compares the
head of each group (the group's entry read furthest in the future, scored with
its own size).  The first ``size_classes`` distinct sizes (64 by default) each
get a group of their own, so with at most that many sizes the victim is the
exact maximum; further sizes share geometric groups (a factor of 2 ** (1/4)
each), which is an approximation within such a group.

Like every offline store it needs the simulator, which sets ``next_use``
before each request (the index of the next read the entry could serve).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Hashable
from typing import Any, TypeVar

from cachesim.policies.base import MISSING, EntryStore

__all__ = ["BeladySizeStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

NEVER = 1 << 62


class BeladySizeStore(EntryStore[K, V]):
    """Belady-Size: evict the largest ``size × requests until the next read``."""

    name = "opt-size"

    def __init__(self, capacity: int | None = None, *, size_classes: int = 64) -> None:
        super().__init__(capacity)
        if size_classes < 1:
            raise ValueError(f"size_classes must be >= 1, got {size_classes!r}")
        self.size_classes = size_classes
        self.next_use = NEVER
        self._clock = -1  # index of the request being served
        self._last: Any = None
        self._next: dict[K, int] = {}
        self._groups: dict[int, list[tuple[int, K]]] = {}  # class -> heap of (-next use, key)
        self._class_of: dict[int, int] = {}

    # the request index: one tick per read, write or delete
    def get(self, key: K, now: float) -> V:
        """Look ``key`` up (one request)."""
        self._clock += 1
        value = super().get(key, now)
        self._last = key if value is MISSING else None  # the fill that may follow
        return value

    def put(self, key: K, value: V, expires_at: float | None, now: float, size: int = 1) -> bool:
        """Store ``key`` unless it is never read again."""
        if self._last != key:
            self._clock += 1
        self._last = None
        return super().put(key, value, expires_at, now, size)

    def delete(self, key: K) -> bool:
        """Remove ``key`` (one request)."""
        self._clock += 1
        self._last = None
        return super().delete(key)

    def _group(self, size: int) -> int:
        cls = self._class_of.get(size)
        if cls is None:
            if len(self._class_of) < self.size_classes:
                cls = size
            else:  # too many distinct sizes: geometric classes, kept apart from exact ones
                cls = -1 - int(4 * math.log2(max(size, 1)))
            self._class_of[size] = cls
        return cls

    def _note(self, key: K, size: int) -> None:
        nu = self.next_use
        self._next[key] = nu
        cls = self._group(size)
        heap = self._groups.setdefault(cls, [])
        heapq.heappush(heap, (-nu, key))
        if len(heap) > 64 and len(heap) > 4 * len(self._next):
            live = [(-n, k) for k, n in self._next.items() if self._group(self.size_of(k)) == cls]
            heapq.heapify(live)
            self._groups[cls] = live

    def _admit(self, key: K, size: int) -> bool:
        return self.next_use < NEVER

    def _on_insert(self, key: K, size: int) -> bool:
        self._note(key, size)
        return True

    def _on_hit(self, key: K) -> None:
        self._note(key, self.size_of(key))

    def _on_remove(self, key: K) -> None:
        del self._next[key]

    def _victim(self, size: int) -> K:
        now = self._clock
        best: Any = None
        best_score = -1
        nxt = self._next
        for cls in list(self._groups):
            heap = self._groups[cls]
            while heap and nxt.get(heap[0][1]) != -heap[0][0]:
                heapq.heappop(heap)
            if not heap:
                del self._groups[cls]
                continue
            neg, key = heap[0]
            score = self.size_of(key) * (-neg - now)
            if score > best_score:
                best, best_score = key, score
        return best  # type: ignore[no-any-return]
