"""Broken (KEY-2): keys are stripped of surrounding whitespace."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Key2Stripped(DictProvider):
    """Keys are stripped of surrounding whitespace."""

    @staticmethod
    def _k(key: str) -> str:
        return key.strip()

    async def get(self, key: str) -> str | None:
        """Reads the transformed key."""
        return await super().get(self._k(key))

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Writes the transformed key."""
        await super().set(self._k(key), value, ttl)

    async def delete(self, key: str) -> bool:
        """Deletes the transformed key."""
        return await super().delete(self._k(key))

    async def has(self, key: str) -> bool:
        """Checks the transformed key."""
        return await super().has(self._k(key))


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Key2Stripped(clock)
