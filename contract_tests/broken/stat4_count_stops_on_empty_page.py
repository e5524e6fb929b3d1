"""Broken (STAT-4, NS-6): count() stops its SCAN at the first empty page."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Stat4CountStopsOnEmptyPage(ScanProvider):
    """Count() stops its SCAN at the first empty page."""

    async def count(self, pattern: str) -> int | None:
        """Stops at the first empty page."""
        found: set[str] = set()
        cursor = 0
        while True:
            cursor, keys = self.scan(cursor, pattern)
            if not keys:
                break
            found.update(keys)
            if cursor == 0:
                break
        return len(found)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Stat4CountStopsOnEmptyPage(clock)
