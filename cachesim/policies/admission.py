"""Admission policies: which missed entries a cache stores at all, for any eviction policy.

An admission policy is asked before a key that is not cached is stored (the
fill after a read miss, or a write of a new key), after the eviction policy's
own checks (ghost lists, entries too large for a segment); overwrites of
cached keys are never refused.  :func:`with_admission` makes one the
``admission`` filter of any :class:`~cachesim.policies.EntryStore`; it sees
every read (``record``) and counts ``admitted`` and ``rejected`` entries.
``simulate(..., admission="tinylfu")`` uses it.

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
from collections.abc import Hashable
from typing import Any, ClassVar, TypeVar

from cachesim.policies.base import MISSING, EntryStore
from cachesim.policies.classic import FIFOStore, LRUStore
from cachesim.policies.sketch import BloomFilter, FrequencySketch

__all__ = [
    "ADMISSIONS",
    "ADMISSION_ALIASES",
    "Admission",
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
    """Decides whether a new entry is stored; subclasses override :meth:`decide`.

    An instance serves one store (:func:`with_admission` sets it as the store's
    ``admission`` filter): the store calls :meth:`record` on every read and
    :meth:`admit` for every new entry its policy would store.  ``admitted`` and
    ``rejected`` count the answers.
    """

    #: Registry name (``"tinylfu"``, ``"bloom"`` ...).
    name: ClassVar[str] = ""
    #: Whether :meth:`decide` needs the eviction policy's next victim.
    needs_victim: ClassVar[bool] = False

    def __init__(self) -> None:
        self.admitted = 0
        self.rejected = 0
        self.store: EntryStore[Any, Any] | None = None

    def bind(self, store: EntryStore[Any, Any], expected_entries: int | None = None) -> None:
        """Attach to ``store`` before the first request (``expected_entries``: sizing hint)."""
        if self.needs_victim and not can_peek(store):
            raise ValueError(
                f"{self.name!r} admission compares with the policy's next victim, "
                f"which {store.name!r} cannot name; use lru, fifo, slru, 2q, lru-k, gdsf, "
                "lirs or wtinylfu"
            )
        self.store = store

    def record(self, key: Any, size: int) -> None:
        """Count one read of ``key``."""

    def admit(self, key: Any, size: int) -> bool:
        """Whether the new entry ``key`` of ``size`` may be stored (and count the answer)."""
        victim: Any = MISSING
        store = self.store
        if (
            self.needs_victim
            and store is not None
            and store.capacity is not None
            and store.used + size > store.capacity
        ):
            victim = peek_victim(store)
        if self.decide(key, size, victim):
            self.admitted += 1
            return True
        self.rejected += 1
        return False

    def decide(self, key: Any, size: int, victim: Any) -> bool:
        """The decision; ``victim`` is the next eviction, or MISSING while there is room."""
        raise NotImplementedError  # abstract

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class AlwaysAdmit(Admission):
    """Admit every entry."""

    name = "always"

    def decide(self, key: Any, size: int, victim: Any) -> bool:
        return True


class TinyLFUAdmission(Admission):
    """TinyLFU: admit a new entry only if it was requested more often than the victim.

    Frequencies come from a 4-bit count-min sketch with 4 rows of 4 ×
    ``expected_entries`` counters (default: the number of entries the cache
    holds when it first fills) that halves itself every ``sample_size`` requests
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
        super().__init__()
        self.expected_entries = expected_entries
        self.sample_size = sample_size
        self.doorkeeper = doorkeeper
        self.sketch: FrequencySketch | None = None
        self.sketch_entries = 0
        self._sized = False

    def bind(self, store: EntryStore[Any, Any], expected_entries: int | None = None) -> None:
        super().bind(store, expected_entries)
        entries = self.expected_entries or expected_entries
        self._sized = entries is not None or store.capacity is None
        self._new_sketch(entries or min(store.capacity or 1024, 1 << 16))

    def _new_sketch(self, entries: int) -> None:
        entries = max(1, min(entries, 1 << 22))
        self.sketch_entries = entries
        self.sketch = FrequencySketch(
            4 * entries,
            sample_size=self.sample_size or 10 * entries,
            doorkeeper=self.doorkeeper,
        )

    def _sketch(self) -> FrequencySketch:
        if self.sketch is None:
            self._sized = True
            self._new_sketch(self.expected_entries or 1024)
        assert self.sketch is not None
        return self.sketch

    def record(self, key: Any, size: int) -> None:
        self._sketch().record(key)

    def decide(self, key: Any, size: int, victim: Any) -> bool:
        if victim is MISSING:
            return True
        if not self._sized and self.store is not None:  # full for the first time
            self._sized = True
            if len(self.store) != self.sketch_entries:
                self._new_sketch(len(self.store))
        sketch = self._sketch()
        return sketch.frequency(key) > sketch.frequency(victim)


class BloomAdmission(Admission):
    """Store a key from its second miss on; first misses are remembered in a Bloom filter.

    The filter holds ``expected_items`` keys at false-positive rate ``fpp`` and is
    cleared when that many keys were added (default: 4 × the capacity, between
    1,024 and 4,194,304 keys).
    """

    name = "bloom"

    def __init__(self, *, expected_items: int | None = None, fpp: float = 0.01) -> None:
        if expected_items is not None and expected_items < 1:
            raise ValueError(f"expected_items must be >= 1, got {expected_items!r}")
        if not 0 < fpp < 1:
            raise ValueError(f"fpp must be in (0, 1), got {fpp!r}")
        super().__init__()
        self.expected_items = expected_items
        self.fpp = fpp
        self.filter: BloomFilter | None = None
        self.added = 0
        self.resets = 0

    def bind(self, store: EntryStore[Any, Any], expected_entries: int | None = None) -> None:
        super().bind(store, expected_entries)
        if self.expected_items is None:
            entries = expected_entries or store.capacity or 1024
            self.expected_items = max(1024, 4 * min(entries, 1 << 20))
        self.filter = BloomFilter.for_items(self.expected_items, self.fpp)

    def decide(self, key: Any, size: int, victim: Any) -> bool:
        if self.filter is None:
            self.expected_items = self.expected_items or 1024
            self.filter = BloomFilter.for_items(self.expected_items, self.fpp)
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
        super().__init__()
        self.p = p
        self._rng = random.Random(seed)

    def decide(self, key: Any, size: int, victim: Any) -> bool:
        return self._rng.random() < self.p


class SizeAdmission(Admission):
    """Admit entries of at most ``max_size`` (the unit of the capacity: entries' sizes or bytes)."""

    name = "size"

    def __init__(self, max_size: int) -> None:
        if max_size < 0:
            raise ValueError(f"max_size must be >= 0, got {max_size!r}")
        super().__init__()
        self.max_size = max_size

    def decide(self, key: Any, size: int, victim: Any) -> bool:
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
        return next(iter(store._values), MISSING)
    raise TypeError(f"{type(store).__name__} cannot name its next victim")


def with_admission(
    store: EntryStore[K, V],
    admission: str | Admission,
    *,
    expected_entries: int | None = None,
    **options: Any,
) -> EntryStore[K, V]:
    """Make ``admission`` (a name or an instance) ``store``'s admission filter; return the store.

    ``expected_entries`` sizes the filter's sketch or Bloom filter when the
    capacity is in bytes (default: the capacity).
    """
    policy = make_admission(admission, **options)
    if policy.store is not None:
        raise ValueError("an admission policy instance serves one store; make a new one")
    policy.bind(store, expected_entries)
    store.admission = policy
    return store
