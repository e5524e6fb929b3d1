"""Broken: lower-cases every key."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class CaseFolding(DictProvider):
    """Keys are case-insensitive."""

    async def get(self, key: str) -> str | None:
        """Read the folded key."""
        return await super().get(key.lower())

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Write the folded key."""
        await super().set(key.lower(), value, ttl)

    async def delete(self, key: str) -> bool:
        """Delete the folded key."""
        return await super().delete(key.lower())

    async def has(self, key: str) -> bool:
        """Check the folded key."""
        return await super().has(key.lower())


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return CaseFolding(clock)
