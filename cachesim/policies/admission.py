"""Admission policies: which missed entries a cache stores at all, for any eviction policy.

An admission policy is asked before a key that is not cached is stored (the
fill after a read miss, or a write of a new key); overwrites of cached keys
are never refused.  :func:`with_admission` wraps any
:class:`~cachesim.policies.EntryStore` so that it consults one, and counts
``admitted`` and ``rejected`` attempts.  ``simulate(..., admission="tinylfu")``
uses it.

=================  =====================================================================
``always``         admit everything (the default behaviour without a policy)
``tinylfu``        TinyLFU (Einziger, Friedman & Manes): admit a new entry only if its
                   estimated recent frequency is higher than that of the entry the
                   eviction policy would evict next; admit freely while there is room.
                   Needs a policy that can name its next victim without evicting
                   (``lru``, ``fifo``, ``slru``, ``2q``, ``lru-k``, ``gdsf``, ``lirs``,
                   ``wtinylfu``).
``bloom``          one-hit-wonder filter: a key's first miss only records it in a Bloom
                   filter; it is stored from its second miss on.  The filter is cleared
                   after ``expected_items`` keys (bounded memory, like rotating filters
                   in CDNs).
``probabilistic``  admit with probability ``p`` (seeded)
``size``           admit entries of at most ``max_size`` (bytes with ``unit="bytes"``)
=================  =====================================================================
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterator
from typing import Any, ClassVar, Generic, TypeVar

from cachesim.policies.base import MISSING, EntryStore
from cachesim.policies.classic import FIFOStore, LRUStore
from cachesim.policies.sketch import BloomFilter, FrequencySketch

__all__ = [
    "ADMISSIONS",
    "ADMISSION_ALIASES",
    "Admission",
    "AdmittedStore",
    "AlwaysAdmit",
    "BloomAdmission",
    "ProbabilisticAdmission",
    "SizeAdmission",
    "TinyLFUAdmission",
    "make_admission",
    "peek_victim",
    "with_admission",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_NOBODY = object()


class Admission:
    """Decides whether a new entry is stored; subclasses override :meth:`admit`."""

    #: Registry name (``"tinylfu"``, ``"bloom"`` ...).
    name: ClassVar[str] = ""
    #: Whether :meth:`admit` needs the eviction policy's next victim.
    needs_victim: ClassVar[bool] = False

    def bind(self, capacity: int | None, expected_entries: int | None = None) -> None:
        """Learn the cache's capacity and expected number of entries before the first request."""

    def record(self, key: Hashable) -> None:
        """Count one request of ``key`` (every read, and writes that do not fill a read miss)."""

    def admit(self, key: Hashable, size: int, victim: Any) -> bool:
        """Whether to store ``key``; ``victim`` is the next eviction (MISSING if there is room)."""
        raise NotImplementedError  # abstract

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AlwaysAdmit(Admission):
    """Admit every entry."""

    name = "always"

    def admit(self, key: Hashable, size: int, victim: Any) -> bool:
        return True


class TinyLFUAdmission(Admission):
    """TinyLFU: admit a new entry only if it was requested more often than the victim.

    Frequencies come from a 4-bit count-min sketch with 4 rows of 4 ×
    ``expected_entries`` counters (default: the capacity in entries) that
    halves itself every ``sample_size`` requests
    (default: 10 × ``expected_entries``); ``doorkeeper=True`` adds a Bloom filter
    for first requests.  While the cache has room, everything is admitted.
    """

    name = "tinylfu"
    needs_victim = True

    def __init__(
        self,
        *,
        expected_entries: int | None = None,
        sample_size: int | None = None,
        doorkeeper: bool = False,
    ) -> None:
        self.expected_entries = expected_entries
        self.sample_size = sample_size
        self.doorkeeper = doorkeeper
        self.sketch: FrequencySketch | None = None

    def bind(self, capacity: int | None, expected_entries: int | None = None) -> None:
        entries = min(self.expected_entries or expected_entries or capacity or 1024, 1 << 22)
        self.sketch = FrequencySketch(
            4 * entries,
            sample_size=self.sample_size or 10 * entries,
            doorkeeper=self.doorkeeper,
        )

    def record(self, key: Hashable) -> None:
        if self.sketch is None:
            self.bind(None)
        assert self.sketch is not None
        self.sketch.record(key)

    def admit(self, key: Hashable, size: int, victim: Any) -> bool:
        if victim is MISSING:
            return True
        if self.sketch is None:
            self.bind(None)
        assert self.sketch is not None
        return self.sketch.frequency(key) > self.sketch.frequency(victim)


