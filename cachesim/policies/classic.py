"""Classic replacement policies: LRU, FIFO, CLOCK and LFU (LRU among equal frequencies)."""

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

    def _victim(self) -> K:
        return next(iter(self._values))


class FIFOStore(EntryStore[K, V]):
    """First in, first out: hits and overwrites do not change the order."""

    name = "fifo"

    def _new_table(self) -> dict[K, V]:
        return OrderedDict()

    def _on_update(self, key: K) -> None:
        pass

    def _victim(self) -> K:
        return next(iter(self._values))


class LFUStore(EntryStore[K, V]):
    """Least frequently used; among equal counts, the least recently used goes first.

    O(1) per operation (frequency buckets of insertion-ordered dicts).
    """

    name = "lfu"

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(capacity)
        self._freq: dict[K, int] = {}
        self._buckets: dict[int, dict[K, None]] = {}
        self._min = 0

    def _on_insert(self, key: K) -> None:
        self._freq[key] = 1
        self._buckets.setdefault(1, {})[key] = None
        self._min = 1

    def _on_hit(self, key: K) -> None:
        f = self._freq[key]
        bucket = self._buckets[f]
        del bucket[key]
        if not bucket:
            del self._buckets[f]
            if self._min == f:
                self._min = f + 1
        self._freq[key] = f + 1
        self._buckets.setdefault(f + 1, {})[key] = None

    def _on_remove(self, key: K) -> None:
        f = self._freq.pop(key)
        bucket = self._buckets[f]
        del bucket[key]
        if not bucket:
            del self._buckets[f]
            if self._min == f:
                self._min = min(self._buckets, default=0)

    def _victim(self) -> K:
        if self._min not in self._buckets:
            self._min = min(self._buckets)
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

    def _victim(self) -> K:
        table: OrderedDict[K, V] = self._values  # type: ignore[assignment]
        referenced = self._referenced
        while True:
            key = next(iter(table))
            if key not in referenced:
                return key
            referenced.discard(key)
            table.move_to_end(key)
