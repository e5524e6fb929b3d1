"""LIRS (Jiang & Zhang, SIGMETRICS'02): recency of re-reference decides what stays.

Blocks with a low inter-reference recency (*LIR*) hold ``1 - hir_ratio`` of
the capacity; the rest (1 %) holds resident *HIR* blocks in the list Q.  The
stack S orders recently requested blocks, including non-resident HIR blocks
whose history is kept so a quick re-reference can promote them.  A hit on a
resident HIR block that S still holds makes it LIR and demotes the least
recent LIR block to Q; eviction takes the least recently used block of Q.
S is pruned so that its bottom is always LIR, and its total size is bounded
by twice the capacity by forgetting the oldest non-resident blocks.

This follows libCacheSim's LIRS, including how it reserves room (LIR blocks
are demoted before a promotion or a re-inserted non-resident block, and a new
block larger than the HIR share is not stored; one larger than the whole cache
is refused before it touches S or Q).  A non-resident block that comes back is
stored with the size S remembers for it (libCacheSim's accounting when a
request carries another size).  Also like libCacheSim: a hit on a resident
HIR block that only Q holds demotes LIR blocks to make room for it, and if
that pushes the block itself out of Q it stays cached, held in S without
being counted in the used size, until its next hit promotes it to LIR (and
counts it again) or S drops it.  The cache then briefly holds more than its
capacity, as libCacheSim's does; this happens when Q holds one or two blocks
(small caches, large objects).  ``strict=True`` keeps the requested block in
Q instead and never exceeds the capacity.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies._store import PolicyStore
from cachesim.policies.base import MISSING

__all__ = ["LIRSStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LIRSStore(PolicyStore[K, V]):
    """LIRS with ``hir_ratio`` (1 %) of the capacity for resident HIR blocks.

    ``strict=True`` never holds more than the capacity: the block being
    requested is never pushed out of Q by its own promotion (the next one
    goes), at the price of differing from libCacheSim on small caches.
    """

    name = "lirs"

    def __init__(
        self, capacity: int | None = None, *, hir_ratio: float = 0.01, strict: bool = False
    ) -> None:
        super().__init__(capacity)
        if not 0 < hir_ratio < 1:
            raise ValueError(f"hir_ratio must be in (0, 1), got {hir_ratio!r}")
        self.strict = strict
        cap = capacity if capacity is not None else 1 << 62
        self.hir_limit = max(1, int(hir_ratio * cap))
        self.lir_limit = cap - self.hir_limit
        self.stack_limit = 2 * cap
        self._s: OrderedDict[K, None] = OrderedDict()  # bottom (least recent) first
        self._q: OrderedDict[K, None] = OrderedDict()  # least recent first
        self._nonresident: OrderedDict[K, None] = OrderedDict()  # oldest first
        self._lir: dict[K, bool] = {}  # S entries: LIR?
        self._resident: dict[K, bool] = {}  # S entries: resident?
        self._s_size: dict[K, int] = {}  # S entries: size
        self._s_bytes = 0
        self.lir_bytes = 0
        self.hir_bytes = 0
        self._requested: object = MISSING  # the HIR block whose hit is being served
        self._uncounted: dict[K, int] = {}  # cached blocks left out of ``used`` -> size
        self._internal = False
        self._returning: int | None = None  # stored size of a returning non-resident block

    # -- helpers ------------------------------------------------------------------
    def _s_drop(self, key: K) -> None:
        del self._s[key]
        del self._lir[key]
        del self._resident[key]
        self._s_bytes -= self._s_size.pop(key)

    def _s_push(self, key: K, size: int, lir: bool) -> None:
        self._s[key] = None
        self._lir[key] = lir
        self._resident[key] = True
        self._s_size[key] = size
        self._s_bytes += size

    def _drop_resident(self, key: K) -> None:
        """Remove ``key`` from the table after the policy lists were updated."""
        self._internal = True
        try:
            self._evict_now(key)
        finally:
            self._internal = False

    def _prune(self) -> None:
        s, lir = self._s, self._lir
        while len(s) > 1:
            bottom = next(iter(s))
            if lir[bottom]:
                break
            if not self._resident[bottom]:
                self._nonresident.pop(bottom, None)
            self._s_drop(bottom)
            self._forget_uncounted(bottom)

    def _forget_uncounted(self, key: K) -> None:
        """S dropped ``key``: if it was a cached block left out of ``used``, it leaves now."""
        size = self._uncounted.pop(key, None)
        if size is not None:
            self.used += size
            self._drop_resident(key)

    def _evict_hir(self) -> bool:
        """Evict Q's least recent block; False if (strict) only the requested block is left."""
        q = self._q
        key = next(iter(q))
        if self.strict and key == self._requested:
            if len(q) == 1:
                return False
            it = iter(q)
            next(it)
            key = next(it)
        size = self._size(key)
        del q[key]
        self.hir_bytes -= size
        if key == self._requested:  # stays cached, held in S, not counted (libCacheSim)
            self._uncounted[key] = size
            self.used -= size
            return True
        if key in self._s:
            self._resident[key] = False
            self._nonresident[key] = None
        self._drop_resident(key)
        return True

    def _evict_lir(self) -> None:
        key = next(iter(self._s))
        size = self._s_size[key]
        if not self._lir[key]:  # an HIR block at the bottom: it only leaves S
            if not self._resident[key]:
                self._nonresident.pop(key, None)
            self._s_drop(key)
            self._forget_uncounted(key)
            self._prune()
            return
        self.lir_bytes -= size
        self._s_drop(key)
        if size <= self.hir_limit and key in self._values:
            while self._q and self.hir_bytes + size > self.hir_limit:
                if not self._evict_hir():
                    break
            if key not in self._q:
                self._q[key] = None
                self.hir_bytes += size
        elif key in self._values and key not in self._q:
            self._drop_resident(key)
        self._prune()

    def _limit_stack(self) -> None:
        while self._s_bytes > self.stack_limit and self._nonresident:
            key, _ = self._nonresident.popitem(last=False)
            self._s_drop(key)

    # -- hooks --------------------------------------------------------------------
    def _on_hit(self, key: K) -> None:
        s, q = self._s, self._q
        in_s, in_q = key in s, key in q
        if in_s:
            s.move_to_end(key)
        if in_q:
            q.move_to_end(key)
        size = self._size(key)
        if in_s and self._lir[key]:
            self._prune()
        elif in_s:
            if in_q:
                del q[key]
                self.hir_bytes -= size
            while self.lir_bytes + size > self.lir_limit and next(iter(s)) != key:
                self._evict_lir()
            self._lir[key] = True
            self.lir_bytes += size
            uncounted = self._uncounted.pop(key, None)
            if uncounted is not None:
                self.used += uncounted
        else:
            self._requested = key
            try:
                while self.lir_bytes + size > self.lir_limit and self._s:
                    self._evict_lir()
            finally:
                self._requested = MISSING
            self._s_push(key, size, lir=False)
        self._limit_stack()

    def _admit(self, key: K, size: int) -> bool:
        if self.capacity is not None and size > self.capacity:
            return False  # never stored: S and Q stay as they are (libCacheSim's LIRS)
        if key in self._s:  # a non-resident HIR block: it will come back as LIR
            self._s.move_to_end(key)
            while self.lir_bytes + self._s_size[key] > self.lir_limit and len(self._s) > 1:
                self._evict_lir()
            self._nonresident.pop(key, None)
            capacity = self.capacity
            while capacity is not None and self.used + size > capacity:
                while self._q and self.hir_bytes >= self.hir_limit:
                    self._evict_hir()
                if len(self._s) <= 1:
                    break
                self._evict_lir()
            return True
        if size > self.hir_limit:
            return False
        if self.lir_bytes + size > self.lir_limit and self.hir_bytes + size > self.hir_limit:
            while self._q and self.hir_bytes + size > self.hir_limit:
                self._evict_hir()
        return True

    def _on_insert(self, key: K, size: int) -> bool:
        if key in self._s:  # keeps the size S remembers (libCacheSim's LIRS does)
            self._lir[key] = True
            self._resident[key] = True
            self._returning = self._s_size[key]
            self.lir_bytes += self._returning
        elif self.lir_bytes + size <= self.lir_limit:
            self._s_push(key, size, lir=True)
            self.lir_bytes += size
        else:
            self._s_push(key, size, lir=False)
            self._q[key] = None
            self.hir_bytes += size
        self._limit_stack()
        return True

    def _stored_size(self, key: K, size: int) -> int:
        returning, self._returning = self._returning, None
        return size if returning is None else returning

    def _on_remove(self, key: K) -> None:
        if self._internal:
            return
        size = self._size(key)
        uncounted = self._uncounted.pop(key, None)
        if uncounted is not None:  # base ``_remove`` subtracts it
            self.used += uncounted
        if key in self._s:
            if self._lir[key]:
                self.lir_bytes -= size
                self._s_drop(key)
                self._prune()
                return
            self._s_drop(key)
        if key in self._q:
            del self._q[key]
            self.hir_bytes -= size

    def peek_victim(self) -> K:
        if self._q:
            return next(iter(self._q))
        for key in self._s:
            if self._lir[key]:
                return key
        return MISSING  # type: ignore[no-any-return]

    def _victim(self, size: int) -> K:
        return self.peek_victim()
