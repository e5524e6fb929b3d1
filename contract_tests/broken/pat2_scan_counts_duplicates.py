"""Broken (PAT-2): invalidate_pattern counts every key SCAN returned, duplicates included."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Pat2ScanCountsDuplicates(ScanProvider):
    """Invalidate_pattern counts every key SCAN returned, duplicates included."""

    async def invalidate_pattern(self, pattern: str) -> int:
        """Counts the SCAN replies instead of the keys deleted."""
        returned: list[str] = []
        cursor = 0
        while True:
            cursor, keys = self.scan(cursor, pattern)
            returned.extend(keys)
            if cursor == 0:
                break
        await self.delete_many(returned)
        return len(returned)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Pat2ScanCountsDuplicates(clock)
