"""Broken (TTL-9): set_many writes every row without an expiry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.sql_reference import SQLProvider


class Ttl9SqlSetManyNoTtl(SQLProvider):
    """Set_many writes every row without an expiry."""

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """executemany with expires NULL: the TTL argument is dropped."""
        self.db.executemany(self.UPSERT, [(k, v, None) for k, v in items])


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl9SqlSetManyNoTtl(clock)
