"""Broken (OP-8): set_many drops the last partial batch of a multi-batch write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Op8SetManyDropsRemainder(ScanProvider):
    """Set_many drops the last partial batch of a multi-batch write."""

    def _batches(self, items: Sequence[Any]) -> list[Sequence[Any]]:
        if len(items) <= self.BATCH:
            return [items]
        whole = len(items) // self.BATCH * self.BATCH
        return [items[i : i + self.BATCH] for i in range(0, whole, self.BATCH)]


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Op8SetManyDropsRemainder(clock)
