"""Broken: has() reports expired entries."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class HasIgnoresExpiry(DictProvider):
    """has() checks the dict, not the expiry."""

    async def has(self, key: str) -> bool:
        """Whether the key is in the dict (expired or not)."""
        return key in self.data


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return HasIgnoresExpiry(clock)
