"""Broken (TTL-7): delete() reports True for an entry at exactly its expiry instant."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl7DeleteTrueAtExpiry(DictProvider):
    """delete() judges liveness with <= instead of going through the purging read."""

    async def delete(self, key: str) -> bool:
        """Remove; whether a live entry was there (off by one at the instant)."""
        item = self.data.pop(key, None)
        return item is not None and (item[1] is None or self.clock.now() <= item[1])


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl7DeleteTrueAtExpiry(clock)
