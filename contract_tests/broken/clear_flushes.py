"""Broken: clear() flushes the whole store (FLUSHDB), not just its namespace."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class ClearFlushes(DictProvider):
    """clear(namespace) removes everything."""

    async def clear(self, namespace: str) -> int:
        """Flush every namespace; count only this one's live entries."""
        mine = len(self._matching(namespace + ":*"))
        self.data.clear()
        return mine


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return ClearFlushes(clock)
