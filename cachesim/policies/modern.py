"""Scan-resistant policies: ARC, SIEVE and S3-FIFO, and the unbounded TTL-only store.

ARC and S3-FIFO size their internal queues in entries (as the papers do);
with per-entry sizes the capacity bound itself is still in size units.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies.base import MISSING, EntryStore

__all__ = ["ARCStore", "S3FIFOStore", "SieveStore", "TTLStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TTLStore(EntryStore[K, V]):
    """No capacity bound: entries leave only when they expire or are deleted.

    ``capacity`` is accepted for interface compatibility and ignored, so a
    capacity sweep over several policies can include the TTL-only baseline.
    """

    name = "ttl"

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(None)

    def _victim(self) -> K:  # pragma: no cover - never called without a capacity
        raise RuntimeError("the TTL-only store never evicts")


class SieveStore(EntryStore[K, V]):
    """SIEVE (Zhang et al., NSDI'24): a FIFO queue with a visited bit and a moving hand.

    A hit only sets the bit.  To evict, the hand walks from the oldest entry
    towards the newest, clearing bits, and evicts the first unvisited entry;
    it resumes there next time and wraps around to the oldest.
    """

    name = "sieve"

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(capacity)
        self._newer: dict[K, K | None] = {}
        self._older: dict[K, K | None] = {}
        self._newest: K | None = None
        self._oldest: K | None = None
        self._hand: K | None = None
        self._visited: set[K] = set()

    def _on_insert(self, key: K) -> None:
        self._older[key] = self._newest
        self._newer[key] = None
        if self._newest is not None:
            self._newer[self._newest] = key
        self._newest = key
        if self._oldest is None:
            self._oldest = key

    def _on_hit(self, key: K) -> None:
        self._visited.add(key)

    def _on_remove(self, key: K) -> None:
        newer = self._newer.pop(key)
        older = self._older.pop(key)
        if self._hand == key:
            self._hand = newer
        if newer is None:
            self._newest = older
        else:
            self._older[newer] = older
        if older is None:
            self._oldest = newer
        else:
            self._newer[older] = newer
        self._visited.discard(key)

    def _victim(self) -> K:
        visited, newer = self._visited, self._newer
        key = self._hand if self._hand is not None else self._oldest
        assert key is not None
        while key in visited:
            visited.discard(key)
            nxt = newer[key]
            key = nxt if nxt is not None else self._oldest
            assert key is not None
        self._hand = newer[key]
        return key


class S3FIFOStore(EntryStore[K, V]):
    """S3-FIFO (Yang et al., SOSP'23): a small FIFO, a main FIFO and a ghost FIFO.

    New keys enter the small queue (``small_ratio`` of the capacity) unless the
    ghost queue remembers them, in which case they go straight to the main
    queue; until the first eviction, keys that find the small queue full also
    go to the main queue.  Hits count reads.  Eviction takes from the main
    queue when it holds more than its share (or the small queue is empty),
    else from the small queue: an entry read at least ``move_to_main_threshold``
    times moves to the main queue, the others are evicted into the ghost queue
    (``ghost_ratio`` of the capacity, keys only).  The main queue reinserts an
    entry with a non-zero count, capping it at 3 and decrementing it.  This
    follows libCacheSim's S3FIFO (equal hit ratios on the same trace).
    """

    name = "s3fifo"

    def __init__(
        self,
        capacity: int | None = None,
        *,
        small_ratio: float = 0.1,
        ghost_ratio: float = 0.9,
        move_to_main_threshold: int = 2,
    ) -> None:
        super().__init__(capacity)
        if not 0 < small_ratio < 1 or ghost_ratio < 0 or move_to_main_threshold < 1:
            raise ValueError("need 0 < small_ratio < 1, ghost_ratio >= 0, threshold >= 1")
        cap = capacity or 0
        self.small_capacity = max(1, int(cap * small_ratio))
        self.main_capacity = cap - self.small_capacity
        self.ghost_capacity = max(1, int(cap * ghost_ratio))
        self.move_to_main_threshold = move_to_main_threshold
        self._small: OrderedDict[K, None] = OrderedDict()
        self._main: OrderedDict[K, None] = OrderedDict()
        self._ghost: OrderedDict[K, None] = OrderedDict()
        self._freq: dict[K, int] = {}
        self._to_main = False
        self._evicted = False

    def _before_insert(self, key: K) -> None:
        self._to_main = key in self._ghost
        if self._to_main:
            del self._ghost[key]

    def _on_insert(self, key: K) -> None:
        to_main = self._to_main or (not self._evicted and len(self._small) >= self.small_capacity)
        (self._main if to_main else self._small)[key] = None
        self._freq[key] = 0
        self._to_main = False

    def _on_hit(self, key: K) -> None:
        self._freq[key] += 1

    def _on_remove(self, key: K) -> None:
        del self._freq[key]
        if self._small.pop(key, MISSING) is MISSING:
            del self._main[key]

    def _victim(self) -> K:
        small, main, freq = self._small, self._main, self._freq
        self._evicted = True
        if len(main) > self.main_capacity or not small:
            return self._victim_main()
        while small:
            key = next(iter(small))
            if freq[key] >= self.move_to_main_threshold:
                del small[key]
                main[key] = None
                freq[key] = 0
                continue
            ghost = self._ghost
            ghost[key] = None
            if len(ghost) > self.ghost_capacity:
                ghost.popitem(last=False)
            return key
        return self._victim_main()

    def _victim_main(self) -> K:
        main, freq = self._main, self._freq
        while True:
            key = next(iter(main))
            f = freq[key]
            if f == 0:
                return key
            freq[key] = min(f, 3) - 1
            main.move_to_end(key)


class ARCStore(EntryStore[K, V]):
    """ARC (Megiddo & Modha, FAST'03): recency list T1 and frequency list T2, adapted online.

    Ghost lists B1 and B2 remember recently evicted keys; a miss on a ghost
    moves the target size ``p`` of T1 towards the list that would have hit.
    """

    name = "arc"

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(capacity)
        self._t1: OrderedDict[K, None] = OrderedDict()
        self._t2: OrderedDict[K, None] = OrderedDict()
        self._b1: OrderedDict[K, None] = OrderedDict()
        self._b2: OrderedDict[K, None] = OrderedDict()
        self.p = 0.0
        self._case = 0  # 0: new key, 1: ghost hit in B1, 2: ghost hit in B2
        self._drop_t1 = False

    def _before_insert(self, key: K) -> None:
        c = self.capacity
        if c is None:
            self._case = 0
            return
        b1, b2 = self._b1, self._b2
        if key in b1:
            self.p = min(float(c), self.p + max(len(b2) / len(b1), 1.0))
            del b1[key]
            self._case = 1
        elif key in b2:
            self.p = max(0.0, self.p - max(len(b1) / len(b2), 1.0))
            del b2[key]
            self._case = 2
        else:
            self._case = 0
            t1, t2 = self._t1, self._t2
            if len(t1) + len(b1) >= c:
                if len(t1) < c:
                    if b1:
                        b1.popitem(last=False)
                else:
                    self._drop_t1 = True
            elif len(t1) + len(t2) + len(b1) + len(b2) >= 2 * c and b2:
                b2.popitem(last=False)

    def _on_insert(self, key: K) -> None:
        (self._t2 if self._case else self._t1)[key] = None
        self._case = 0
        self._drop_t1 = False

    def _on_hit(self, key: K) -> None:
        if key in self._t1:
            del self._t1[key]
            self._t2[key] = None
        else:
            self._t2.move_to_end(key)

    def _on_remove(self, key: K) -> None:
        if self._t1.pop(key, MISSING) is MISSING:
            del self._t2[key]

    def _victim(self) -> K:
        t1, t2 = self._t1, self._t2
        if self._drop_t1 and t1:
            self._drop_t1 = False
            return next(iter(t1))  # B1 is empty and T1 full: drop without a ghost
        if t1 and (len(t1) > self.p or (self._case == 2 and len(t1) == self.p) or not t2):
            key = next(iter(t1))
            ghost = self._b1
        else:
            key = next(iter(t2))
            ghost = self._b2
        ghost[key] = None
        limit = 2 * (self.capacity or 0)
        while len(self._b1) + len(self._b2) > limit:  # safety bound (deletes, sizes)
            (self._b2 if len(self._b2) > len(self._b1) else self._b1).popitem(last=False)
        return key

    def _victim_excluding(self, key: K) -> K:
        for queue in (self._t1, self._t2):
            for candidate in queue:
                if candidate != key:
                    return candidate
        return MISSING  # type: ignore[no-any-return]
