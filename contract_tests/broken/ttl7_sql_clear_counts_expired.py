"""Broken (TTL-7): clear() returns the rowcount, expired rows included."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.sql_reference import SQLProvider


class Ttl7SqlClearCountsExpired(SQLProvider):
    """Clear() returns the rowcount, expired rows included."""

    async def clear(self, namespace: str) -> int:
        """DELETE ... returning the rowcount."""
        prefix = namespace + ":"
        cursor = self.db.execute(
            "DELETE FROM cache WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return int(cursor.rowcount)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl7SqlClearCountsExpired(clock)
