"""A correct provider on stdlib sqlite3 (in memory): the base of the SQL-style mutants.

Each statement is a class attribute, so a mutant changes exactly one of them the way
SQL implementations commonly get it wrong.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock, system_clock
from cachesim.keys import compile_glob
from cachesim.providers import BaseProvider, Capability


class SQLProvider(BaseProvider):
    """Rows (key, value, expires) in an in-memory SQLite table."""

    name = "sql"
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.TTL,
            Capability.TTL_SUBSECOND,
            Capability.CLOCK_INJECTABLE,
            Capability.PATTERN_INVALIDATION,
            Capability.COUNT_KEYS,
            Capability.ATOMIC_BULK,
        }
    )
    in_process = True

    SCHEMA = "CREATE TABLE cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL)"
    LIVE = "(expires IS NULL OR expires > ?)"
    UPSERT = (
        "INSERT INTO cache (key, value, expires) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
    )

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or system_clock
        self.db = sqlite3.connect(":memory:")
        self.db.execute(self.SCHEMA)

    def _expires(self, ttl: float | None) -> float | None:
        return None if ttl is None else self.clock.now() + ttl

    def _live_keys(self) -> list[str]:
        rows = self.db.execute(f"SELECT key FROM cache WHERE {self.LIVE}", (self.clock.now(),))
        return [row[0] for row in rows]

    async def get(self, key: str) -> str | None:
        """The live value or None."""
        row = self.db.execute(
            f"SELECT value FROM cache WHERE key = ? AND {self.LIVE}", (key, self.clock.now())
        ).fetchone()
        return None if row is None else row[0]

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Upsert the row with its new expiry."""
        self.db.execute(self.UPSERT, (key, value, self._expires(ttl)))

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """One executemany."""
        expires = self._expires(ttl)
        self.db.executemany(self.UPSERT, [(k, v, expires) for k, v in items])

    async def delete(self, key: str) -> bool:
        """Delete; whether a live row was there."""
        live = await self.get(key) is not None
        self.db.execute("DELETE FROM cache WHERE key = ?", (key,))
        return live

    async def invalidate_pattern(self, pattern: str) -> int:
        """Delete live rows whose key matches the Redis glob (matched in Python)."""
        match = compile_glob(pattern).match
        doomed = [k for k in self._live_keys() if match(k.encode())]
        self.db.executemany("DELETE FROM cache WHERE key = ?", [(k,) for k in doomed])
        return len(doomed)

    async def clear(self, namespace: str) -> int:
        """Delete the namespace's rows by exact prefix; count the live ones."""
        prefix = namespace + ":"
        now = self.clock.now()
        live = self.db.execute(
            f"SELECT COUNT(*) FROM cache WHERE substr(key, 1, ?) = ? AND {self.LIVE}",
            (len(prefix), prefix, now),
        ).fetchone()[0]
        self.db.execute("DELETE FROM cache WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))
        return int(live)

    async def count(self, pattern: str) -> int | None:
        """Count live rows matching the Redis glob."""
        match = compile_glob(pattern).match
        return sum(1 for k in self._live_keys() if match(k.encode()))


def factory(clock: Clock | None = None) -> Any:
    """The contract factory (accepts the suite's clock)."""
    return SQLProvider(clock)
