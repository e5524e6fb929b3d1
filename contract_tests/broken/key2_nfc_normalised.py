"""Broken (KEY-2): keys are NFC-normalised (e + combining acute == é)."""

from __future__ import annotations

import unicodedata
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Key2NfcNormalised(DictProvider):
    """Keys are NFC-normalised (e + combining acute == é)."""

    @staticmethod
    def _k(key: str) -> str:
        return unicodedata.normalize("NFC", key)

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
    return Key2NfcNormalised(clock)
