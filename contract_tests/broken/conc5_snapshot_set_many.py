"""Broken (CONC-5): set_many reads the whole store, awaits, and writes the snapshot back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Conc5SnapshotSetMany(ScanProvider):
    """Set_many reads the whole store, awaits, and writes the snapshot back."""

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Read-modify-write of the whole store across a round trip (lost updates)."""
        snapshot = dict(self.data)
        self.commands["PIPELINE SET"] += 1
        await self._roundtrip()
        expires = None if ttl is None else self.clock.now() + ttl
        for key, value in items:
            snapshot[key] = (value, expires)
        self.data = snapshot
        self._order = None


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Conc5SnapshotSetMany(clock)
