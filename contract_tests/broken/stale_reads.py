"""Broken: a read-through front layer keeps serving values after delete."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class StaleReads(DictProvider):
    """Reads fill a front dict; set refreshes it, delete forgets to."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.front: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        """Serve from the front layer first."""
        if key in self.front:
            return self.front[key]
        value = self._live(key)
        if value is not None:
            self.front[key] = value
        return value

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Write through both layers."""
        await super().set(key, value, ttl)
        self.front.pop(key, None)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return StaleReads(clock)
