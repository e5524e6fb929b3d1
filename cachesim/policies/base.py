"""The eviction/TTL core shared by :class:`~cachesim.providers.MemoryProvider` and
the simulator's virtual engine.

A store maps keys to values with an optional absolute expiry time, bounded by a
capacity (in size units; every entry has size 1 unless told otherwise).  Expired
entries are invisible: reading one removes it and counts an expiration, and they
are purged first when space is needed.  Subclasses implement only the policy:
which entry to evict next.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterator
from typing import Any, ClassVar, Final, Generic, TypeVar

__all__ = ["MISSING", "EntryStore"]

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

    # -- policy hooks -------------------------------------------------------------
    def _new_table(self) -> dict[K, V]:
        """Return the table holding values (an OrderedDict for order-based policies)."""
        return {}

    def _on_hit(self, key: K) -> None:
        """Record a read hit of ``key``."""

    def _on_insert(self, key: K) -> None:
        """Record that ``key`` was inserted (it is already in the table)."""

    def _on_update(self, key: K) -> None:
        """Record that an existing ``key`` was overwritten."""
        self._on_hit(key)

    def _on_remove(self, key: K) -> None:
        """Forget policy state for ``key`` (it is still in the table)."""

    def _before_insert(self, key: K) -> None:
        """Called when a new ``key`` is about to be stored, before room is made for it."""

    def _victim(self) -> K:
        """Return the key to evict next (the table is not empty).

        Called only when an eviction will follow, so policies may update their
        state here (a CLOCK hand, ghost lists).
        """
        raise NotImplementedError  # abstract

    def _victim_excluding(self, key: K) -> K:
        """A victim other than ``key`` (just overwritten), or MISSING if there is none.

        The default walks the table in its order: the oldest entry for the
        OrderedDict-based policies.
        """
        for candidate in self._values:
            if candidate != key:
                return candidate
        return MISSING  # type: ignore[no-any-return]

    # -- public API ---------------------------------------------------------------
    def __len__(self) -> int:
        """Number of stored entries, including expired ones not yet purged."""
        return len(self._values)

    def get(self, key: K, now: float) -> V:
        """Return the live value of ``key`` (counting a hit for the policy) or MISSING."""
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

    def put(self, key: K, value: V, expires_at: float | None, now: float, size: int = 1) -> bool:
        """Store ``key``; evict (expired entries first) to make room.

        Returns False (storing nothing, dropping any old value) when ``size``
        exceeds the whole capacity.
        """
        capacity = self.capacity
        values = self._values
        if key in values:
            if capacity is not None and size > capacity:
                self._remove(key)
                return False
            self.used += size - self._sizes.get(key, 1)
            values[key] = value
            if size != 1:
                self._sizes[key] = size
            else:
                self._sizes.pop(key, None)
            self._set_expiry(key, expires_at)
            self._on_update(key)
            self._make_room(now, exclude=key)
            return True
        if capacity is not None and size > capacity:
            return False
        self._before_insert(key)
        if capacity is not None and self.used + size > capacity:
            if self._heap:
                self.purge_expired(now)
            while self.used + size > capacity:
                self._evict()
        values[key] = value
        self.used += size
        if size != 1:
            self._sizes[key] = size
        self._set_expiry(key, expires_at)
        self._on_insert(key)
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
        """Remove up to ``limit`` expired entries; return how many were removed."""
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
        self._expires[key] = expires_at
        heapq.heappush(self._heap, (expires_at, key))
        if len(self._heap) > 2 * len(self._expires) + 64:
            self._heap = [(exp, k) for k, exp in self._expires.items()]
            heapq.heapify(self._heap)

    def _expire(self, key: K) -> None:
        self._remove(key)
        self.expirations += 1

    def _evict(self) -> None:
        self._remove(self._victim())
        self.evictions += 1

    def _make_room(self, now: float, exclude: K) -> None:
        capacity = self.capacity
        if capacity is None or self.used <= capacity:
            return
        if self._heap:
            self.purge_expired(now)
        while self.used > capacity:
            victim = self._victim()
            if victim == exclude:  # never evict what was just written
                victim = self._victim_excluding(exclude)
                if victim is MISSING:
                    break
            self._remove(victim)
            self.evictions += 1

    def _remove(self, key: K) -> None:
        self._on_remove(key)
        del self._values[key]
        self.used -= self._sizes.pop(key, 1)
        self._expires.pop(key, None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(capacity={self.capacity!r}, entries={len(self)})"
