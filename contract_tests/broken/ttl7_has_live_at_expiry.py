"""Broken (TTL-7): has() alone is live at the exact expiry instant (<=); get is right."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl7HasLiveAtExpiry(DictProvider):
    """has() says live at exactly the expiry instant; get() purges correctly."""

    async def has(self, key: str) -> bool:
        """Whether the key is live (off by one at the instant)."""
        item = self.data.get(key)
        return item is not None and (item[1] is None or self.clock.now() <= item[1])


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl7HasLiveAtExpiry(clock)
