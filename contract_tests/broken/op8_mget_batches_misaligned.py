"""Broken (OP-8): get_many concatenates batch replies in completion order (last batch first)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Op8MgetBatchesMisaligned(ScanProvider):
    """Get_many concatenates batch replies in completion order (last batch first)."""

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """Batches answered concurrently; replies joined in the order they arrive."""
        replies: list[list[str | None]] = []
        for batch in reversed(self._batches(keys)):
            self.commands["MGET"] += 1
            await self._roundtrip()
            replies.append([self._live(k) for k in batch])
        return [value for reply in replies for value in reply]


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Op8MgetBatchesMisaligned(clock)
