"""Sampled policies: Redis' approximated LRU and random eviction.

Redis does not keep an LRU list.  To evict, it samples ``maxmemory-samples``
keys (default 5), adds them to an *eviction pool* of the 16 best candidates seen
so far (sorted by idle time) and evicts the idlest pool entry that still
exists (``src/evict.c``).  :class:`RedisLRUStore` models that with a logical
access clock (exact recency instead of Redis' 1 s LRU clock) and a seeded
random number generator, so runs are reproducible.

The generator is SplitMix64 (Steele et al., 2014) written out here, so that the
simulator's compiled kernels draw exactly the same numbers.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable
from typing import TypeVar

from cachesim.policies.base import EntryStore

__all__ = ["RandomStore", "RedisLRUStore", "SplitMix64"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


_MASK = (1 << 64) - 1


class SplitMix64:
    """A small seeded 64-bit generator; ``below(n)`` draws uniformly from ``range(n)``."""

    __slots__ = ("state",)

    def __init__(self, seed: int = 0) -> None:
        self.state = seed & _MASK

    def next(self) -> int:
        """The next 64-bit output."""
        self.state = z = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` from the top 53 bits (``n`` < 2**53)."""
        return int((self.next() >> 11) * (1.0 / 9007199254740992.0) * n)


class _SampledStore(EntryStore[K, V]):
    """Keeps keys in a list so a uniformly random key costs O(1)."""

    def __init__(self, capacity: int | None = None, *, seed: int = 0) -> None:
        super().__init__(capacity)
        self._rng = SplitMix64(seed)
        self._slots: list[K] = []
        self._slot_of: dict[K, int] = {}

    def _on_insert(self, key: K, size: int) -> bool:
        self._slot_of[key] = len(self._slots)
        self._slots.append(key)
        return True

    def _on_remove(self, key: K) -> None:
        slots, slot_of = self._slots, self._slot_of
        i = slot_of.pop(key)
        last = slots.pop()
        if i < len(slots):
            slots[i] = last
            slot_of[last] = i

    def _sample(self) -> K:
        slots = self._slots
        return slots[self._rng.below(len(slots))]


class RandomStore(_SampledStore[K, V]):
    """Evicts a uniformly random entry (Redis ``allkeys-random``); seeded."""

    name = "random"

    def _victim(self, size: int) -> K:
        return self._sample()


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

    def _on_insert(self, key: K, size: int) -> bool:
        super()._on_insert(key, size)
        self._touch(key)
        return True

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

    def _victim(self, size: int) -> K:
        pool, slot_of = self._pool, self._slot_of
        while True:
            self._populate()
            while pool:
                key = pool.pop(0)[2]
                if key in slot_of:  # entries deleted since they were sampled are skipped
                    return key
