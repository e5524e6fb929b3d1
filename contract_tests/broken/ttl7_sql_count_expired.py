"""Broken (TTL-7): count() counts expired rows too."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from cachesim.keys import compile_glob
from contract_tests.broken.sql_reference import SQLProvider


class Ttl7SqlCountExpired(SQLProvider):
    """Count() counts expired rows too."""

    async def count(self, pattern: str) -> int | None:
        """Every row, expired or not."""
        match = compile_glob(pattern).match
        rows = self.db.execute("SELECT key FROM cache")
        return sum(1 for (k,) in rows if match(k.encode()))


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl7SqlCountExpired(clock)