class BloomAdmission(Admission):
    """Store a key from its second miss on; first misses are remembered in a Bloom filter.

    The filter holds ``expected_items`` keys at false-positive rate ``fpp`` and is
    cleared when that many keys were added (default: 4 × the expected entries,
    at least 1024).
    """

    name = "bloom"

    def __init__(self, *, expected_items: int | None = None, fpp: float = 0.01) -> None:
        if expected_items is not None and expected_items < 1:
            raise ValueError(f"expected_items must be >= 1, got {expected_items!r}")
        if not 0 < fpp < 1:
            raise ValueError(f"fpp must be in (0, 1), got {fpp!r}")
        self.expected_items = expected_items
        self.fpp = fpp
        self.filter: BloomFilter | None = None
        self.added = 0
        self.resets = 0

    def bind(self, capacity: int | None, expected_entries: int | None = None) -> None:
        if self.expected_items is None:
            entries = expected_entries or capacity or 1024
            self.expected_items = max(1024, 4 * min(entries, 1 << 24))
        self.filter = BloomFilter.for_items(self.expected_items, self.fpp)

    def admit(self, key: Hashable, size: int, victim: Any) -> bool:
        if self.filter is None:
            self.bind(None)
        assert self.filter is not None
        assert self.expected_items is not None
        if self.filter.add(key):
            return True
        self.added += 1
        if self.added >= self.expected_items:
            self.filter.clear()
            self.added = 0
            self.resets += 1
        return False


class ProbabilisticAdmission(Admission):
    """Admit each new entry with probability ``p`` (seeded, reproducible)."""

    name = "probabilistic"

    def __init__(self, p: float = 0.5, *, seed: int = 0) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"p must be in [0, 1], got {p!r}")
        self.p = p
        self._rng = random.Random(seed)

    def admit(self, key: Hashable, size: int, victim: Any) -> bool:
        return self._rng.random() < self.p


class SizeAdmission(Admission):
    """Admit entries of at most ``max_size`` (the unit of the capacity: entries' sizes or bytes)."""

    name = "size"

    def __init__(self, max_size: int) -> None:
        if max_size < 0:
            raise ValueError(f"max_size must be >= 0, got {max_size!r}")
        self.max_size = max_size

    def admit(self, key: Hashable, size: int, victim: Any) -> bool:
        return size <= self.max_size


#: Admission policies by name.
ADMISSIONS: dict[str, type[Admission]] = {
    cls.name: cls
    for cls in (
        AlwaysAdmit,
        TinyLFUAdmission,
        BloomAdmission,
        ProbabilisticAdmission,
        SizeAdmission,
    )
}

#: Other accepted names -> registered name.
ADMISSION_ALIASES: dict[str, str] = {
    "none": "always",
    "all": "always",
    "tiny-lfu": "tinylfu",
    "bloomfilter": "bloom",
    "bloom-filter": "bloom",
    "one-hit-wonder": "bloom",
    "second-hit": "bloom",
    "prob": "probabilistic",
    "random": "probabilistic",
    "size-threshold": "size",
    "max-size": "size",
}


def make_admission(spec: str | Admission, **options: Any) -> Admission:
    """An admission policy from a name (case-insensitive, aliases allowed) or an instance."""
    if isinstance(spec, Admission):
        if options:
            raise TypeError("options apply to an admission given by name, not to an instance")
        return spec
    name = spec.lower()
    name = ADMISSION_ALIASES.get(name, name)
    if name not in ADMISSIONS:
        known = ", ".join(sorted(ADMISSIONS))
        raise ValueError(f"unknown admission policy {spec!r}; choose one of: {known}")
    try:
        return ADMISSIONS[name](**options)
    except TypeError as exc:
        raise TypeError(f"admission policy {name!r}: {exc}") from None


