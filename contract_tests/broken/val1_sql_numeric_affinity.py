"""Broken (VAL-1): the value column has NUMERIC affinity, so numeric text comes back as a number."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.sql_reference import SQLProvider


class Val1SqlNumericAffinity(SQLProvider):
    """The value column has NUMERIC affinity, so numeric text comes back as a number."""

    SCHEMA = "CREATE TABLE cache (key TEXT PRIMARY KEY, value NUMERIC NOT NULL, expires REAL)"

    async def get(self, key: str) -> str | None:
        """The stored value converted back to text (what a driver hands out)."""
        value = await super().get(key)
        return None if value is None else str(value)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Val1SqlNumericAffinity(clock)
