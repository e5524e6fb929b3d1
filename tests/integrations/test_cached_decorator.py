"""@cached on async and sync functions: keys, caching semantics, invalidation."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from cachesim import Cache, CacheEvent, CacheKeys
from cachesim.clock import ManualClock
from cachesim.decorators import MAX_ARGS_BYTES, cached, stable_repr
from cachesim.keys import compile_glob
from cachesim.sync import SyncCache

MODULE = __name__


# -- async functions -------------------------------------------------------------


async def test_async_results_are_cached(memory_cache: Cache) -> None:
    calls: list[int] = []

    @cached(memory_cache, ttl=60)
    async def load(user_id: int) -> dict[str, int]:
        calls.append(user_id)
        return {"id": user_id}

    assert await load(1) == {"id": 1}
    assert await load(1) == {"id": 1}
    assert await load(2) == {"id": 2}
    assert calls == [1, 2]
    assert await memory_cache.get(load.cache_key(1)) == {"id": 1}


async def test_async_none_is_cached(memory_cache: Cache) -> None:
    calls: list[int] = []

    @cached(memory_cache)
    async def find(user_id: int) -> int | None:
        calls.append(user_id)
        return None

    assert await find(1) is None
    assert await find(1) is None
    assert calls == [1]


async def test_async_exceptions_are_not_cached(memory_cache: Cache) -> None:
    calls: list[int] = []

    @cached(memory_cache)
    async def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise ConnectionError("database blip")
        return x * 10

    with pytest.raises(ConnectionError):
        await flaky(3)
    assert not await memory_cache.has(flaky.cache_key(3))
    assert await flaky(3) == 30
    assert calls == [3, 3]


async def test_async_ttl_uses_the_cache_clock(memory_cache: Cache, clock: ManualClock) -> None:
    calls: list[int] = []

    @cached(memory_cache, ttl=dt.timedelta(seconds=30))
    async def load(x: int) -> int:
        calls.append(x)
        return len(calls)

    assert await load(1) == 1
    clock.advance(29)
    assert await load(1) == 1
    clock.advance(2)
    assert await load(1) == 2


async def test_async_single_flight(memory_cache: Cache) -> None:
    calls: list[int] = []
    gate = asyncio.Event()

    @cached(memory_cache)
    async def slow(x: int) -> list[int]:
        calls.append(x)
        await gate.wait()
        return [x]

    all_missed = asyncio.Event()

    def on_event(_: CacheEvent) -> None:
        if memory_cache.misses == 10:
            all_missed.set()

    memory_cache.subscribe(on_event)
    tasks = [asyncio.ensure_future(slow(5)) for _ in range(10)]
    await all_missed.wait()  # every call has missed and waits on the one flight
    gate.set()
    assert await asyncio.gather(*tasks) == [[5]] * 10
    assert calls == [5]


async def test_async_invalidate(memory_cache: Cache) -> None:
    calls: list[int] = []

    @cached(memory_cache, key="user:{user_id}")
    async def load(user_id: int, *, verbose: bool = False) -> int:
        calls.append(user_id)
        return len(calls)

    assert await load(7) == 1
    assert await load.invalidate(7) is True
    assert await load.invalidate(7) is False
    assert await load(7) == 2
    assert await load(7, verbose=True) == 2  # same key: the template ignores verbose


async def test_return_values_round_trip_as_json(memory_cache: Cache) -> None:
    @cached(memory_cache)
    async def pair() -> Any:
        return (1, 2)

    assert await pair() == [1, 2]  # the first call returns what later hits return
    assert await pair() == [1, 2]


# -- keys ------------------------------------------------------------------------


async def test_template_keys_match_cache_keys(memory_cache: Cache) -> None:
    @cached(memory_cache, key="user:{user_id}")
    async def load(user_id: int | str) -> str:
        return "row"

    for user_id in (42, "a*b", "x:y", "{}"):
        assert load.cache_key(user_id) == CacheKeys.user(user_id)
    await load("*")
    assert await memory_cache.has(CacheKeys.user("*"))
    assert await memory_cache.invalidate_pattern(CacheKeys.user_pattern("*")) == 1


async def test_template_keys_take_attributes_and_format_specs(memory_cache: Cache) -> None:
    @dataclasses.dataclass
    class Org:
        id: int

    @cached(memory_cache, key="org:{org.id}:page:{page:03d}")
    async def members(org: Org, page: int = 1) -> list[str]:
        return []

    assert members.cache_key(Org(9)) == "org:{9}:page:{001}"


async def test_callable_keys(memory_cache: Cache) -> None:
    @cached(memory_cache, key=lambda user_id, **_: CacheKeys.user_sessions(user_id))
    async def sessions(user_id: int, limit: int = 10) -> list[str]:
        return ["s1"]

    await sessions(3, limit=5)
    assert await memory_cache.get(CacheKeys.user_sessions(3)) == ["s1"]


def test_bad_templates_fail_at_decoration_time(memory_cache: Cache) -> None:
    async def load(user_id: int) -> int:
        return 1

    with pytest.raises(ValueError, match="not a parameter"):
        cached(memory_cache, key="user:{uid}")(load)
    with pytest.raises(ValueError, match="not positions"):
        cached(memory_cache, key="user:{}")(load)
    with pytest.raises(ValueError, match="invalid cache key template"):
        cached(memory_cache, key="user:{user_id")(load)
    with pytest.raises(TypeError, match="template string"):
        cached(memory_cache, key=42)  # type: ignore[call-overload]


async def default_key_target(a: int, b: str = "x", *rest: int, flag: bool = False) -> int:
    return a


def test_default_keys_are_readable_and_bind_arguments(memory_cache: Cache) -> None:
    fn = cached(memory_cache)(default_key_target)
    expected = f"{MODULE}.default_key_target(a=1,b='x',rest=(),flag=False)"
    assert fn.cache_key(1) == expected
    assert fn.cache_key(1, "x") == fn.cache_key(a=1) == fn.cache_key(1, flag=False) == expected
    assert fn.cache_key(1, "y") != expected
    assert fn.cache_key(1, "x", 5).endswith("rest=(5,),flag=False)")
    assert fn.__name__ == "default_key_target"
    assert fn.__wrapped__ is default_key_target


def test_default_keys_distinguish_types(memory_cache: Cache) -> None:
    @cached(memory_cache)
    async def f(x: Any) -> Any:
        return x

    keys = {f.cache_key(v) for v in (1, 1.0, True, "1", b"1", [1], (1,), None)}
    assert len(keys) == 8


async def test_default_keys_hold_no_glob_metacharacters(memory_cache: Cache) -> None:
    @cached(memory_cache)
    async def search(q: Any) -> list[str]:
        return []

    samples = ["*", "a?", "[ab]", "\\", "x:y", "{tag}", "%2A", {"k": "*"}, "anything", "ab"]
    keys = [search.cache_key(q) for q in samples]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert not set("*?[]\\") & set(key)
        # Used as a pattern, a key matches itself and nothing else.
        assert [k for k in keys if compile_glob(key).match(k.encode())] == [key]
    for q in samples:
        await search(q)
    assert await memory_cache.invalidate_pattern(search.cache_key("*")) == 1
    assert (
        await memory_cache.invalidate_pattern(search.cache_key("a")[:-2] + "*") == 3
    )  # a?, anything, ab


def test_long_arguments_are_hashed(memory_cache: Cache) -> None:
    @cached(memory_cache)
    async def f(text: str) -> str:
        return text

    long_key = f.cache_key("x" * 10_000)
    assert len(long_key.encode()) < 512
    assert "#" in long_key and "xxxx" not in long_key
    assert long_key == f.cache_key("x" * 10_000)
    assert long_key != f.cache_key("x" * 10_001)
    short = f.cache_key("x" * 10)
    assert "#" not in short
    assert len(f.cache_key("é" * MAX_ARGS_BYTES).encode()) < 512


async def test_hashed_keys_are_usable(memory_cache: Cache) -> None:
    calls: list[int] = []

    @cached(memory_cache)
    async def f(items: list[int]) -> int:
        calls.append(1)
        return sum(items)

    big = list(range(500))
    assert await f(big) == await f(big) == sum(big)
    assert calls == [1]


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


def test_stable_repr_of_supported_types() -> None:
    assert stable_repr({"b": 1, "a": {2, 1}}) == "dict('a':set(1,2),'b':1)"
    assert stable_repr(Color.RED) == f"{MODULE}.Color.RED"
    assert stable_repr(Point(1, 2)) == f"{MODULE}.Point(x=1,y=2)"
    assert stable_repr(dt.date(2024, 1, 2)) == "date(2024-01-02)"
    assert stable_repr(Decimal("1.50")) == "Decimal('1.50')"
    uid = uuid.UUID(int=5)
    assert stable_repr(uid) == repr(uid)
    assert stable_repr((1,)) == "(1,)"
    assert stable_repr(frozenset()) == "frozenset()"
    assert stable_repr({}) == "dict()"


def test_unsupported_arguments_ask_for_an_explicit_key(memory_cache: Cache) -> None:
    @cached(memory_cache)
    async def f(conn: Any) -> int:
        return 1

    with pytest.raises(TypeError, match="key="):
        f.cache_key(object())


def test_default_keys_are_stable_across_processes() -> None:
    script = textwrap.dedent(
        """
        from cachesim import Cache
        from cachesim.decorators import cached
        from cachesim.providers import MemoryProvider

        @cached(Cache(MemoryProvider(sweep_interval=None)))
        async def tagged(tags: frozenset[str], opts: dict[str, object]) -> int:
            return 1

        tags = frozenset(f"tag{i}" for i in range(20))
        print(tagged.cache_key(tags, {"z": 1, "a": {"y", "x"}, "m": None}))
        print(tagged.cache_key(frozenset(t * 50 for t in tags), {}))
        """
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    readable, hashed = outputs.pop().splitlines()
    assert readable.startswith("__main__.tagged(tags=frozenset('tag0','tag1','tag10',")
    assert readable.endswith("opts=dict('a':set('x','y'),'m':None,'z':1))")
    assert hashed.startswith("__main__.tagged#")


# -- decoration errors -----------------------------------------------------------


def test_async_functions_need_a_cache_and_sync_ones_a_sync_cache(
    memory_cache: Cache, sync_cache: SyncCache
) -> None:
    async def a() -> int:
        return 1

    def s() -> int:
        return 1

    with pytest.raises(TypeError, match="is async"):
        cached(sync_cache)(a)
    with pytest.raises(TypeError, match="is sync"):
        cached(memory_cache)(s)  # type: ignore[arg-type]


def test_generators_are_refused(memory_cache: Cache) -> None:
    async def agen() -> Any:
        yield 1

    with pytest.raises(TypeError, match="generator"):
        cached(memory_cache)(agen)


def test_bad_ttl_fails_at_decoration_time(memory_cache: Cache) -> None:
    from cachesim import InvalidTTLError

    with pytest.raises(InvalidTTLError):
        cached(memory_cache, ttl=0)


# -- sync functions --------------------------------------------------------------


def test_sync_results_none_and_invalidate(sync_cache: SyncCache) -> None:
    calls: list[int] = []

    @cached(sync_cache, ttl=60, key="user:{user_id}")
    def load(user_id: int) -> dict[str, int] | None:
        calls.append(user_id)
        return None if user_id == 0 else {"id": user_id}

    assert load(1) == load(1) == {"id": 1}
    assert load(0) is None
    assert load(0) is None
    assert calls == [1, 0]
    assert sync_cache.get(CacheKeys.user(1)) == {"id": 1}
    assert load.invalidate(1) is True
    assert load(1) == {"id": 1}
    assert calls == [1, 0, 1]


def test_sync_exceptions_are_not_cached(sync_cache: SyncCache) -> None:
    calls: list[int] = []

    @cached(sync_cache)
    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise TimeoutError("upstream")
        return "ok"

    with pytest.raises(TimeoutError):
        flaky()
    assert flaky() == "ok"
    assert flaky() == "ok"
    assert len(calls) == 2


def test_sync_single_flight_across_threads(sync_cache: SyncCache) -> None:
    n = 12
    calls: list[str] = []
    release = threading.Event()

    @cached(sync_cache)
    def report(day: str) -> dict[str, str]:
        calls.append(threading.current_thread().name)
        release.wait(10)
        return {"day": day}

    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(report, "monday") for _ in range(n)]
        while sync_cache.cache.misses < n:
            threading.Event().wait(0.001)
        release.set()
        results = [f.result(10) for f in futures]
    assert results == [{"day": "monday"}] * n
    assert len(calls) == 1
