"""A correct Redis-style provider: SCAN pages, pipelines in batches, command counting.

The store is a dict, but it is reached the way a Redis client reaches a server:
``SCAN cursor MATCH pattern COUNT 10`` walks the keys in pages (many of them empty
for a narrow ``MATCH``, and, as Redis allows, a key may come back twice), and bulk
operations go out as pipelines of at most ``BATCH`` commands, each awaited. The
mutants based on it change one of these steps the way Redis code gets it wrong.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

from cachesim.clock import Clock, system_clock
from cachesim.keys import compile_glob, escape_glob
from cachesim.providers import BaseProvider, Capability


class ScanProvider(BaseProvider):
    """Redis-like access paths over a dict, with an injectable clock."""

    name = "scan"
    capabilities: frozenset[Capability] = frozenset(
        {
            Capability.TTL,
            Capability.TTL_SUBSECOND,
            Capability.CLOCK_INJECTABLE,
            Capability.PATTERN_INVALIDATION,
            Capability.COUNT_KEYS,
            Capability.COMMAND_ACCOUNTING,
        }
    )
    in_process = True
    command_costs: ClassVar[dict[str, int]] = {
        "get": 1,
        "set": 1,
        "delete": 1,
        "has": 1,
        "get_many": 1,
        "set_many": 1,
    }
    BATCH = 1000
    PAGE = 10

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or system_clock
        self.data: dict[str, tuple[str, float | None]] = {}
        self.commands: Counter[str] = Counter()
        self._order: list[str] | None = None  # the keys in SCAN order, until they change

    # -- the "server" ------------------------------------------------------------------
    def _live(self, key: str) -> str | None:
        item = self.data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires is not None and self.clock.now() >= expires:
            del self.data[key]
            self._order = None
            return None
        return value

    def _put(self, key: str, value: str, ttl: float | None) -> None:
        if key not in self.data:
            self._order = None
        self.data[key] = (value, None if ttl is None else self.clock.now() + ttl)

    def _del(self, key: str) -> int:
        live = self._live(key) is not None
        if self.data.pop(key, None) is not None:
            self._order = None
        return int(live)

    def scan(self, cursor: int, match: str) -> tuple[int, list[str]]:
        """One SCAN page: ``PAGE`` keys examined in sorted order, then MATCH applied.

        A page repeats the last key of the page before it (SCAN may return a key more
        than once); the cursor is 0 when the walk is over.
        """
        self.commands["SCAN"] += 1
        if self._order is None:
            self._order = sorted(self.data)
        ordered = self._order
        start = max(0, cursor - 1) if cursor else 0
        page = ordered[start : cursor + self.PAGE]
        nxt = cursor + self.PAGE
        matcher = compile_glob(match).match
        now = self.clock.now()
        # liveness is checked without purging: a SCAN must not shift the keyspace it walks
        found = [
            k for k in page if matcher(k.encode()) and ((e := self.data[k][1]) is None or now < e)
        ]
        return (0 if nxt >= len(ordered) else nxt), found

    async def _roundtrip(self) -> None:
        await asyncio.sleep(0)  # a network round trip lets other tasks run

    # -- the provider ---------------------------------------------------------------------
    def _scan_all(self, match: str) -> set[str]:
        found: set[str] = set()
        cursor = 0
        while True:
            cursor, keys = self.scan(cursor, match)
            found.update(keys)
            if cursor == 0:
                return found

    async def get(self, key: str) -> str | None:
        """GET."""
        self.commands["GET"] += 1
        await self._roundtrip()
        return self._live(key)

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """SET key value [PX ms]."""
        self.commands["SET"] += 1
        await self._roundtrip()
        self._put(key, value, ttl)

    async def delete(self, key: str) -> bool:
        """DEL."""
        self.commands["DEL"] += 1
        await self._roundtrip()
        return bool(self._del(key))

    async def has(self, key: str) -> bool:
        """EXISTS."""
        self.commands["EXISTS"] += 1
        await self._roundtrip()
        return self._live(key) is not None

    def _batches(self, items: Sequence[Any]) -> list[Sequence[Any]]:
        return [items[i : i + self.BATCH] for i in range(0, len(items), self.BATCH)]

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """MGET per batch."""
        out: list[str | None] = []
        for batch in self._batches(keys):
            self.commands["MGET"] += 1
            await self._roundtrip()
            out.extend(self._live(k) for k in batch)
        return out

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """A pipeline of SETs per batch, counted as one command per pipeline."""
        for batch in self._batches(items):
            self.commands["PIPELINE SET"] += 1
            await self._roundtrip()
            for key, value in batch:
                self._put(key, value, ttl)

    async def delete_many(self, keys: Sequence[str]) -> int:
        """DEL per batch; the sum of the replies."""
        removed = 0
        for batch in self._batches(list(dict.fromkeys(keys))):
            self.commands["DEL"] += 1
            await self._roundtrip()
            removed += sum(self._del(k) for k in batch)
        return removed

    async def invalidate_pattern(self, pattern: str) -> int:
        """SCAN every page, then DEL the (deduplicated) matches."""
        keys = sorted(self._scan_all(pattern))
        return await self.delete_many(keys) if keys else 0

    async def clear(self, namespace: str) -> int:
        """Invalidate ``<escaped namespace>:*``."""
        return await self.invalidate_pattern(escape_glob(namespace) + ":*")

    async def count(self, pattern: str) -> int | None:
        """SCAN every page and count the distinct matches."""
        return len(self._scan_all(pattern))

    async def get_stats(self) -> dict[str, Any]:
        """Commands sent."""
        return {"commands": sum(self.commands.values()), "by_name": dict(self.commands)}


def factory(clock: Clock | None = None) -> Any:
    """The contract factory (accepts the suite's clock)."""
    return ScanProvider(clock)
