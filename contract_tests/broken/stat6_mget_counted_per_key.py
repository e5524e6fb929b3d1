"""Broken (STAT-6): one MGET is counted once per key although one command is declared."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Stat6MgetCountedPerKey(ScanProvider):
    """One MGET is counted once per key although one command is declared."""

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Counts a command per key."""
        self.commands["MGET"] += max(0, len(keys) - 1)
        return await super().get_many(keys)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Stat6MgetCountedPerKey(clock)
