"""Broken (OP-8): delete_many returns the reply of the last batch only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Op8DeleteManyLastReply(ScanProvider):
    """Delete_many returns the reply of the last batch only."""

    async def delete_many(self, keys: Sequence[str]) -> int:
        """The count of the last pipeline, not the sum."""
        removed = 0
        for batch in self._batches(list(dict.fromkeys(keys))):
            self.commands["DEL"] += 1
            await self._roundtrip()
            removed = sum(self._del(k) for k in batch)
        return removed


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Op8DeleteManyLastReply(clock)
