"""Classic replacement policies: LRU, FIFO, CLOCK and LFU."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies.base import EntryStore

__all__ = ["ClockStore", "FIFOStore", "LFUStore", "LRUStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRUStore(EntryStore[K, V]):
    """Least recently used: a hit or overwrite moves the entry to the young end."""

    name = "lru"

    def _new_table(self) -> dict[K, V]:
        return OrderedDict()

    def _on_hit(self, key: K) -> None:
        self._values.move_to_end(key)  # type: ignore[attr-defined]

    def _victim(self, size: int) -> K:
        return next(iter(self._values))


class FIFOStore(EntryStore[K, V]):
    """First in, first out: hits and overwrites do not change the order."""

    name = "fifo"

    def _new_table(self) -> dict[K, V]:
        return OrderedDict()

    def _on_update(self, key: K) -> None:
        pass

    def _victim(self, size: int) -> K:
        return next(iter(self._values))


class LFUStore(EntryStore[K, V]):
    """Least frequently used; among equal counts, the one that reached it first goes first.

    An entry starts at count 1 and every hit (or overwrite) adds one.  O(1) per
    operation: one insertion-ordered bucket per count, the buckets chained in
    increasing order, so the victim is always the head of the first bucket
    (libCacheSim's LFU, the same victims).
    """

    name = "lfu"

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(capacity)
        self._freq: dict[K, int] = {}
        self._buckets: dict[int, dict[K, None]] = {}
        self._higher: dict[int, int] = {}  # count -> next larger count with entries
        self._lower: dict[int, int] = {}  # count -> next smaller count with entries
        self._min = 0  # smallest count with entries (0: none)

    def _link_after(self, f: int, new: int) -> None:
        """Add an empty bucket ``new`` right after bucket ``f`` (0: at the front)."""
        self._buckets[new] = {}
        nxt = self._higher.get(f, 0) if f else self._min
        if f:
            self._higher[f] = new
            self._lower[new] = f
        else:
            self._min = new
        if nxt:
            self._higher[new] = nxt
            self._lower[nxt] = new

    def _drop_if_empty(self, f: int) -> None:
        if self._buckets[f]:
            return
        del self._buckets[f]
        lower = self._lower.pop(f, 0)
        higher = self._higher.pop(f, 0)
        if lower:
            if higher:
                self._higher[lower] = higher
            else:
                del self._higher[lower]
        else:
            self._min = higher
        if higher:
            if lower:
                self._lower[higher] = lower
            else:
                del self._lower[higher]

    def _on_insert(self, key: K, size: int) -> bool:
        if 1 not in self._buckets:
            self._link_after(0, 1)
        self._buckets[1][key] = None
        self._freq[key] = 1
        return True

    def _on_hit(self, key: K) -> None:
        f = self._freq[key]
        if f + 1 not in self._buckets:
            self._link_after(f, f + 1)
        del self._buckets[f][key]
        self._buckets[f + 1][key] = None
        self._freq[key] = f + 1
        self._drop_if_empty(f)

    def _on_remove(self, key: K) -> None:
        f = self._freq.pop(key)
        del self._buckets[f][key]
        self._drop_if_empty(f)

    def _victim(self, size: int) -> K:
        return next(iter(self._buckets[self._min]))


class ClockStore(EntryStore[K, V]):
    """CLOCK (FIFO with second chance): a hit sets a reference bit; the hand clears it.

    The eviction scan looks at the oldest entry: if referenced, it loses the bit
    and goes to the young end; otherwise it is evicted (libCacheSim's Clock with
    one bit).
    """

    name = "clock"

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(capacity)
        self._referenced: set[K] = set()

    def _new_table(self) -> dict[K, V]:
        return OrderedDict()

    def _on_hit(self, key: K) -> None:
        self._referenced.add(key)

    def _on_remove(self, key: K) -> None:
        self._referenced.discard(key)

    def _victim(self, size: int) -> K:
        table: OrderedDict[K, V] = self._values  # type: ignore[assignment]
        referenced = self._referenced
        while True:
            key = next(iter(table))
            if key not in referenced:
                return key
            referenced.discard(key)
            table.move_to_end(key)
