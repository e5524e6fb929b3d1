"""SQLiteProvider: persistence, sharing, Redis globs in SQL, expiry on an injected clock."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachesim import Cache, ManualClock, create_provider
from cachesim.errors import ConfigurationError
from cachesim.keys import compile_glob, escape_glob
from cachesim.providers import SQLiteProvider
from cachesim.providers.capabilities import Capability
from cachesim.providers.sqlite import TABLE, _after_prefix, _key_range, _literal_prefix


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cache.db")


@pytest.fixture
async def sq(db: str, clock: ManualClock) -> SQLiteProvider:
    provider = SQLiteProvider(db, clock=clock, sweep_interval=None)
    await provider.initialize()
    yield provider  # type: ignore[misc]
    await provider.disconnect()


async def test_entries_survive_disconnect_and_a_new_provider(db: str, clock: ManualClock) -> None:
    first = Cache(SQLiteProvider(db, clock=clock), namespace="app", clock=clock)
    async with first:
        await first.set("k", {"a": [1, 2]}, ttl=60)
        await first.set("forever", "x", ttl=float("inf"))
    async with first:  # disconnect() + initialize()
        assert await first.get("k") == {"a": [1, 2]}
    second = Cache(SQLiteProvider(db, clock=clock), namespace="app", clock=clock)
    async with second:
        assert await second.get_many(["k", "forever"]) == {"k": {"a": [1, 2]}, "forever": "x"}
        clock.advance(60)
        assert await second.get("k", "gone") == "gone"  # the expiry was stored too
        assert await second.get("forever") == "x"


async def test_two_processes_share_one_file(db: str) -> None:
    writer = Cache(SQLiteProvider(db), namespace="app")
    async with writer:
        await writer.set("from-parent", 1)
    script = (
        "import asyncio\n"
        "from cachesim import Cache\n"
        "from cachesim.providers import SQLiteProvider\n"
        "async def main():\n"
        f"    async with Cache(SQLiteProvider({db!r}), namespace='app') as c:\n"
        "        assert await c.get('from-parent') == 1\n"
        "        await c.set('from-child', 2)\n"
        "asyncio.run(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
    assert await asyncio.wait_for(proc.wait(), 60) == 0
    async with writer:
        assert await writer.get("from-child") == 2
        assert await writer.clear() == 2


async def test_memory_databases_are_private(clock: ManualClock) -> None:
    a, b = SQLiteProvider(":memory:", clock=clock), SQLiteProvider(":memory:", clock=clock)
    assert Capability.SHARED_BACKEND not in a.capabilities
    assert a.in_process is True
    await a.set("ns:k", "v", None)
    assert await b.get("ns:k") is None
    assert await a.get("ns:k") == "v"
    await a.disconnect()
    await b.disconnect()


def test_a_file_is_shared_and_needs_the_cache_timeout(db: str) -> None:
    provider = SQLiteProvider(db)
    assert Capability.SHARED_BACKEND in provider.capabilities
    assert Capability.CLOCK_INJECTABLE in provider.capabilities
    assert provider.in_process is False  # another process can hold the lock
    persistent = getattr(Capability, "PERSISTENT", None)
    assert persistent is None or persistent in provider.capabilities


async def test_the_database_is_in_wal_mode(sq: SQLiteProvider, db: str) -> None:
    await sq.set("ns:k", "v", None)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = conn.execute(f"SELECT key, value, expires_at FROM {TABLE}").fetchall()
    assert rows == [("ns:k", "v", None)]


# -- globs: Redis semantics, not LIKE or GLOB -------------------------------------------
KEYS = [
    "a_c",
    "abc",
    "a%c",
    "aXc",
    "a\\c",
    "a*c",
    "a?c",
    "a[c",
    "A_C",
    "a\nc",
    "ac",
    "é_c",
    "e\u0301_c",
    "\U0010ffff",
    "\U0010ffffz",
    "\ud7ff",
    "\ue000",
]
PATTERNS = [
    "a_c",  # "_" is not a wildcard
    "a%c",  # nor is "%"
    "a?c",  # "?" is
    "a*",
    "a[_%]c",
    "a[^_]c",
    "a[!_]c",  # "!" is not negation in Redis
    "a\\*c",
    "a\\\\c",
    "[a-b]*",
    "A*",
    "*c",
    "é*",
    "\U0010ffff*",
    "\ud7ff*",
    "*",
]


@pytest.mark.parametrize("pattern", PATTERNS)
async def test_patterns_match_exactly_what_redis_would(
    sq: SQLiteProvider, pattern: str, namespace: str
) -> None:
    cache = Cache(sq, namespace=namespace)
    await cache.set_many({k: k for k in KEYS})
    other = Cache(sq, namespace=namespace + "_")  # "_" would widen a LIKE-based clear
    await other.set("a_c", 1)
    full = escape_glob(namespace) + ":" + pattern
    expected = {k for k in KEYS if compile_glob(full).match(f"{namespace}:{k}".encode())}
    assert await sq.count(full) == len(expected)
    assert await cache.invalidate_pattern(pattern) == len(expected)
    assert set(await cache.get_many(KEYS)) == set(KEYS) - expected
    assert await cache.clear() == len(KEYS) - len(expected)
    assert await other.get("a_c") == 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=6), st.text(max_size=8))
def test_the_index_range_never_drops_a_match(pattern: str, key: str) -> None:
    if not compile_glob(pattern).match(key.encode("utf-8")):
        return
    prefix = _literal_prefix(pattern)
    assert key.startswith(prefix)
    upper = _after_prefix(prefix)
    assert key >= prefix
    assert upper is None or key.encode() < upper.encode()
    condition, params = _key_range(pattern)
    conn = sqlite3.connect(":memory:")
    row = conn.execute(f"SELECT 1 FROM (SELECT ? AS key) WHERE {condition}", [key, *params])
    assert row.fetchone() is not None
    conn.close()


def test_after_prefix_skips_surrogates_and_the_last_code_point() -> None:
    assert _after_prefix("ab") == "ac"
    assert _after_prefix("a\ud7ff") == "a\ue000"
    assert _after_prefix("a\U0010ffff") == "b"
    assert _after_prefix("\U0010ffff") is None


# -- time -----------------------------------------------------------------------------
async def test_expiry_follows_the_injected_clock_to_the_millisecond(
    sq: SQLiteProvider, clock: ManualClock, namespace: str
) -> None:
    cache = Cache(sq, namespace=namespace, clock=clock)
    await cache.set("k", "v", ttl=0.25)
    clock.advance(0.249)
    assert await cache.get("k") == "v"
    clock.advance(0.001)
    assert await cache.get("k", "gone") == "gone"  # gone at the expiry instant


async def test_expired_rows_are_purged_on_read_and_by_the_sweep(
    sq: SQLiteProvider, clock: ManualClock, db: str
) -> None:
    await sq.set_many([(f"ns:{i}", "v") for i in range(1234)], 10)
    await sq.set("ns:keep", "v", None)
    clock.advance(10)
    assert await sq.get("ns:0") is None
    assert sq.purged_on_read == 1
    sq.sweep_batch = 100
    assert await sq.sweep() == 1233  # in chunks of 100, each its own statement
    with sqlite3.connect(db) as conn:
        assert conn.execute(f"SELECT key FROM {TABLE}").fetchall() == [("ns:keep",)]


async def test_expired_rows_are_invisible_before_any_purge(
    sq: SQLiteProvider, clock: ManualClock
) -> None:
    await sq.set_many([("ns:a", "1"), ("ns:b", "2")], 5)
    clock.advance(5)
    assert await sq.has("ns:a") is False
    assert await sq.get_many(["ns:a", "ns:b"]) == [None, None]
    assert await sq.count("ns:*") == 0
    assert await sq.delete("ns:a") is False
    assert await sq.delete_many(["ns:a", "ns:b"]) == 0
    assert await sq.invalidate_pattern("ns:*") == 0
    assert await sq.clear("ns") == 0


async def test_the_background_sweep_runs_off_the_loop(db: str) -> None:
    clock = ManualClock(0.0)
    provider = SQLiteProvider(db, clock=clock, sweep_interval=0.01)
    await provider.initialize()
    await provider.set_many([(f"ns:{i}", "v") for i in range(50)], 1)
    clock.advance(2)
    for _ in range(200):
        if provider.swept == 50:
            break
        await asyncio.sleep(0.01)
    await provider.disconnect()
    assert provider.swept == 50


# -- concurrency and blocking ----------------------------------------------------------
async def test_many_tasks_at_once_are_applied_one_at_a_time(sq: SQLiteProvider) -> None:
    cache = Cache(sq, namespace="app")

    async def worker(i: int) -> None:
        await cache.set(f"k{i}", i)
        await cache.set_many({f"m{i}": i, "shared": i})
        assert await cache.get(f"k{i}") == i
        assert await cache.delete(f"m{i}") is True

    await asyncio.gather(*(worker(i) for i in range(200)))
    assert await cache.get_many([f"k{i}" for i in range(200)]) == {f"k{i}": i for i in range(200)}
    assert await cache.get("shared") in range(200)
    assert (await cache.get_stats()).keys == 201
    assert cache.errors == cache.timeouts == 0


async def test_a_locked_database_is_bounded_by_the_cache_timeout(db: str) -> None:
    provider = SQLiteProvider(db, busy_timeout=30)
    cache = Cache(provider, namespace="app", timeout=0.3)
    async with cache:
        await cache.set("k", 1)
        locker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN EXCLUSIVE")
        ticks = 0
        stop = threading.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        assert await cache.set("k", 2) is False  # abandoned after the timeout
        assert cache.timeouts == 1
        assert ticks >= 5  # the event loop kept running while the write waited
        locker.execute("ROLLBACK")
        locker.close()
        stop.set()
        await task
        for _ in range(100):  # the abandoned write may still land once the lock is gone
            if await cache.set("k", 3):
                break
        assert await cache.get("k") == 3


# -- configuration ---------------------------------------------------------------------
async def test_create_provider_reads_sqlite_path(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SQLITE_PATH", raising=False)
    with pytest.raises(ConfigurationError, match="SQLITE_PATH is not set"):
        create_provider("sqlite")
    monkeypatch.setenv("SQLITE_PATH", db)
    provider = create_provider("sqlite")
    assert isinstance(provider, SQLiteProvider) and provider.path == db
    async with Cache(provider, namespace="app") as cache:
        assert await cache.set("k", 1) is True
        assert (await provider.get_stats())["database_bytes"] > 0


async def test_a_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    provider = SQLiteProvider(tmp_path / "nope" / "cache.db")
    with pytest.raises(ConfigurationError, match="does not exist"):
        await provider.initialize()
    with pytest.raises(ConfigurationError):
        SQLiteProvider("")


async def test_stats_report_the_database(sq: SQLiteProvider, db: str) -> None:
    await sq.set("ns:k", "v" * 10_000, None)
    stats = await sq.get_stats()
    assert stats["path"] == db
    assert stats["database_bytes"] >= 10_000
    assert stats["statements"] >= 1
    assert repr(sq).startswith("SQLiteProvider(path=")
