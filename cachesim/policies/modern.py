"""Scan-resistant policies: ARC, SIEVE and S3-FIFO, and the unbounded TTL-only store.

ARC and S3-FIFO measure their queues in the capacity's unit: entries, or
bytes when entries carry sizes (the S3-FIFO small queue holds 10 % of the
bytes, ARC's target ``p`` and its ghost lists count bytes), exactly as
libCacheSim 0.3.5 does, so both give its hit and byte hit ratios.
"""

from __future__ import annotations

import math
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

    def _victim(self, size: int) -> K:  # pragma: no cover - never called without a capacity
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

    def _on_insert(self, key: K, size: int) -> bool:
        self._older[key] = self._newest
        self._newer[key] = None
        if self._newest is not None:
            self._newer[self._newest] = key
        self._newest = key
        if self._oldest is None:
            self._oldest = key
        return True

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

    def _victim(self, size: int) -> K:
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

    Sizes: the small queue gets ``int(capacity * small_ratio)`` units, the main
    queue the rest, the ghost queue ``int(capacity * ghost_ratio)`` units of
    evicted keys' sizes.  A new key goes to the main queue if the ghost queue
    remembers it, else to the small queue -- or to the main queue while nothing
    has been evicted yet and the small queue is full.  Entries at least as
    large as the small queue are not cached (unless the ghost remembers them);
    so with entry counts, S3-FIFO caches nothing below 20 entries.  Hits count
    reads.  To evict, the main queue is used when it holds more than its share
    (or the small queue is empty): its oldest entry is evicted if unread, else
    reinserted with its count capped at 3 and decremented.  Otherwise the small
    queue's oldest entry moves to the main queue if read at least
    ``move_to_main_threshold`` times, else it is evicted into the ghost queue.
    This is libCacheSim 0.3.5's S3FIFO, entry for entry, in entries or bytes.
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
        self.small_capacity = int(cap * small_ratio)
        self.main_capacity = cap - self.small_capacity
        self.ghost_capacity = int(cap * ghost_ratio)
        self.move_to_main_threshold = move_to_main_threshold
        self._small: OrderedDict[K, None] = OrderedDict()  # oldest first
        self._main: OrderedDict[K, None] = OrderedDict()
        self._ghost: OrderedDict[K, int] = OrderedDict()  # key -> size when evicted
        self.small_used = self.main_used = self.ghost_used = 0
        self._freq: dict[K, int] = {}
        self._ghost_hit = False
        self._evicted = False

    def _admit(self, key: K, size: int) -> bool:
        remembered = self._ghost.pop(key, None)
        self._ghost_hit = remembered is not None
        if remembered is not None:
            self.ghost_used -= remembered
        return self.capacity is None or size <= self.small_capacity

    def _on_insert(self, key: K, size: int) -> bool:
        if self._ghost_hit:
            self._ghost_hit = False
            self._main[key] = None
            self.main_used += size
        elif self.capacity is not None and size >= self.small_capacity:
            return False
        elif (
            self.capacity is not None
            and not self._evicted
            and self.small_used >= self.small_capacity
        ):
            self._main[key] = None
            self.main_used += size
        else:
            self._small[key] = None
            self.small_used += size
        self._freq[key] = 0
        return True

    def _on_hit(self, key: K) -> None:
        self._freq[key] += 1

    def _on_remove(self, key: K) -> None:
        del self._freq[key]
        size = self._sizes.get(key, 1)
        if self._small.pop(key, MISSING) is MISSING:
            del self._main[key]
            self.main_used -= size
        else:
            self.small_used -= size

    def _victim(self, size: int) -> K:
        self._evicted = True
        while True:
            if self.main_used > self.main_capacity or self.small_used == 0:
                return self._victim_main()
            key = self._victim_small()
            if key is not MISSING:
                return key

    def _victim_small(self) -> K:
        """The small queue's victim (after moving read entries to main), or MISSING."""
        small, main, freq, sizes = self._small, self._main, self._freq, self._sizes
        while self.small_used > 0:
            key = next(iter(small))
            size = sizes.get(key, 1)
            if freq[key] >= self.move_to_main_threshold:
                del small[key]
                self.small_used -= size
                main[key] = None
                self.main_used += size
                freq[key] = 0
                continue
            self._remember(key, size)
            return key
        return MISSING  # type: ignore[no-any-return]

    def _remember(self, key: K, size: int) -> None:
        """Add an evicted key to the ghost queue (a FIFO of sizes)."""
        ghost, cap = self._ghost, self.ghost_capacity
        if cap <= 0 or key in ghost or size > cap:
            return
        while self.ghost_used + size > cap:
            _, old = ghost.popitem(last=False)
            self.ghost_used -= old
        ghost[key] = size
        self.ghost_used += size

    def _victim_main(self) -> K:
        main, freq = self._main, self._freq
        while True:
            key = next(iter(main))
            f = freq[key]
            if f == 0:
                return key
            freq[key] = min(f, 3) - 1
            main.move_to_end(key)


