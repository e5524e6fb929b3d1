"""Broken (TTL-10): get() re-arms the TTL (sliding expiration)."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl10SlidingExpiry(DictProvider):
    """Get() re-arms the TTL (sliding expiration)."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.ttls: dict[str, float] = {}

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Remember the TTL so reads can extend it."""
        await super().set(key, value, ttl)
        if ttl is None:
            self.ttls.pop(key, None)
        else:
            self.ttls[key] = ttl

    async def get(self, key: str) -> str | None:
        """A hit pushes the expiry out again (like GETEX/GAT)."""
        value = self._live(key)
        if value is not None and key in self.ttls:
            self.data[key] = (value, self.clock.now() + self.ttls[key])
        return value


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl10SlidingExpiry(clock)
