"""Broken (TTL-1): an entry is still live at exactly its expiry instant (> instead of >=)."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl1ExpiryExclusive(DictProvider):
    """An entry is still live at exactly its expiry instant (> instead of >=)."""

    def _live(self, key: str) -> str | None:
        item = self.data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and self.clock.now() > expires:
            del self.data[key]
            return None
        return value


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl1ExpiryExclusive(clock)
