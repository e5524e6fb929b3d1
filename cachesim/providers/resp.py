"""Shared command logic for providers that speak Redis commands (TCP or REST)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

from cachesim.providers.base import BaseProvider

__all__ = ["RedisCommandProvider", "ttl_ms"]


def ttl_ms(ttl: float) -> int:
    """Seconds -> whole milliseconds for ``PX`` (never 0: that would be an error)."""
    return max(1, round(ttl * 1000))


#: Compare-and-delete: unlink KEYS[1] only while it holds ARGV[1] (1 if removed).
COMPARE_AND_DELETE_SCRIPT = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
    "else return 0 end"
)


def _text(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value


class RedisCommandProvider(BaseProvider):
    """Cache operations as Redis commands on a client with redis-py-style methods.

    ``GET``/``MGET``/``SET PX``/``UNLINK``/``EXISTS``; pattern invalidation pages
    with ``SCAN MATCH`` (never ``KEYS``) until the cursor is 0, tolerating empty
    pages, and unlinks page by page.  Every command sent is counted, because
    some backends bill per command.
    """

    def __init__(self, client: Any, *, scan_count: int) -> None:
        self.client = client
        self.scan_count = scan_count
        self.commands: Counter[str] = Counter()

    async def initialize(self) -> None:
        """Check the server answers ``PING``."""
        self.commands["PING"] += 1
        await self.client.ping()

    async def get(self, key: str) -> str | None:
        """``GET`` (one command)."""
        self.commands["GET"] += 1
        return _text(await self.client.get(key))

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """One ``MGET`` (nothing sent for an empty list)."""
        if not keys:
            return []
        self.commands["MGET"] += 1
        return [_text(v) for v in await self.client.mget(*keys)]

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """``SET key value [PX ms]``."""
        self.commands["SET"] += 1
        await self.client.set(key, value, px=None if ttl is None else ttl_ms(ttl))

    async def delete(self, key: str) -> bool:
        """``UNLINK``."""
        self.commands["UNLINK"] += 1
        return bool(await self.client.unlink(key))

    async def delete_many(self, keys: Sequence[str]) -> int:
        """One ``UNLINK`` (nothing sent for an empty list)."""
        if not keys:
            return 0
        self.commands["UNLINK"] += 1
        return int(await self.client.unlink(*keys))

    async def has(self, key: str) -> bool:
        """``EXISTS``."""
        self.commands["EXISTS"] += 1
        return bool(await self.client.exists(key))

    async def scan_pages(self, pattern: str) -> AsyncIterator[list[str]]:
        """Yield non-empty ``SCAN MATCH`` pages until the cursor comes back 0."""
        cursor: int = 0
        while True:
            self.commands["SCAN"] += 1
            next_cursor, keys = await self.client.scan(cursor, match=pattern, count=self.scan_count)
            if keys:
                yield [k for k in map(_text, keys) if k is not None]
            cursor = int(next_cursor)
            if cursor == 0:
                return

    async def invalidate_pattern(self, pattern: str) -> int:
        """Unlink every key matching ``pattern``, page by page; count what was removed."""
        removed = 0
        async for page in self.scan_pages(pattern):
            self.commands["UNLINK"] += 1
            removed += int(await self.client.unlink(*page))
        return removed

    async def count(self, pattern: str) -> int:
        """Count distinct keys matching ``pattern`` (SCAN may repeat keys)."""
        seen: set[str] = set()
        async for page in self.scan_pages(pattern):
            seen.update(page)
        return len(seen)

    async def get_stats(self) -> dict[str, Any]:
        """Commands sent, in total and by name."""
        return {"commands": sum(self.commands.values()), "commands_by_name": dict(self.commands)}

    # -- stampede-lock primitives (ATOMIC_SET_IF_ABSENT, COMPARE_AND_DELETE) ----------
    async def set_if_absent(self, key: str, value: str, ttl: float | None) -> bool:
        """``SET key value NX [PX ms]``; True if stored."""
        self.commands["SET"] += 1
        return bool(
            await self.client.set(key, value, nx=True, px=None if ttl is None else ttl_ms(ttl))
        )

    async def eval_script(self, script: str, keys: Sequence[str], args: Sequence[str]) -> Any:
        """``EVAL`` through the client (redis-py calling convention; REST clients override)."""
        return await self.client.eval(script, len(keys), *keys, *args)

    async def delete_if_equals(self, key: str, value: str) -> bool:
        """Compare-and-delete in one ``EVAL``; True if removed.

        A server without scripting (fakeredis without ``lupa``) gets an optimistic
        ``WATCH``/``MULTI`` transaction instead, which is just as atomic.
        """
        if not getattr(self, "_no_scripting", False):
            self.commands["EVAL"] += 1
            try:
                return bool(await self.eval_script(COMPARE_AND_DELETE_SCRIPT, [key], [value]))
            except Exception as exc:
                import redis.asyncio

                scripting_missing = "unknown command" in str(exc).lower()
                if not scripting_missing or not isinstance(self.client, redis.asyncio.Redis):
                    raise
                self._no_scripting = True
        return await self._watch_delete_if_equals(key, value)

    async def _watch_delete_if_equals(self, key: str, value: str) -> bool:
        from redis.exceptions import WatchError

        async with self.client.pipeline(transaction=True) as pipe:
            self.commands["WATCH"] += 1
            await pipe.watch(key)
            self.commands["GET"] += 1
            if _text(await pipe.get(key)) != value:
                await pipe.unwatch()
                return False
            pipe.multi()
            pipe.unlink(key)
            self.commands["UNLINK"] += 1
            try:
                replies = await pipe.execute()
            except WatchError:  # changed under us: it no longer holds our value
                return False
        return bool(replies[0])
