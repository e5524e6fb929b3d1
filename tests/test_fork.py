"""Fork safety: a Cache/SyncCache used before os.fork() never returns a wrong value.

Each trial forks while the parent has live connections and a get_or_set fill in
flight.  Parent and child then work on the same backend at the same time, each on
its own keys, and check every read against what it wrote; the child also
completes a get_or_set of the key whose fill was in flight at the fork.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis.asyncio

from cachesim import Cache, SyncCache
from cachesim.gateway.server import Gateway, GatewayProcess
from cachesim.providers import RedisProvider

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")

TRIALS = 3
OPS = 60


def _parent_work(sc: SyncCache, trial: int, ops: int) -> Counter[str]:
    tally: Counter[str] = Counter()
    for i in range(ops):
        key, value = f"p{trial}:{i}", {"side": "parent", "trial": trial, "i": i}
        try:
            sc.set(key, value)
            tally["reads"] += 2
            tally["wrong"] += sc.get(key) != value
            tally["wrong"] += sc.get("shared") != "from the parent"
        except Exception:
            tally["exceptions"] += 1
    return tally


async def _child_async(cache: Cache, trial: int, ops: int) -> Counter[str]:
    tally: Counter[str] = Counter()
    for i in range(ops):
        key, value = f"c{trial}:{i}", {"side": "child", "trial": trial, "i": i}
        try:
            await cache.set(key, value)
            tally["reads"] += 2
            tally["wrong"] += await cache.get(key) != value
            tally["wrong"] += await cache.get("shared") != "from the parent"
        except Exception:
            tally["exceptions"] += 1
    try:
        got = await cache.get_or_set(f"slow{trial}", lambda: "child fill")
        tally["reads"] += 1
        tally["wrong"] += got not in ("child fill", "parent fill")
    except Exception:
        tally["exceptions"] += 1
    return tally


def _child_sync(sc: SyncCache, trial: int, ops: int) -> Counter[str]:
    tally: Counter[str] = Counter()
    for i in range(ops):
        key, value = f"c{trial}:{i}", [trial, i, "child"]
        try:
            sc.set(key, value)
            tally["reads"] += 2
            tally["wrong"] += sc.get(key) != value
            tally["wrong"] += sc.get("shared") != "from the parent"
        except Exception:
            tally["exceptions"] += 1
    try:
        got = sc.get_or_set(f"slow{trial}", lambda: "child fill")
        tally["reads"] += 1
        tally["wrong"] += got not in ("child fill", "parent fill")
    except Exception:
        tally["exceptions"] += 1
    return tally


def fork_trials(sc: SyncCache, trials: int, ops: int, child_mode: str) -> Counter[str]:
    """Fork ``trials`` times from a warmed SyncCache; tally reads, wrong values, exceptions."""
    assert sc.set("shared", "from the parent")
    assert sc.get("shared") == "from the parent"
    totals: Counter[str] = Counter()
    for trial in range(trials):
        gate = threading.Event()
        fills: list[Any] = []

        def fill(t: int = trial, gate: threading.Event = gate, fills: list[Any] = fills) -> None:
            def slow_fill() -> str:
                gate.wait(10)
                return "parent fill"

            fills.append(sc.get_or_set(f"slow{t}", slow_fill))

        filler = threading.Thread(target=fill)
        filler.start()
        deadline = time.monotonic() + 10
        while f"{sc.namespace}:slow{trial}" not in sc.cache._flights:
            assert time.monotonic() < deadline, "the parent's fill never started"
            time.sleep(0.001)

        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report through the pipe, never return into pytest
            code = 0
            try:
                os.close(read_end)
                if child_mode == "async":
                    tally = asyncio.run(_child_async(sc.cache, trial, ops))
                else:
                    tally = _child_sync(sc, trial, ops)
                os.write(write_end, json.dumps(tally).encode())
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        parent = _parent_work(sc, trial, ops)
        gate.set()
        filler.join(10)
        parent["wrong"] += fills != ["parent fill"]
        with os.fdopen(read_end, "rb") as pipe:
            report = pipe.read()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0 and report, "the child crashed"
        child = Counter(json.loads(report))
        totals["trials"] += 1
        for name in ("reads", "wrong", "exceptions"):
            totals[f"parent_{name}"] += parent[name]
            totals[f"child_{name}"] += child[name]
    return totals


def check(totals: Counter[str]) -> None:
    assert totals["parent_wrong"] == 0, f"the parent read wrong values: {dict(totals)}"
    assert totals["child_wrong"] == 0, f"the child read wrong values: {dict(totals)}"
    assert totals["parent_exceptions"] == totals["child_exceptions"] == 0, dict(totals)


@pytest.fixture(scope="module")
def gateway_over_redis(redis_url: str) -> Iterator[Gateway]:
    """The gateway as its own process, over the real redis-server."""
    with GatewayProcess(redis_url) as gw:
        yield gw


def redis_sync_cache(redis_url: str, namespace: str) -> SyncCache:
    return SyncCache(Cache(RedisProvider.from_url(redis_url), namespace=namespace, timeout=5))


MAKERS: dict[str, Callable[[pytest.FixtureRequest, str], SyncCache]] = {
    "redis": lambda r, ns: redis_sync_cache(r.getfixturevalue("redis_url"), ns),
    # The application's own client, on redis-py's default (non-blocking) pool.
    "redis-own-client": lambda r, ns: SyncCache(
        Cache(
            RedisProvider(
                redis.asyncio.Redis.from_url(r.getfixturevalue("redis_url"), decode_responses=True)
            ),
            namespace=ns,
            timeout=5,
        )
    ),
    "upstash-gateway": lambda r, ns: SyncCache(
        Cache(r.getfixturevalue("gateway_over_redis").provider(), namespace=ns, timeout=5)
    ),
}


@pytest.mark.parametrize("child_mode", ["sync", "async"])
@pytest.mark.parametrize("backend", list(MAKERS))
def test_fork_never_gives_a_wrong_value(
    request: pytest.FixtureRequest, backend: str, child_mode: str, namespace: str
) -> None:
    sc = MAKERS[backend](request, namespace)
    try:
        totals = fork_trials(sc, TRIALS, OPS, child_mode)
    finally:
        sc.close()
    check(totals)
    assert totals["trials"] == TRIALS
