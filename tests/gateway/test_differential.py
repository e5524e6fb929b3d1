"""Differential: the same commands through redis-py directly and through gateway + upstash client.

Both sides use the same throwaway redis-server, on two databases of their own,
with identical key names, so every result must be equal.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from upstash_redis import Redis as UpstashRedis
from upstash_redis.errors import UpstashError

from cachesim.gateway.server import Gateway, run_gateway


def _db_url(redis_url: str, db: int) -> str:
    return redis_url.rsplit("/", 1)[0] + f"/{db}"


@pytest.fixture(scope="module")
def db_gateway(redis_url: str) -> Iterator[Gateway]:
    """A gateway on database 1 of the session's redis-server."""
    with run_gateway(_db_url(redis_url, 1)) as gw:
        yield gw


@pytest.fixture
def pair(db_gateway: Gateway, redis_url: str) -> Iterator[tuple[redis.Redis, UpstashRedis]]:
    """(redis-py on database 2, upstash client on database 1 via the gateway)."""
    direct = redis.Redis.from_url(_db_url(redis_url, 2), decode_responses=True, protocol=2)
    upstash = db_gateway.client()
    yield direct, upstash
    direct.close()
    upstash.close()


def _norm(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(_norm(v) for v in value)
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value


def _run(call: Callable[[], Any]) -> Any:
    try:
        return ("ok", _norm(call()))
    except (redis.ResponseError, UpstashError) as exc:
        return ("error", str(exc))


def test_high_level_methods_agree(pair: tuple[redis.Redis, UpstashRedis]) -> None:
    direct, upstash = pair
    p = f"d{uuid.uuid4().hex[:8]}:"
    s, n, f, h, lst, st, z = (p + x for x in ("s", "n", "f", "h", "l", "set", "z"))
    steps: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("set", (s, "v1"), {}),
        ("get", (s,), {}),
        ("set", (s, "v2"), {"nx": True}),
        ("set", (s, "héllo ✓ 日本"), {"xx": True}),
        ("get", (s,), {}),
        ("append", (s, "!"), {}),
        ("strlen", (s,), {}),
        ("getrange", (s, 0, 4), {}),
        ("incr", (n,), {}),
        ("incrby", (n, 41), {}),
        ("decrby", (n, 2), {}),
        ("incrbyfloat", (f, 1.5), {}),
        ("get", (p + "missing",), {}),
        ("mget", ([s, p + "missing", n],), {}),
        ("exists", (s, n, p + "missing"), {}),
        ("expire", (s, 100), {}),
        ("ttl", (s,), {}),
        ("persist", (s,), {}),
        ("ttl", (s,), {}),
        ("type", (s,), {}),
        ("hset", (h, "a", "1"), {}),
        ("hget", (h, "a"), {}),
        ("hgetall", (h,), {}),
        ("lpush", (lst, "a", "b", "c"), {}),
        ("lrange", (lst, 0, -1), {}),
        ("sadd", (st, "x", "y"), {}),
        ("smembers", (st,), {}),
        ("sismember", (st, "x"), {}),
        ("zadd", (z, {"m1": 1.5, "m2": 2}), {}),
        ("zscore", (z, "m1"), {}),
        ("zrange", (z, 0, -1), {}),
        ("get", (lst,), {}),  # WRONGTYPE on both sides
        ("incr", (s,), {}),  # not an integer on both sides
        ("delete", (s, n, p + "missing"), {}),
        ("unlink", (f,), {}),
        ("exists", (s, n, f), {}),
        ("getdel", (h,), {}),
    ]
    for name, args, kwargs in steps:
        direct_args: tuple[Any, ...] = args
        upstash_args: tuple[Any, ...] = args
        if name == "mget":  # redis-py takes a list, upstash varargs
            upstash_args = tuple(args[0])
        expected = _run(functools.partial(getattr(direct, name), *direct_args, **kwargs))
        got = _run(functools.partial(getattr(upstash, name), *upstash_args, **kwargs))
        if expected[0] == "error":
            assert got[0] == expected[0], f"{name}{args}: {got} != {expected}"
            if expected[0] == "error":
                assert got[1].endswith(expected[1]), f"{name}: {got[1]!r} vs {expected[1]!r}"
            continue
        if name == "set" and expected == ("ok", None):
            expected = ("ok", False)  # client APIs differ: redis-py None, upstash False
        if name == "smembers":  # a set in redis-py, a list in upstash
            got = (got[0], sorted(got[1]))
        assert got == expected, f"{name}{args}"


RAW_COMMANDS: list[list[str]] = [
    ["set", "{p}a", "1"],
    ["set", "{p}u", "ünïcödé ✓"],
    ["get", "{p}u"],
    ["getset", "{p}a", "2"],
    ["mget", "{p}a", "{p}u", "{p}none"],
    ["incrby", "{p}a", "40"],
    ["set", "{p}a", "x", "nx"],
    ["set", "{p}e", "v", "px", "60000"],
    ["pexpire", "{p}e", "90000"],
    ["exists", "{p}a", "{p}e", "{p}none"],
    ["hset", "{p}h", "f1", "v1", "f2", "v2"],
    ["hgetall", "{p}h"],
    ["rpush", "{p}l", "1", "2", "3"],
    ["lrange", "{p}l", "0", "-1"],
    ["zadd", "{p}z", "1.5", "a", "2.5", "b"],
    ["zrange", "{p}z", "0", "-1", "withscores"],
    ["type", "{p}z"],
    ["ping"],
    ["echo", "{p}x"],
    ["strlen", "{p}u"],
    ["del", "{p}a", "{p}none"],
    ["get", "{p}h"],
    ["hset", "{p}h"],
    ["nosuchcommand"],
]


def test_raw_replies_agree(
    pair: tuple[redis.Redis, UpstashRedis], redis_url: str, db_gateway: Gateway
) -> None:
    """Lower-case names skip the upstash client's formatters: the raw replies must match."""
    _, upstash = pair
    raw = redis.Redis.from_url(_db_url(redis_url, 2), protocol=2)
    raw.response_callbacks.clear()  # raw RESP2 replies, as the gateway sees them
    p = f"r{uuid.uuid4().hex[:8]}:"

    def decode(value: Any) -> Any:
        if isinstance(value, bytes):
            return value.decode("utf-8")
        if isinstance(value, list):
            return [decode(v) for v in value]
        return value

    try:
        for template in RAW_COMMANDS:
            command = [part.replace("{p}", p) for part in template]
            try:
                expected: Any = ("ok", decode(raw.execute_command(*command)))
            except redis.ResponseError as exc:
                expected = ("error", str(exc))
            try:
                got: Any = ("ok", upstash.execute(command))
            except UpstashError as exc:
                got = ("error", str(exc))
            if expected[0] == "error":
                assert got[0] == "error", command
                # redis-py strips the "ERR " prefix the gateway passes on verbatim
                assert got[1] in (expected[1], f"ERR {expected[1]}"), command
            else:
                assert got == expected, command
    finally:
        raw.close()
