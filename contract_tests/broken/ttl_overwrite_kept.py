"""Broken: overwriting a key keeps its old expiry."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class TTLOverwriteKept(DictProvider):
    """Only a new key gets the write's TTL (like SET ... KEEPTTL)."""

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Store, keeping the expiry of a live entry."""
        if self._live(key) is not None:
            self.data[key] = (value, self.data[key][1])
        else:
            self.data[key] = (value, self._expiry(ttl))


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return TTLOverwriteKept(clock)
