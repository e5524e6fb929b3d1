"""Sampled policies: Redis' approximated LRU and random eviction.

Redis does not keep an LRU list.  To evict, it samples ``maxmemory-samples``
keys (default 5), adds them to an *eviction pool* of the 16 best candidates seen
so far (sorted by idle time) and evicts the idlest pool entry that still
exists (``src/evict.c``).  :class:`RedisLRUStore` models that with a logical
access clock (exact recency instead of Redis' 1 s LRU clock) and a seeded
random number generator, so runs are reproducible.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies.base import MISSING, EntryStore

__all__ = ["RandomStore", "RedisLRUStore"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _SampledStore(EntryStore[K, V]):
    """Keeps keys in a list so a uniformly random key costs O(1)."""

    def __init__(self, capacity: int | None = None, *, seed: int = 0) -> None:
        super().__init__(capacity)
        self._rng = random.Random(seed)
        self._slots: list[K] = []
        self._slot_of: dict[K, int] = {}

    def _on_insert(self, key: K) -> None:
        self._slot_of[key] = len(self._slots)
        self._slots.append(key)

    def _on_remove(self, key: K) -> None:
        slots, slot_of = self._slots, self._slot_of
        i = slot_of.pop(key)
        last = slots.pop()
        if i < len(slots):
            slots[i] = last
            slot_of[last] = i

    def _sample(self) -> K:
        slots = self._slots
        return slots[self._rng.randrange(len(slots))]


class RandomStore(_SampledStore[K, V]):
    """Evicts a uniformly random entry (Redis ``allkeys-random``); seeded."""

    name = "random"

    def _victim(self) -> K:
        return self._sample()

    def _victim_excluding(self, key: K) -> K:
        if len(self._slots) < 2:
            return MISSING  # type: ignore[no-any-return]
        while True:
            victim = self._sample()
            if victim != key:
                return victim


class RedisLRUStore(_SampledStore[K, V]):
    """Redis' approximated LRU (``allkeys-lru``): sample ``samples`` keys into a pool of 16.

    ``samples`` is ``maxmemory-samples`` (Redis' default 5; 10 comes very close
    to true LRU).  ``pool_size`` is Redis' ``EVPOOL_SIZE``.  Pool entries keep the
    idle time seen when they were sampled, as in Redis, and entries deleted
    since are skipped.
    """

    name = "redis-lru"

    def __init__(
        self,
        capacity: int | None = None,
        *,
        samples: int = 5,
        pool_size: int = 16,
        seed: int = 0,
    ) -> None:
        if samples < 1 or pool_size < 1:
            raise ValueError("samples and pool_size must be at least 1")
        super().__init__(capacity, seed=seed)
        self.samples = samples
        self.pool_size = pool_size
        self._clock = 0
        self._access: dict[K, int] = {}
        # (last access when sampled, key), oldest first: the head is the best victim
        self._pool: list[tuple[int, int, K]] = []
        self._serial = 0

    def _touch(self, key: K) -> None:
        self._clock += 1
        self._access[key] = self._clock

    def _on_insert(self, key: K) -> None:
        super()._on_insert(key)
        self._touch(key)

    def _on_hit(self, key: K) -> None:
        self._touch(key)

    def _on_remove(self, key: K) -> None:
        super()._on_remove(key)
        del self._access[key]

    def _populate(self) -> None:
        pool, access = self._pool, self._access
        for _ in range(self.samples):
            key = self._sample()
            seen = access[key]
            if len(pool) >= self.pool_size and seen >= pool[-1][0]:
                continue  # not older than anything in a full pool
            self._serial += 1
            bisect.insort(pool, (seen, self._serial, key))
            if len(pool) > self.pool_size:
                pool.pop()  # drop the most recently used candidate

    def _victim(self) -> K:
        return self._pick(None)

    def _victim_excluding(self, key: K) -> K:
        if len(self._slots) < 2:
            return MISSING  # type: ignore[no-any-return]
        return self._pick(key)

    def _pick(self, exclude: K | None) -> K:
        pool, values = self._pool, self._values
        while True:
            self._populate()
            keep: list[tuple[int, int, K]] = []
            for i, entry in enumerate(pool):
                key = entry[2]
                if key not in values:
                    continue  # deleted since it was sampled: drop it, as Redis does
                if key == exclude:
                    keep.append(entry)
                    continue
                pool[:] = keep + pool[i + 1 :]
                return key
            pool[:] = keep
