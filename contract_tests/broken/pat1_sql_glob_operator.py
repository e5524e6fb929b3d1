"""Broken (PAT-1): invalidate_pattern uses SQLite GLOB (no backslash escapes)."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.sql_reference import SQLProvider


class Pat1SqlGlobOperator(SQLProvider):
    """Invalidate_pattern uses SQLite GLOB (no backslash escapes)."""

    async def invalidate_pattern(self, pattern: str) -> int:
        """SQLite's GLOB operator instead of Redis glob semantics."""
        now = self.clock.now()
        live = self.db.execute(
            f"SELECT COUNT(*) FROM cache WHERE key GLOB ? AND {self.LIVE}", (pattern, now)
        ).fetchone()[0]
        self.db.execute("DELETE FROM cache WHERE key GLOB ?", (pattern,))
        return int(live)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Pat1SqlGlobOperator(clock)