def _ratio(a: int, b: int) -> float:
    """``max(a / b, 1)`` as libCacheSim computes ARC's step (x/0 is inf, 0/0 gives 1)."""
    if b == 0:
        return math.inf if a > 0 else 1.0
    return max(a / b, 1.0)


class ARCStore(EntryStore[K, V]):
    """ARC (Megiddo & Modha, FAST'03): recency list T1 and frequency list T2, adapted online.

    Ghost lists B1 and B2 remember evicted keys with their sizes; a miss on a
    ghost moves the target size ``p`` of T1 towards the list that would have
    hit, by ``max(|B2| / |B1|, 1)`` (or the mirror) and brings the key back
    into T2.  Every quantity is in the capacity's unit (entries or bytes), and
    ghost lists are trimmed only when an eviction is needed -- libCacheSim
    0.3.5's ARC, entry for entry.
    """

    name = "arc"

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(capacity)
        self._t1: OrderedDict[K, None] = OrderedDict()  # oldest first
        self._t2: OrderedDict[K, None] = OrderedDict()
        self._b1: OrderedDict[K, int] = OrderedDict()  # key -> size when evicted
        self._b2: OrderedDict[K, int] = OrderedDict()
        self.t1_used = self.t2_used = self.b1_used = self.b2_used = 0
        self.p = 0.0
        self._in_b1 = self._in_b2 = False  # last key found in a ghost list (sticky)
        self._ghost_now = False  # the key being inserted came from a ghost list

    def _admit(self, key: K, size: int) -> bool:
        self._ghost_now = False
        c = math.inf if self.capacity is None else float(self.capacity)
        if key in self._b1:
            self._in_b1, self._in_b2 = True, False
            self.p = min(self.p + _ratio(self.b2_used, self.b1_used), c)
            self.b1_used -= self._b1.pop(key)
            self._ghost_now = True
        elif key in self._b2:
            self._in_b1, self._in_b2 = False, True
            self.p = max(self.p - _ratio(self.b1_used, self.b2_used), 0.0)
            self.b2_used -= self._b2.pop(key)
            self._ghost_now = True
        return True

    def _on_insert(self, key: K, size: int) -> bool:
        if self._ghost_now:
            self._ghost_now = False
            self._in_b1 = self._in_b2 = False
            self._t2[key] = None
            self.t2_used += size
        else:
            self._t1[key] = None
            self.t1_used += size
        return True

    def _on_hit(self, key: K) -> None:
        self._in_b1 = self._in_b2 = False
        if key in self._t1:
            size = self._sizes.get(key, 1)
            del self._t1[key]
            self.t1_used -= size
            self._t2[key] = None
            self.t2_used += size
        else:
            self._t2.move_to_end(key)

    def _on_remove(self, key: K) -> None:
        size = self._sizes.get(key, 1)
        if self._t1.pop(key, MISSING) is MISSING:
            del self._t2[key]
            self.t2_used -= size
        else:
            self.t1_used -= size

    def _victim(self, size: int) -> K:
        if self._ghost_now:
            return self._replace()
        c = self.capacity or 0
        if self.t1_used + self.b1_used + size > c:
            if self.b1_used > 0:
                _, old = self._b1.popitem(last=False)
                self.b1_used -= old
                return self._replace()
            return next(iter(self._t1))  # T1 holds the whole share: drop with no ghost
        if self.t1_used + self.b1_used + self.t2_used + self.b2_used >= 2 * c and self.b2_used > 0:
            _, old = self._b2.popitem(last=False)
            self.b2_used -= old
        return self._replace()

    def _replace(self) -> K:
        """REPLACE from the paper: T1's or T2's oldest entry becomes a ghost."""
        t1 = self.t1_used
        from_t1 = (t1 > 0 and (t1 > self.p or (t1 == self.p and self._in_b2))) or (
            self.t2_used == 0
        )
        if (from_t1 and self._t1) or not self._t2:
            key = next(iter(self._t1))
            self._b1[key] = self._sizes.get(key, 1)
            self.b1_used += self._b1[key]
        else:
            key = next(iter(self._t2))
            self._b2[key] = self._sizes.get(key, 1)
            self.b2_used += self._b2[key]
        return key
