"""Broken (TTL-5): set(ttl=None) keeps the old expiry of a live key."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl5NoneKeepsExpiry(DictProvider):
    """Set(ttl=None) keeps the old expiry of a live key."""

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """A write without TTL leaves the old expiry in place."""
        old = self.data.get(key)
        if ttl is None and old is not None:
            self.data[key] = (value, old[1])
        else:
            self.data[key] = (value, self._expiry(ttl))


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl5NoneKeepsExpiry(clock)
