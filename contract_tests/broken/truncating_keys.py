"""Broken: truncates keys to 250 characters (a memcached habit)."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider

_LIMIT = 250


class TruncatingKeys(DictProvider):
    """Long keys silently collide."""

    async def get(self, key: str) -> str | None:
        """Read the truncated key."""
        return await super().get(key[:_LIMIT])

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Write the truncated key."""
        await super().set(key[:_LIMIT], value, ttl)

    async def delete(self, key: str) -> bool:
        """Delete the truncated key."""
        return await super().delete(key[:_LIMIT])

    async def has(self, key: str) -> bool:
        """Check the truncated key."""
        return await super().has(key[:_LIMIT])


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return TruncatingKeys(clock)
