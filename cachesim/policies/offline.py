"""Offline policies: they need the future, so only the simulator can run them.

:class:`BeladyStore` is the reference implementation of OPT (Belady's MIN) that
the compiled kernel is tested against.  Before each request the simulator sets
``store.next_use`` to the index of the next read the entry stored or read now
could serve -- :data:`NEVER` when there is none, or when the entry would expire
before it.  Such dead entries go first, so OPT spends its evictions on them
before touching anything useful; expired entries are purged before evicting,
as in every store.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from typing import Any, Final, TypeVar

from cachesim.policies.base import EntryStore

__all__ = ["NEVER", "OFFLINE", "BeladyStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: ``next_use`` of an entry that will never be read again while it is live.
NEVER: Final = 1 << 62


class BeladyStore(EntryStore[K, V]):
    """Belady's OPT: evict the entry whose next read is furthest away (ties: smallest key).

    Every new entry is stored (MIN does not bypass); hits and overwrites move
    the entry's next read forward.  With sizes it still ranks by next read
    only, like libCacheSim's Belady.
    """

    name = "opt"

    def __init__(self, capacity: int | None = None) -> None:
        super().__init__(capacity)
        self.next_use = NEVER
        self._next: dict[K, int] = {}
        self._order: list[tuple[int, K]] = []  # (-next use, key), stale entries skipped

    def _note(self, key: K) -> None:
        nu = self.next_use
        self._next[key] = nu
        heapq.heappush(self._order, (-nu, key))
        if len(self._order) > 2 * len(self._next) + 64:
            self._order = [(-n, k) for k, n in self._next.items()]
            heapq.heapify(self._order)

    def _on_insert(self, key: K, size: int) -> bool:
        self._note(key)
        return True

    def _on_hit(self, key: K) -> None:
        self._note(key)

    def _on_remove(self, key: K) -> None:
        del self._next[key]

    def _victim(self, size: int) -> K:
        order, nxt = self._order, self._next
        while True:
            prio, key = heapq.heappop(order)
            if nxt.get(key) == -prio:
                return key


from cachesim.policies.belady_size import BeladySizeStore  # noqa: E402

#: Offline policies by name (simulator only).
OFFLINE: dict[str, type[EntryStore[Any, Any]]] = {"opt": BeladyStore, "opt-size": BeladySizeStore}
