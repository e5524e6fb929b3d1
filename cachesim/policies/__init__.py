"""Replacement policies with TTL support, shared by the memory provider and the simulator.

``make_store("lru", capacity)`` builds a store; :data:`POLICIES` maps names to
classes.  Policies that need the future (OPT) live in :mod:`cachesim.sim`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from cachesim.policies.base import MISSING, EntryStore
from cachesim.policies.classic import FIFOStore, LFUStore, LRUStore

__all__ = ["MISSING", "POLICIES", "EntryStore", "FIFOStore", "LFUStore", "LRUStore", "make_store"]

#: Online policies by name.
POLICIES: dict[str, type[EntryStore[Any, Any]]] = {
    cls.name: cls for cls in (LRUStore, FIFOStore, LFUStore)
}


def make_store(
    policy: str, capacity: int | None = None, **options: Any
) -> EntryStore[Hashable, Any]:
    """Build an empty store for ``policy`` (case-insensitive) with ``capacity`` entries."""
    cls = POLICIES.get(policy.lower())
    if cls is None:
        known = ", ".join(sorted(POLICIES))
        raise ValueError(f"unknown eviction policy {policy!r}; choose one of: {known}")
    return cls(capacity, **options)
