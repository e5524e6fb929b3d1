"""Broken: get_many answers in key order; set_many writes at most 100 entries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class TornBulk(DictProvider):
    """Bulk operations that lose alignment and entries."""

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Values in sorted-key order instead of the order asked."""
        return [self._live(k) for k in sorted(keys)]

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Only the first batch of 100 is written."""
        for key, value in items[:100]:
            await self.set(key, value, ttl)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return TornBulk(clock)
