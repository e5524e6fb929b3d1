"""SQLite provider: a persistent single-host cache on the standard library's ``sqlite3``.

Every call runs on one dedicated worker thread that owns the connection, so the
event loop never blocks on disk or on a lock held by another process, and calls
from many tasks are applied one at a time, in order.  The database is in WAL mode
(readers in other processes do not wait for a writer) with ``synchronous=NORMAL``
and a ``busy_timeout``.  Entries live in one table::

    cachesim_entries(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL)

``expires_at`` is on the provider's clock (Unix time by default, so it stays valid
across processes and restarts; inject a :class:`~cachesim.clock.ManualClock` in
tests).  Expired rows are invisible to every statement, removed when a read meets
one, and swept in small chunks in the background.  Glob patterns are matched with
Redis semantics by :func:`cachesim.keys.compile_glob`, registered as the SQL
function ``cachesim_match`` (SQL ``LIKE``/``GLOB`` differ from Redis' globs), after an
index range scan on the pattern's literal prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from cachesim.clock import Clock
from cachesim.errors import ConfigurationError
from cachesim.keys import compile_glob
from cachesim.providers.base import BaseProvider
from cachesim.providers.capabilities import Capability

__all__ = ["SQLiteProvider", "UnixClock"]

logger = logging.getLogger("cachesim.providers.sqlite")

T = TypeVar("T")

TABLE = "cachesim_entries"
_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL)",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_expiry ON {TABLE}(expires_at) "
    "WHERE expires_at IS NOT NULL",
)
_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_BATCH = 500  # keys per statement in bulk operations (well under SQLite's variable limit)
_MAX_VALUE_BYTES = 512 * 1024 * 1024


class UnixClock:
    """Seconds since the Unix epoch (``time.time``): comparable across processes and reboots."""

    __slots__ = ()

    def now(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    def __repr__(self) -> str:
        return "UnixClock()"


def _glob_match(pattern: str, key: str) -> bool:
    return compile_glob(pattern).match(key.encode("utf-8")) is not None


def _literal_prefix(pattern: str) -> str:
    """The text every key matching the Redis glob ``pattern`` starts with."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c in "*?[":
            break
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            c = pattern[i]
        out.append(c)
        i += 1
    return "".join(out)


def _after_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with ``prefix``.

    SQLite compares TEXT as UTF-8 bytes, which orders like code points, so
    ``prefix <= key < _after_prefix(prefix)`` holds exactly for the keys that start
    with ``prefix``.  None when there is no such bound (the range is open-ended).
    """
    chars = list(prefix)
    while chars:
        code = ord(chars.pop()) + 1
        if 0xD800 <= code <= 0xDFFF:
            code = 0xE000  # surrogates cannot be stored: skip to the next real character
        if code <= 0x10FFFF:
            return "".join(chars) + chr(code)
    return None


def _key_range(pattern: str) -> tuple[str, list[Any]]:
    """SQL condition (and its parameters) selecting the keys ``pattern`` can match."""
    prefix = _literal_prefix(pattern)
    if not prefix:
        return "1", []
    upper = _after_prefix(prefix)
    if upper is None:
        return "key >= ?", [prefix]
    return "key >= ? AND key < ?", [prefix, upper]


class SQLiteProvider(BaseProvider):
    """Entries in a SQLite database file (or ``:memory:``), off the event loop.

    ``path`` is a file path (created if missing) or ``":memory:"`` (private to this
    provider, gone when it disconnects).  Several providers, in one process or many,
    on the same file share its entries, which survive ``disconnect()`` and restarts.
    ``busy_timeout`` is how long a statement waits for another connection's lock;
    the :class:`~cachesim.Cache` timeout still bounds every call.  The background
    sweep deletes up to ``sweep_batch`` expired rows per statement every
    ``sweep_interval`` seconds (None: no sweep, reads still hide expired rows).
    """

    name = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        clock: Clock | None = None,
        busy_timeout: float = 5.0,
        sweep_interval: float | None = 60.0,
        sweep_batch: int = 500,
        max_value_bytes: int | None = None,
    ) -> None:
        self.path = os.fspath(path)
        if not isinstance(self.path, str) or not self.path:
            raise ConfigurationError(
                "SQLITE_PATH must be a file path (e.g. /var/cache/app/cache.db) or :memory:"
            )
        if sweep_interval is not None and not sweep_interval > 0:
            raise ConfigurationError(f"sweep_interval must be > 0 or None, got {sweep_interval!r}")
        if not busy_timeout >= 0:
            raise ConfigurationError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        self.clock: Clock = clock or UnixClock()
        self.busy_timeout = busy_timeout
        self.sweep_interval = sweep_interval
        self.sweep_batch = sweep_batch
        self.max_value_bytes = max_value_bytes or _MAX_VALUE_BYTES
        self.in_memory = self.path == ":memory:" or self.path.startswith("file::memory:")
        # A file can be locked by another process, so the cache's timeout must apply;
        # a private in-memory database cannot.
        self.in_process = self.in_memory
        caps = {
            Capability.TTL,
            Capability.TTL_SUBSECOND,
            Capability.CLOCK_INJECTABLE,
            Capability.PATTERN_INVALIDATION,
            Capability.COUNT_KEYS,
            Capability.ATOMIC_SET_IF_ABSENT,
            Capability.COMPARE_AND_DELETE,
            Capability.ATOMIC_BULK,
        }
        if not self.in_memory:
            caps.add(Capability.SHARED_BACKEND)
            caps.add(Capability.PERSISTENT)
        self.capabilities = frozenset(caps)
        self.statements = 0
        self.swept = 0
        self.purged_on_read = 0
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._opening = asyncio.Lock()
        self._sweeper: asyncio.Task[None] | None = None

    # -- the worker thread ------------------------------------------------------
    def _open_db(self) -> sqlite3.Connection:
        """Open the connection and create the schema (on the worker thread)."""
        if self.path not in (":memory:",) and not self.path.startswith("file:"):
            parent = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(parent):
                raise ConfigurationError(
                    f"SQLITE_PATH {self.path!r}: directory {parent!r} does not exist"
                )
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            isolation_level=None,  # autocommit; multi-statement work uses BEGIN IMMEDIATE
            uri=self.path.startswith("file:"),
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            if not self.in_memory:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    logger.warning("sqlite database %s is not in WAL mode (%s)", self.path, mode)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.create_function("cachesim_match", 2, _glob_match, deterministic=True)
            for statement in _SCHEMA:
                conn.execute(statement)
        except BaseException:
            conn.close()
            raise
        return conn

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the worker thread (opening the database if needed)."""
        if self._conn is None:
            await self._open()
        assert self._executor is not None
        conn = self._conn
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, conn, *args)

    async def _open(self) -> None:
        async with self._opening:
            if self._conn is not None:
                return
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cachesim-sqlite")
            try:
                self._conn = await asyncio.get_running_loop().run_in_executor(
                    executor, self._open_db
                )
            except BaseException:
                executor.shutdown(wait=False)
                raise
            self._executor = executor

    def _execute(self, conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        self.statements += 1
        return conn.execute(sql, params)

    # -- lifecycle ----------------------------------------------------------------
    async def initialize(self) -> None:
        """Open the database, create the table, start the expiry sweep (idempotent)."""
        await self._open()
        if self.sweep_interval is not None and (self._sweeper is None or self._sweeper.done()):
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="cachesim-sqlite-sweep")

    async def disconnect(self) -> None:
        """Stop the sweep and close the database (a file keeps its entries)."""
        task, self._sweeper = self._sweeper, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        async with self._opening:
            conn, executor = self._conn, self._executor
            self._conn = self._executor = None
            if conn is not None and executor is not None:
                try:
                    await asyncio.get_running_loop().run_in_executor(executor, conn.close)
                finally:
                    executor.shutdown(wait=False)

    async def _sweep_forever(self) -> None:
        assert self.sweep_interval is not None
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                await self.sweep()
            except Exception as exc:  # a failed sweep is retried next interval
                logger.warning("sqlite expiry sweep failed: %s", type(exc).__name__)

    async def sweep(self, limit: int | None = None) -> int:
        """Delete expired rows, ``sweep_batch`` per statement, yielding between chunks."""
        total = 0
        while limit is None or total < limit:
            batch = self.sweep_batch if limit is None else min(self.sweep_batch, limit - total)
            removed = await self._run(self._sweep_chunk, self.clock.now(), batch)
            total += removed
            if removed < batch:
                break
        self.swept += total
        return total

    def _sweep_chunk(self, conn: sqlite3.Connection, now: float, batch: int) -> int:
        return self._execute(
            conn,
            f"DELETE FROM {TABLE} WHERE rowid IN (SELECT rowid FROM {TABLE} "
            "WHERE expires_at <= ? LIMIT ?)",
            (now, batch),
        ).rowcount

    # -- operations ---------------------------------------------------------------
    def _expires(self, ttl: float | None) -> float | None:
        return None if ttl is None else self.clock.now() + ttl

    def _get(self, conn: sqlite3.Connection, key: str, now: float) -> str | None:
        row = self._execute(
            conn, f"SELECT value, expires_at FROM {TABLE} WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        value, expires_at = row
        if expires_at is not None and expires_at <= now:
            self.purged_on_read += self._execute(
                conn, f"DELETE FROM {TABLE} WHERE key = ? AND expires_at <= ?", (key, now)
            ).rowcount
            return None
        return str(value)

    async def get(self, key: str) -> str | None:
        """One ``SELECT`` by primary key (an expired row found is deleted)."""
        return await self._run(self._get, key, self.clock.now())

    def _get_many(self, conn: sqlite3.Connection, keys: Sequence[str], now: float) -> list[Any]:
        found: dict[str, str] = {}
        for start in range(0, len(keys), _BATCH):
            chunk = keys[start : start + _BATCH]
            rows = self._execute(
                conn,
                f"SELECT key, value FROM {TABLE} WHERE key IN ({','.join('?' * len(chunk))}) "
                f"AND {_LIVE}",
                (*chunk, now),
            )
            found.update(rows.fetchall())
        return [found.get(k) for k in keys]

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """``SELECT ... WHERE key IN (...)``, up to 500 keys per statement, at one instant."""
        if not keys:
            return []
        return await self._run(self._get_many, list(keys), self.clock.now())

    def _set_many(
        self, conn: sqlite3.Connection, items: Sequence[tuple[str, str]], expires: float | None
    ) -> None:
        sql = f"INSERT OR REPLACE INTO {TABLE} (key, value, expires_at) VALUES (?, ?, ?)"
        if len(items) == 1:
            key, value = items[0]
            self._execute(conn, sql, (key, value, expires))
            return
        self._execute(conn, "BEGIN IMMEDIATE", ())
        try:
            self.statements += 1
            conn.executemany(sql, [(k, v, expires) for k, v in items])
            self._execute(conn, "COMMIT", ())
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """``INSERT OR REPLACE`` (a write replaces the value and the TTL)."""
        await self._run(self._set_many, [(key, value)], self._expires(ttl))

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Every entry in one transaction, with one expiry instant."""
        if items:
            await self._run(self._set_many, list(items), self._expires(ttl))

    def _delete_many(self, conn: sqlite3.Connection, keys: Sequence[str], now: float) -> int:
        removed = 0
        for start in range(0, len(keys), _BATCH):
            chunk = keys[start : start + _BATCH]
            removed += self._execute(
                conn,
                f"DELETE FROM {TABLE} WHERE key IN ({','.join('?' * len(chunk))}) AND {_LIVE}",
                (*chunk, now),
            ).rowcount
        return removed

    async def delete(self, key: str) -> bool:
        """Delete the live row; an expired one is left to the sweep (it is invisible)."""
        return bool(await self._run(self._delete_many, [key], self.clock.now()))

    async def delete_many(self, keys: Sequence[str]) -> int:
        """``DELETE ... WHERE key IN (...)``; counts live rows only."""
        if not keys:
            return 0
        return await self._run(self._delete_many, list(dict.fromkeys(keys)), self.clock.now())

    def _has(self, conn: sqlite3.Connection, key: str, now: float) -> bool:
        sql = f"SELECT 1 FROM {TABLE} WHERE key = ? AND {_LIVE}"
        return self._execute(conn, sql, (key, now)).fetchone() is not None

    async def has(self, key: str) -> bool:
        """Whether a live row exists (the value is not read)."""
        return await self._run(self._has, key, self.clock.now())

    def _pattern_where(self, pattern: str) -> tuple[str, list[Any]]:
        condition, params = _key_range(pattern)
        return f"{condition} AND cachesim_match(?, key) AND {_LIVE}", [*params, pattern]

    def _invalidate(self, conn: sqlite3.Connection, pattern: str, now: float) -> int:
        where, params = self._pattern_where(pattern)
        return self._execute(conn, f"DELETE FROM {TABLE} WHERE {where}", (*params, now)).rowcount

    async def invalidate_pattern(self, pattern: str) -> int:
        """One ``DELETE`` of the live rows matching the Redis glob ``pattern``."""
        return await self._run(self._invalidate, pattern, self.clock.now())

    def _clear(self, conn: sqlite3.Connection, namespace: str, now: float) -> int:
        prefix = namespace + ":"
        upper = _after_prefix(prefix)
        assert upper is not None  # ":" can always be incremented
        return self._execute(
            conn,
            f"DELETE FROM {TABLE} WHERE key >= ? AND key < ? AND {_LIVE}",
            (prefix, upper, now),
        ).rowcount

    async def clear(self, namespace: str) -> int:
        """Delete the live rows whose key starts with ``namespace:`` (an index range)."""
        return await self._run(self._clear, namespace, self.clock.now())

    def _count(self, conn: sqlite3.Connection, pattern: str, now: float) -> int:
        where, params = self._pattern_where(pattern)
        row = self._execute(conn, f"SELECT count(*) FROM {TABLE} WHERE {where}", (*params, now))
        return int(row.fetchone()[0])

    async def count(self, pattern: str) -> int:
        """Count the live rows matching ``pattern``."""
        return await self._run(self._count, pattern, self.clock.now())

    def _size(self, conn: sqlite3.Connection) -> int:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(page_size)

    async def get_stats(self) -> dict[str, Any]:
        """Database path and size, statements run, rows swept and purged on read."""
        return {
            "path": self.path,
            "database_bytes": await self._run(self._size) if self._conn is not None else None,
            "statements": self.statements,
            "swept": self.swept,
            "purged_on_read": self.purged_on_read,
        }

    def __repr__(self) -> str:
        return f"SQLiteProvider(path={self.path!r}, clock={self.clock!r})"

    # -- stampede-lock primitives (ATOMIC_SET_IF_ABSENT, COMPARE_AND_DELETE) ----------
    def _set_if_absent(
        self, conn: sqlite3.Connection, key: str, value: str, expires: float | None, now: float
    ) -> bool:
        # One statement, so atomic across connections: insert, or take over an expired row.
        cursor = self._execute(
            conn,
            f"INSERT INTO {TABLE} (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
            "expires_at = excluded.expires_at "
            f"WHERE {TABLE}.expires_at IS NOT NULL AND {TABLE}.expires_at <= ?",
            (key, value, expires, now),
        )
        return cursor.rowcount > 0

    async def set_if_absent(self, key: str, value: str, ttl: float | None) -> bool:
        """``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired``; True if stored."""
        now = self.clock.now()
        expires = None if ttl is None else now + ttl
        return await self._run(self._set_if_absent, key, value, expires, now)

    def _delete_if_equals(self, conn: sqlite3.Connection, key: str, value: str, now: float) -> bool:
        cursor = self._execute(
            conn, f"DELETE FROM {TABLE} WHERE key = ? AND value = ? AND {_LIVE}", (key, value, now)
        )
        return cursor.rowcount > 0

    async def delete_if_equals(self, key: str, value: str) -> bool:
        """One ``DELETE ... WHERE key = ? AND value = ?``; True if removed."""
        return await self._run(self._delete_if_equals, key, value, self.clock.now())
