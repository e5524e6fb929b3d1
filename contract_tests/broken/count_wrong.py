"""Broken: count() ignores the pattern and expiry."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class CountWrong(DictProvider):
    """Counts every stored entry of every namespace."""

    async def count(self, pattern: str) -> int | None:
        """The size of the whole store."""
        return len(self.data)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return CountWrong(clock)
