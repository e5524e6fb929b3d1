"""Broken (STAT-6): commands sent in pipelines are not counted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Stat6PipelinesUncounted(ScanProvider):
    """Commands sent in pipelines are not counted."""

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """The pipeline goes out uncounted."""
        for batch in self._batches(items):
            await self._roundtrip()
            for key, value in batch:
                self._put(key, value, ttl)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Stat6PipelinesUncounted(clock)
