"""A correct dict-backed provider: the starting point of every broken provider."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock, system_clock
from cachesim.keys import compile_glob
from cachesim.providers import BaseProvider, Capability


class DictProvider(BaseProvider):
    """Entries in a dict, expiry on an injectable clock, Redis globs via compile_glob."""

    name = "dict"
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.TTL,
            Capability.TTL_SUBSECOND,
            Capability.CLOCK_INJECTABLE,
            Capability.PATTERN_INVALIDATION,
            Capability.COUNT_KEYS,
            Capability.ATOMIC_BULK,
        }
    )
    in_process = True

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or system_clock
        self.data: dict[str, tuple[str, float | None]] = {}

    def _live(self, key: str) -> str | None:
        item = self.data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and self.clock.now() >= expires:
            del self.data[key]
            return None
        return value

    def _expiry(self, ttl: float | None) -> float | None:
        return None if ttl is None else self.clock.now() + ttl

    async def get(self, key: str) -> str | None:
        """The live value or None."""
        return self._live(key)

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Store with an optional TTL (seconds)."""
        self.data[key] = (value, self._expiry(ttl))

    async def delete(self, key: str) -> bool:
        """Remove; whether a live entry was there."""
        live = self._live(key) is not None
        self.data.pop(key, None)
        return live

    async def has(self, key: str) -> bool:
        """Whether the key is live."""
        return self._live(key) is not None

    def _matching(self, pattern: str) -> list[str]:
        match = compile_glob(pattern).match
        return [k for k in list(self.data) if self._live(k) is not None and match(k.encode())]

    async def invalidate_pattern(self, pattern: str) -> int:
        """Remove live keys matching the Redis glob."""
        doomed = self._matching(pattern)
        for key in doomed:
            del self.data[key]
        return len(doomed)

    async def count(self, pattern: str) -> int | None:
        """Count live keys matching the Redis glob."""
        return len(self._matching(pattern))


def factory(clock: Clock | None = None) -> Any:
    """The contract factory (accepts the suite's clock)."""
    return DictProvider(clock)
