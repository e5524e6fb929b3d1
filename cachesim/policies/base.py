"""The eviction/TTL core shared by :class:`~cachesim.providers.MemoryProvider` and
the simulator.

A store maps keys to values with an optional absolute expiry time, bounded by a
capacity in size units (every entry has size 1 unless told otherwise, so the
capacity counts entries; pass sizes in bytes and it counts bytes).  Expired
entries are invisible: reading one removes it and counts an expiration, and
they are purged first when space is needed.  Subclasses implement only the
policy, through the hooks below.

The store classes are the reference implementation of every policy: the
simulator's compiled kernels (:mod:`cachesim.sim.kernels`) re-implement the
same hooks over arrays and are tested to give identical counts request by
request.  How a request flows through the hooks:

* ``get`` of a live entry calls :meth:`EntryStore._on_hit`;
* ``put`` of a key that holds a live entry of the **same size** calls
  :meth:`EntryStore._on_update` (an overwrite in place); an entry of another
  size is removed and the new one stored as a new entry;
* ``put`` of a new key calls :meth:`EntryStore._admit` (may refuse; ghost lists
  are consulted here), then the store's ``admission`` filter if it has one,
  then refuses entries larger than the capacity; then, while the entry does
  not fit, purges expired entries and evicts :meth:`EntryStore._victim`, then
  calls :meth:`EntryStore._on_insert` (may still refuse, as libCacheSim's
  S3-FIFO does for entries as large as its small queue);
* every entry that leaves (evicted, expired, deleted, replaced) goes through
  :meth:`EntryStore._on_remove` while it is still in the table.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterator
from typing import Any, ClassVar, Final, Generic, Protocol, TypeVar

__all__ = ["MISSING", "AdmissionFilter", "EntryStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Returned by :meth:`EntryStore.get` on a miss (``None`` is a value).
MISSING: Final[Any] = _Missing()


class AdmissionFilter(Protocol):
    """Decides whether a new entry may enter a store (TinyLFU, Bloom filter, size ...).

    ``record`` sees every read of a key (``get``, with the cached size, 1 if
    absent); ``admit`` is asked for each new entry the policy would store.
    """

    def record(self, key: Any, size: int) -> None:
        """Note one access of ``key``."""

    def admit(self, key: Any, size: int) -> bool:
        """Whether the new entry ``key`` of ``size`` may be stored."""


class EntryStore(Generic[K, V]):
    """A bounded, TTL-aware key/value store; subclasses choose the victim.

    ``capacity=None`` means unbounded (entries leave only by TTL or delete).
    Times are plain floats from whatever clock the caller uses.
    """

    #: Registry name of the policy (``"lru"``, ``"fifo"`` ...).
    name: ClassVar[str] = ""

    def __init__(self, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 0:
            raise ValueError(f"capacity must be >= 0 or None, got {capacity!r}")
        self.capacity = capacity
        self._values: dict[K, V] = self._new_table()
        self._sizes: dict[K, int] = {}
        self._expires: dict[K, float] = {}
        self._heap: list[tuple[float, K]] = []
        self.used = 0
        self.evictions = 0
        self.expirations = 0
        self.inserts = 0  # new entries stored
        self.rejections = 0  # new entries refused (policy, admission filter or size)
        #: Optional admission filter consulted for new entries (simulator use).
        self.admission: AdmissionFilter | None = None

    # -- policy hooks -------------------------------------------------------------
    def _new_table(self) -> dict[K, V]:
        """Return the table holding values (an OrderedDict for order-based policies)."""
        return {}

    def _admit(self, key: K, size: int) -> bool:
        """Whether a new entry of ``size`` may be stored (before any eviction).

        Called for every new key, first; policies with ghost lists look the key
        up here.  Entries larger than the capacity are refused afterwards
        whatever this returns; the default admits everything else.
        """
        return True

    def _on_insert(self, key: K, size: int) -> bool:
        """Place a new ``key`` (room has been made; it is not in the table yet).

        Return False to refuse it after all (nothing is stored).
        """
        return True

    def _stored_size(self, key: K, size: int) -> int:
        """The size to account for a new entry just placed by :meth:`_on_insert`.

        ``size`` by default; LIRS keeps the size its stack remembers for a
        returning non-resident block, as libCacheSim does.
        """
        return size

    def _on_hit(self, key: K) -> None:
        """Record a read hit of ``key``."""

    def _on_update(self, key: K) -> None:
        """Record that a live ``key`` was overwritten with a value of the same size."""
        self._on_hit(key)

    def _on_remove(self, key: K) -> None:
        """Forget policy state for ``key`` (it is still in the table)."""

    def _victim(self, size: int) -> K:
        """Return the key to evict next, to make room for an entry of ``size``.

        The table is not empty.  Called only when an eviction follows, so
        policies may update their state here (a CLOCK hand, ghost lists).
        """
        raise NotImplementedError  # abstract

    # -- public API ---------------------------------------------------------------
    def __len__(self) -> int:
        """Number of stored entries, including expired ones not yet purged."""
        return len(self._values)

    def get(self, key: K, now: float) -> V:
        """Return the live value of ``key`` (counting a hit for the policy) or MISSING."""
        if self.admission is not None:
            self.admission.record(key, self._sizes.get(key, 1))
        values = self._values
        if key not in values:
            return MISSING  # type: ignore[no-any-return]
        if self._expires and self._is_expired(key, now):
            self._expire(key)
            return MISSING  # type: ignore[no-any-return]
        self._on_hit(key)
        return values[key]

    def peek(self, key: K, now: float) -> V:
        """Return the live value of ``key`` without touching policy state, or MISSING."""
        if key not in self._values:
            return MISSING  # type: ignore[no-any-return]
        if self._expires and self._is_expired(key, now):
            self._expire(key)
            return MISSING  # type: ignore[no-any-return]
        return self._values[key]

    def contains(self, key: K, now: float) -> bool:
        """Whether ``key`` holds a live entry (no policy effect)."""
        return self.peek(key, now) is not MISSING

    def expires_at(self, key: K) -> float | None:
        """Absolute expiry time of ``key`` (None: no expiry or absent)."""
        return self._expires.get(key)

    def size_of(self, key: K) -> int:
        """Size of the stored entry ``key`` (1 unless stored with another size)."""
        return self._sizes.get(key, 1)

    def put(self, key: K, value: V, expires_at: float | None, now: float, size: int = 1) -> bool:
        """Store ``key``; evict (expired entries first) to make room.

        Returns False when the policy refuses the entry (e.g. ``size`` exceeds
        the whole capacity); then nothing is stored and any old value is gone.
        """
        values = self._values
        if key in values:
            if self._expires and self._is_expired(key, now):
                self._expire(key)  # gone already: what follows is a new entry
            elif size == self._sizes.get(key, 1):
                values[key] = value
                self._set_expiry(key, expires_at)
                self._on_update(key)
                return True
            else:
                self._remove(key)  # replaced by an entry of another size
        capacity = self.capacity
        if (
            not self._admit(key, size)
            or (self.admission is not None and not self.admission.admit(key, size))
            or (capacity is not None and size > capacity)
        ):
            self.rejections += 1
            return False
        if capacity is not None and self.used + size > capacity:
            if self._heap:
                self.purge_expired(now)
            while self.used + size > capacity:
                self._remove(self._victim(size))
                self.evictions += 1
        if not self._on_insert(key, size):
            self.rejections += 1
            return False
        values[key] = value
        self.inserts += 1
        size = self._stored_size(key, size)
        self.used += size
        if size != 1:
            self._sizes[key] = size
        self._set_expiry(key, expires_at)
        return True

    def delete(self, key: K) -> bool:
        """Remove ``key``; return whether a live or expired entry was there."""
        if key not in self._values:
            return False
        self._remove(key)
        return True

    def clear(self) -> None:
        """Remove every entry (counters are kept)."""
        for key in list(self._values):
            self._remove(key)

    def keys(self, now: float) -> Iterator[K]:
        """Iterate over live keys (a snapshot; safe to mutate the store meanwhile)."""
        expires = self._expires
        for key in list(self._values):
            exp = expires.get(key)
            if exp is None or exp > now:
                yield key

    def purge_expired(self, now: float, limit: int | None = None) -> int:
        """Remove up to ``limit`` expired entries, earliest expiry first; return how many."""
        heap, expires = self._heap, self._expires
        removed = 0
        while heap and heap[0][0] <= now and (limit is None or removed < limit):
            exp, key = heapq.heappop(heap)
            if expires.get(key) == exp and key in self._values:
                self._expire(key)
                removed += 1
        return removed

    def next_expiry(self) -> float | None:
        """Earliest pending expiry time (may be stale), or None."""
        return self._heap[0][0] if self._heap else None

    # -- internals ----------------------------------------------------------------
    def _is_expired(self, key: K, now: float) -> bool:
        exp = self._expires.get(key)
        return exp is not None and exp <= now

    def _set_expiry(self, key: K, expires_at: float | None) -> None:
        if expires_at is None:
            self._expires.pop(key, None)
            return
        if self._expires.get(key) == expires_at:
            return  # already queued at this time
        self._expires[key] = expires_at
        heapq.heappush(self._heap, (expires_at, key))
        if len(self._heap) > 2 * len(self._expires) + 64:
            self._heap = [(exp, k) for k, exp in self._expires.items()]
            heapq.heapify(self._heap)

    def _expire(self, key: K) -> None:
        self._remove(key)
        self.expirations += 1

    def _remove(self, key: K) -> None:
        self._on_remove(key)
        del self._values[key]
        self.used -= self._sizes.pop(key, 1)
        self._expires.pop(key, None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capacity={self.capacity!r}, entries={len(self)})"
