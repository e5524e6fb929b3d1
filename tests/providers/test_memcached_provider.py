"""MemcachedProvider against a real memcached started for the test session."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from urllib.parse import unquote_to_bytes

import pytest

from cachesim import Cache, UnstorableValueError, create_provider
from cachesim.errors import ConfigurationError
from cachesim.gateway.memcached_server import MemcachedServer
from cachesim.providers import MemcachedProvider
from cachesim.providers.capabilities import Capability
from cachesim.providers.memcached import (
    DEFAULT_MAX_VALUE_BYTES,
    REALTIME_MAXDELTA,
    _AdminConnection,
    encode_key,
)

StartMemcached = Callable[..., Iterator[MemcachedServer]]

SPECIAL = [
    "plain",
    "with space",
    " lead and trail ",
    "tab\tnew\nline\r",
    "nul\x00byte",
    "glob*?[]\\^!",
    "percent%_under",
    "colon:sep",
    "é",
    "e\u0301",
    "emoji 😀",
    "%~looks-hashed",
    "x" * 400,
    "ü" * 250,
]


async def _exp_of(provider: MemcachedProvider, full_key: str) -> int:
    """The ``exp`` memcached reports for ``full_key`` (absolute Unix time, -1 = never)."""

    async def read(reader: asyncio.StreamReader) -> int:
        found = -2
        while (line := await reader.readline()) != b"END\r\n":
            fields = dict(f.split(b"=", 1) for f in line.split())
            if unquote_to_bytes(fields[b"key"]) == encode_key(full_key):
                found = int(fields[b"exp"])
        return found

    admin = _AdminConnection(provider._target, 5.0)
    try:
        return int(await admin.run(b"lru_crawler metadump hash\r\n", read))
    finally:
        await admin.close()


async def _server_time(provider: MemcachedProvider) -> int:
    from cachesim.providers.memcached import _read_stats

    admin = _AdminConnection(provider._target, 5.0)
    try:
        return int((await admin.run(b"stats\r\n", _read_stats))["time"])
    finally:
        await admin.close()


async def test_every_special_key_round_trips_and_is_found_by_patterns(
    mc: MemcachedProvider, namespace: str
) -> None:
    cache = Cache(mc, namespace=namespace)
    other = Cache(mc, namespace=namespace + "x")  # a namespace that extends this one
    await other.set("k", 1)
    items = {key: i for i, key in enumerate(SPECIAL)}
    assert await cache.set_many(items) is True
    assert await cache.get_many(SPECIAL) == items
    for key, value in items.items():
        assert await cache.get(key) == value
        assert await cache.has(key)
    stats = await cache.get_stats()
    assert stats.keys == len(SPECIAL)
    assert await cache.invalidate_pattern("x*") == 1  # the 400-byte (hashed) key
    assert await cache.invalidate_pattern("*\\%_*") == 1  # "%" and "_" are literal
    assert await cache.invalidate_pattern("tab\t*") == 1
    assert await cache.delete_many(["é", "e\u0301", "missing"]) == 2
    assert await cache.clear() == len(SPECIAL) - 5
    assert await cache.get_many(SPECIAL) == {}
    assert await other.get("k") == 1


async def test_hashed_keys_store_the_full_key_and_never_answer_for_another(
    mc: MemcachedProvider, namespace: str
) -> None:
    long_key = f"{namespace}:" + "k" * 300
    await mc.set(long_key, "mine", None)
    client = await mc._connection()
    item = await client.get(encode_key(long_key), return_flags=True)
    assert item is not None and item.flags == 1
    # Forge a colliding item: another full key stored under the same memcached key.
    forged = f"{namespace}:" + "z" * 300
    raw = forged.encode()
    await client.set(encode_key(long_key), b"%d:%bforged" % (len(raw), raw), flags=1)
    assert await mc.get(long_key) is None
    assert await mc.has(long_key) is False
    assert await mc.get_many([long_key]) == [None]
    assert await mc.delete(long_key) is False
    assert await mc.count(f"{namespace}:*") == 0
    assert await mc.invalidate_pattern(f"{namespace}:*") == 0


async def test_ttls_at_the_thirty_day_boundary_as_memcached_reads_them(
    mc: MemcachedProvider, namespace: str
) -> None:
    """memcached reads an exptime above 30 days as a Unix time: check the expiry it stored."""
    cases = {
        "relative": REALTIME_MAXDELTA - 1.0,  # sent as 2592000 seconds from now
        "boundary": float(REALTIME_MAXDELTA),  # must be sent as a Unix time
        "month": 31 * 86400.0,
        "year": 365 * 86400.0,
    }
    before = await _server_time(mc)
    for name, ttl in cases.items():
        await mc.set(f"{namespace}:{name}", "v", ttl)
    after = await _server_time(mc)
    for name, ttl in cases.items():
        exp = await _exp_of(mc, f"{namespace}:{name}")
        assert before + ttl <= exp <= after + ttl + 3, (name, exp - before, ttl)
        assert await mc.get(f"{namespace}:{name}") == "v"
    assert await _exp_of(mc, "never-written") == -2


async def test_no_expiry_is_stored_without_an_expiry(mc: MemcachedProvider, namespace: str) -> None:
    await mc.set(f"{namespace}:forever", "v", None)
    assert await _exp_of(mc, f"{namespace}:forever") == -1


async def test_a_subsecond_ttl_lives_at_least_its_ttl_and_expires_within_two_seconds(
    mc: MemcachedProvider, namespace: str
) -> None:
    key = f"{namespace}:short"
    start = time.monotonic()
    await mc.set(key, "v", 0.001)
    assert await mc.get(key) == "v"  # never rounded down to "expired" or up to "forever"
    gone_after = None
    while time.monotonic() - start < 5:
        if await mc.get(key) is None:
            gone_after = time.monotonic() - start
            break
        await asyncio.sleep(0.05)
    assert gone_after is not None, "a 1 ms TTL lived for 5 s"
    assert 0.001 <= gone_after <= 2.0 + 0.5


async def test_values_up_to_the_declared_size_are_stored_with_the_longest_key(
    mc: MemcachedProvider, namespace: str
) -> None:
    assert mc.item_size_max == 1024 * 1024
    assert mc.max_value_bytes == DEFAULT_MAX_VALUE_BYTES
    cache = Cache(mc, namespace=namespace + "n" * 100)
    key = "\U0001f600" * 128  # 512 bytes: hashed, and the full key is stored in the item
    big = "a" * (DEFAULT_MAX_VALUE_BYTES - 2)  # JSON quotes make it exactly the limit
    assert await cache.set(key, big) is True
    assert await cache.get(key) == big
    with pytest.raises(UnstorableValueError):
        await cache.set(key, big + "a")
    assert await cache.get(key) == big
    assert cache.errors == 0


async def test_a_server_with_smaller_items_is_reported(
    start_memcached: StartMemcached, caplog: pytest.LogCaptureFixture
) -> None:
    for server in start_memcached(item_size="512k"):
        provider = MemcachedProvider(server.url)
        with caplog.at_level(logging.WARNING, logger="cachesim.providers.memcached"):
            await provider.initialize()
        await provider.disconnect()
        assert provider.item_size_max == 512 * 1024
        assert "start it with a larger -I" in caplog.text


async def test_commands_are_counted_one_per_backend_command(
    mc: MemcachedProvider, namespace: str
) -> None:
    cache = Cache(mc, namespace=namespace)
    before = (await mc.get_stats())["commands"]
    await cache.get_or_set("k", lambda: 1)  # a miss and a fill
    assert (await mc.get_stats())["commands"] - before == 2
    await cache.get("k")
    assert (await mc.get_stats())["commands"] - before == 3
    await cache.get_many([f"k{i}" for i in range(250)])  # three batches of 100
    assert (await mc.get_stats())["commands"] - before == 6
    await cache.get_stats()  # counting keys lists them: metadump + stats
    by_name = (await mc.get_stats())["commands_by_name"]
    assert by_name["lru_crawler metadump"] >= 1


async def test_many_tasks_at_once_lose_nothing(mc: MemcachedProvider, namespace: str) -> None:
    cache = Cache(mc, namespace=namespace, timeout=10)

    async def writer(i: int) -> None:
        assert await cache.set(f"k{i}", {"i": i}) is True
        assert await cache.get(f"k{i}") == {"i": i}

    await asyncio.gather(*(writer(i) for i in range(300)))
    assert await cache.get_many([f"k{i}" for i in range(300)]) == {
        f"k{i}": {"i": i} for i in range(300)
    }
    assert cache.errors == cache.timeouts == 0
    assert await cache.clear() == 300


async def test_cancelled_calls_leave_the_connections_usable(
    mc: MemcachedProvider, namespace: str
) -> None:
    cache = Cache(mc, namespace=namespace)
    await cache.set_many({f"k{i}": "x" * 10_000 for i in range(50)})
    for _ in range(20):
        task = asyncio.ensure_future(cache.get_many([f"k{i}" for i in range(50)]))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    for i in range(50):  # every answer belongs to its own command
        assert await cache.get(f"k{i}") == "x" * 10_000
    assert (await cache.get_stats()).keys == 50


async def test_sasl_and_unix_socket(start_memcached: StartMemcached, namespace: str) -> None:
    for server in start_memcached(unix_socket=True, credentials=("app", "s3cr3t-pw")):
        provider = MemcachedProvider(server.url)
        assert "s3cr3t-pw" not in repr(provider)
        cache = Cache(provider, namespace=namespace)
        async with cache:
            assert await cache.set("k", "v") is True
            assert await cache.get("k") == "v"
            assert await cache.invalidate_pattern("*") == 1
        assert cache.errors == 0

        wrong = Cache(MemcachedProvider(server.url.replace("s3cr3t-pw", "wrong")), timeout=3)
        async with wrong:
            assert await wrong.set("k", "v") is False
        assert wrong.errors + wrong.timeouts >= 1


async def test_an_unreachable_server_fails_open(memcached: MemcachedServer) -> None:
    from cachesim.gateway.redis_server import free_port

    cache = Cache(MemcachedProvider(f"memcached://127.0.0.1:{free_port()}"), timeout=2)
    async with cache:
        assert await cache.set("k", "v") is False
        assert await cache.get("k", "miss") == "miss"
    assert cache.errors + cache.timeouts >= 2


async def test_listing_keys_needs_the_lru_crawler(
    start_memcached: StartMemcached, namespace: str
) -> None:
    for server in start_memcached(extra_args=("-o", "no_lru_crawler")):
        provider = MemcachedProvider(server.url)
        async with Cache(provider, namespace=namespace) as cache:
            assert await cache.set("k", "v") is True
            with pytest.raises(Exception, match="lru_crawler"):
                await provider.invalidate_pattern(f"{namespace}:*")
            assert await cache.clear() == 0  # the cache fails open and counts it
            assert cache.errors == 1


async def test_reconnects_after_disconnect(mc: MemcachedProvider, namespace: str) -> None:
    await mc.set(f"{namespace}:k", "v", None)
    await mc.disconnect()
    await mc.disconnect()
    assert await mc.get(f"{namespace}:k") == "v"  # the next call reconnects
    await mc.initialize()
    await mc.initialize()
    assert await mc.delete(f"{namespace}:k") is True


def test_declares_what_memcached_can_do() -> None:
    caps = MemcachedProvider.capabilities
    assert Capability.TTL in caps and Capability.TTL_SUBSECOND not in caps
    assert Capability.CLOCK_INJECTABLE not in caps and Capability.EVICTION not in caps
    assert {Capability.PATTERN_INVALIDATION, Capability.COUNT_KEYS} <= caps
    assert MemcachedProvider.ttl_resolution == 1.0
    assert MemcachedProvider.in_process is False


async def test_create_provider_reads_memcached_url(
    memcached: MemcachedServer, monkeypatch: pytest.MonkeyPatch, namespace: str
) -> None:
    monkeypatch.delenv("MEMCACHED_URL", raising=False)
    with pytest.raises(ConfigurationError, match="MEMCACHED_URL is not set"):
        create_provider("memcached")
    monkeypatch.setenv("MEMCACHED_URL", memcached.url)
    provider = create_provider("memcached")
    assert isinstance(provider, MemcachedProvider)
    async with Cache(provider, namespace=namespace) as cache:
        assert await cache.set("k", 1) is True
        assert await cache.clear() == 1
