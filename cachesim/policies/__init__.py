"""Replacement policies with TTL support, shared by the memory provider and the simulator.

``make_store("lru", capacity)`` builds a store; :data:`POLICIES` maps names to
classes and :data:`ALIASES` maps other accepted spellings (``allkeys-lru``,
``s3-fifo`` ...) to them.  Every registered policy works both as
``MemoryProvider(policy=...)`` and in :func:`cachesim.sim.simulate`.  Policies
that need the future (OPT) are in :data:`OFFLINE` (simulator only).

Adding a policy: write a store class (one module here, subclassing
:class:`EntryStore` and implementing its hooks), add it to :data:`POLICIES`,
then add its compiled kernel in :mod:`cachesim.sim.kernels`; the tests compare
the two request by request.  ``docs/simulator.md`` has the full recipe.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cachesim.policies.admission import Admission, with_admission
from cachesim.policies.base import MISSING, EntryStore
from cachesim.policies.classic import ClockStore, FIFOStore, LFUStore, LRUStore
from cachesim.policies.gdsf import GDSFStore
from cachesim.policies.lirs import LIRSStore
from cachesim.policies.lruk import LRUKStore
from cachesim.policies.modern import ARCStore, S3FIFOStore, SieveStore, TTLStore
from cachesim.policies.offline import NEVER, OFFLINE, BeladyStore
from cachesim.policies.sampled import RandomStore, RedisLRUStore, SplitMix64
from cachesim.policies.slru import SLRUStore
from cachesim.policies.twoq import TwoQStore
from cachesim.policies.wtinylfu import WTinyLFUStore

__all__ = [
    "ALIASES",
    "MISSING",
    "NEVER",
    "OFFLINE",
    "POLICIES",
    "ARCStore",
    "BeladyStore",
    "ClockStore",
    "EntryStore",
    "FIFOStore",
    "GDSFStore",
    "LFUStore",
    "LIRSStore",
    "LRUKStore",
    "LRUStore",
    "RandomStore",
    "RedisLRUStore",
    "S3FIFOStore",
    "SLRUStore",
    "SieveStore",
    "SplitMix64",
    "TTLStore",
    "TwoQStore",
    "WTinyLFUStore",
    "make_store",
    "resolve_policy",
]

#: Online policies by name.
POLICIES: dict[str, type[EntryStore[Any, Any]]] = {
    cls.name: cls
    for cls in (
        LRUStore,
        FIFOStore,
        LFUStore,
        ClockStore,
        SieveStore,
        S3FIFOStore,
        ARCStore,
        RedisLRUStore,
        RandomStore,
        TTLStore,
        SLRUStore,
        TwoQStore,
        LRUKStore,
        GDSFStore,
        LIRSStore,
        WTinyLFUStore,
    )
}

#: Other accepted names -> registered name.
ALIASES: dict[str, str] = {
    "allkeys-lru": "redis-lru",
    "redis": "redis-lru",
    "sampled-lru": "redis-lru",
    "allkeys-random": "random",
    "s3-fifo": "s3fifo",
    "ttl-only": "ttl",
    "second-chance": "clock",
    "segmented-lru": "slru",
    "twoq": "2q",
    "two-queue": "2q",
    "lruk": "lru-k",
    "lru2": "lru-k",
    "lru-2": "lru-k",
    "greedy-dual-size-frequency": "gdsf",
    "w-tinylfu": "wtinylfu",
    "window-tinylfu": "wtinylfu",
    "tinylfu": "wtinylfu",
    "caffeine": "wtinylfu",
}


def resolve_policy(policy: str) -> str:
    """The registered name for ``policy`` (case-insensitive, aliases allowed) or ValueError."""
    name = policy.lower()
    name = ALIASES.get(name, name)
    if name not in POLICIES:
        known = ", ".join(sorted(POLICIES))
        raise ValueError(f"unknown eviction policy {policy!r}; choose one of: {known}")
    return name


def make_store(
    policy: str,
    capacity: int | None = None,
    *,
    admission: str | Admission | None = None,
    **options: Any,
) -> EntryStore[Hashable, Any]:
    """Build an empty store for ``policy`` (case-insensitive) with ``capacity`` entries.

    ``options`` go to the policy (e.g. ``samples=10, seed=1`` for ``redis-lru``).
    ``admission`` (a name from :data:`cachesim.policies.admission.ADMISSIONS` or an
    instance) filters which new entries are stored.
    """
    store = POLICIES[resolve_policy(policy)](capacity, **options)
    if admission is not None:
        return with_admission(store, admission)
    return store
