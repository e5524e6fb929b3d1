"""2Q (Johnson & Shasha, VLDB'94): a FIFO for new entries, an LRU for re-referenced ones.

This follows libCacheSim's TwoQ (equal hit and byte hit ratios on the same
trace).  New entries enter *A1in*, a FIFO sized ``in_ratio`` of the capacity
(25 %); a hit there changes nothing.  When room is needed and A1in holds more
than its share, its oldest entry is evicted and its key remembered in *A1out*,
a ghost FIFO of ``out_ratio`` of the capacity (50 %, counted in the same
units as the capacity).  A miss on a key that A1out remembers stores the entry
in *Am*, an LRU holding the rest of the capacity; otherwise eviction takes
Am's least recently used entry.  An entry larger than A1in is not stored.
A1in holds at least one unit, so tiny caches still work.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies._store import PolicyStore
from cachesim.policies.base import MISSING

__all__ = ["TwoQStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TwoQStore(PolicyStore[K, V]):
    """2Q with A1in (FIFO), A1out (ghost FIFO) and Am (LRU); libCacheSim's TwoQ."""

    name = "2q"

    def __init__(
        self,
        capacity: int | None = None,
        *,
        in_ratio: float = 0.25,
        out_ratio: float = 0.5,
    ) -> None:
        super().__init__(capacity)
        if not 0 < in_ratio < 1 or out_ratio < 0:
            raise ValueError("need 0 < in_ratio < 1 and out_ratio >= 0")
        cap = capacity if capacity is not None else 0
        self.in_capacity = max(1, int(cap * in_ratio)) if capacity is not None else None
        self.out_capacity = int(cap * out_ratio) if capacity is not None else None
        self.main_capacity = cap - (self.in_capacity or 0) if capacity is not None else None
        self._a1in: OrderedDict[K, None] = OrderedDict()  # oldest first
        self._am: OrderedDict[K, None] = OrderedDict()  # least recently used first
        self._a1out: OrderedDict[K, int] = OrderedDict()  # ghost keys -> size, oldest first
        self._in_bytes = 0
        self._am_bytes = 0
        self._out_bytes = 0
        self._ghost_hit = False

    def _admit(self, key: K, size: int) -> bool:
        ghost = self._a1out.pop(key, None)
        self._ghost_hit = ghost is not None
        if ghost is not None:
            self._out_bytes -= ghost
        return self.in_capacity is None or size <= self.in_capacity

    def _on_insert(self, key: K, size: int) -> bool:
        if self._ghost_hit and self.main_capacity is not None and size <= self.main_capacity:
            while self._am and self._am_bytes + size > self.main_capacity:
                self._evict_now(next(iter(self._am)))
            self._am[key] = None
            self._am_bytes += size
        else:
            self._a1in[key] = None
            self._in_bytes += size
        self._ghost_hit = False
        return True

    def _on_hit(self, key: K) -> None:
        if key in self._am:
            self._am.move_to_end(key)

    def _on_remove(self, key: K) -> None:
        size = self._size(key)
        if self._a1in.pop(key, MISSING) is not MISSING:
            self._in_bytes -= size
        else:
            del self._am[key]
            self._am_bytes -= size

    def _remember(self, key: K, size: int) -> None:
        """Put an evicted A1in key into the ghost FIFO A1out."""
        limit = self.out_capacity
        if limit is None or size > limit or key in self._a1out:
            return
        out = self._a1out
        while out and self._out_bytes + size > limit:
            _, old = out.popitem(last=False)
            self._out_bytes -= old
        out[key] = size
        self._out_bytes += size

    def peek_victim(self) -> K:
        if self._a1in and (
            not self._am or self.in_capacity is None or self._in_bytes > self.in_capacity
        ):
            return next(iter(self._a1in))
        if self._am:
            return next(iter(self._am))
        return MISSING  # type: ignore[no-any-return]

    def _victim(self, size: int) -> K:
        key = self.peek_victim()
        if key in self._a1in:
            self._remember(key, self._size(key))
        return key
