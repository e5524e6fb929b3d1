"""Broken (TTL-7): delete() reports the rowcount, so an expired row counts as existing."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.sql_reference import SQLProvider


class Ttl7SqlDeleteRowcount(SQLProvider):
    """Delete() reports the rowcount, so an expired row counts as existing."""

    async def delete(self, key: str) -> bool:
        """Whether a row was deleted, live or not."""
        return self.db.execute("DELETE FROM cache WHERE key = ?", (key,)).rowcount > 0


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl7SqlDeleteRowcount(clock)