def can_peek(store: EntryStore[Any, Any]) -> bool:
    """Whether :func:`peek_victim` can name ``store``'s next victim."""
    return hasattr(store, "peek_victim") or type(store) in (LRUStore, FIFOStore)


def peek_victim(store: EntryStore[K, Any]) -> K:
    """The key ``store`` would evict next, without evicting it (MISSING when empty)."""
    peek = getattr(store, "peek_victim", None)
    if peek is not None:
        victim: K = peek()
        return victim
    if type(store) in (LRUStore, FIFOStore):  # the table is in eviction order
        return store._victim_excluding(_NOBODY)  # type: ignore[arg-type]
    raise TypeError(f"{type(store).__name__} cannot name its next victim")


class AdmittedStore(EntryStore[K, V], Generic[K, V]):
    """An :class:`EntryStore` that asks ``admission`` before storing a key it does not hold."""

    def __init__(
        self,
        store: EntryStore[K, V],
        admission: Admission,
        *,
        expected_entries: int | None = None,
    ) -> None:
        if admission.needs_victim and not can_peek(store):
            raise ValueError(
                f"{admission.name!r} admission compares with the policy's next victim, "
                f"which {store.name!r} cannot name; use lru, fifo, slru, 2q, lru-k, gdsf, "
                "lirs or wtinylfu"
            )
        super().__init__(store.capacity)
        self.name = store.name  # type: ignore[misc]
        self.store = store
        self.admission = admission
        self.admitted = 0
        self.rejected = 0
        self._last_read: object = MISSING
        admission.bind(store.capacity, expected_entries)

    def _sync(self) -> None:
        store = self.store
        self.used = store.used
        self.evictions = store.evictions
        self.expirations = store.expirations

    def __len__(self) -> int:
        return len(self.store)

    def get(self, key: K, now: float) -> V:
        """Look ``key`` up (counted by the admission policy)."""
        self.admission.record(key)
        self._last_read = key
        value = self.store.get(key, now)
        self._sync()
        return value

    def peek(self, key: K, now: float) -> V:
        """The live value of ``key`` without any policy effect, or MISSING."""
        value = self.store.peek(key, now)
        self._sync()
        return value

    def expires_at(self, key: K) -> float | None:
        """Absolute expiry time of ``key`` (None: no expiry or absent)."""
        return self.store.expires_at(key)

    def put(self, key: K, value: V, expires_at: float | None, now: float, size: int = 1) -> bool:
        """Store ``key`` if it is cached already or the admission policy admits it."""
        store = self.store
        if self._last_read != key:
            self.admission.record(key)
        self._last_read = MISSING
        if store.peek(key, now) is MISSING:
            victim: Any = MISSING
            capacity = store.capacity
            if self.admission.needs_victim and capacity is not None:
                if store.used + size > capacity:
                    store.purge_expired(now)
                if store.used + size > capacity:
                    victim = peek_victim(store)
            if not self.admission.admit(key, size, victim):
                self.rejected += 1
                self._sync()
                return False
            self.admitted += 1
        stored = store.put(key, value, expires_at, now, size)
        self._sync()
        return stored

    def delete(self, key: K) -> bool:
        """Remove ``key``; return whether an entry was there."""
        found = self.store.delete(key)
        self._sync()
        return found

    def clear(self) -> None:
        """Remove every entry (counters are kept)."""
        self.store.clear()
        self._sync()

    def keys(self, now: float) -> Iterator[K]:
        """Iterate over live keys."""
        return self.store.keys(now)

    def purge_expired(self, now: float, limit: int | None = None) -> int:
        """Remove up to ``limit`` expired entries; return how many were removed."""
        removed = self.store.purge_expired(now, limit)
        self._sync()
        return removed

    def next_expiry(self) -> float | None:
        """Earliest pending expiry time (may be stale), or None."""
        return self.store.next_expiry()

    def __repr__(self) -> str:
        return f"AdmittedStore({self.store!r}, {self.admission!r})"


def with_admission(
    store: EntryStore[K, V],
    admission: str | Admission,
    *,
    expected_entries: int | None = None,
    **options: Any,
) -> AdmittedStore[K, V]:
    """Wrap ``store`` so that ``admission`` (a name or an instance) filters new entries."""
    return AdmittedStore(
        store, make_admission(admission, **options), expected_entries=expected_entries
    )
