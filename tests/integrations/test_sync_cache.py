"""SyncCache: the blocking API from many threads, single-flight across threads, lifecycle."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cachesim import Cache, CacheEvent
from cachesim.clock import ManualClock
from cachesim.providers import MemoryProvider, RedisProvider
from cachesim.sync import SyncCache

WAIT = 10.0  # generous upper bound for cross-thread hand-offs (never reached when healthy)


def sync_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("cachesim-sync")}


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


@pytest.fixture(params=["memory", "fakeredis"])
def any_sync_cache(
    request: pytest.FixtureRequest, clock: ManualClock, namespace: str
) -> Iterator[SyncCache]:
    if request.param == "memory":
        provider: Any = MemoryProvider(clock=clock, sweep_interval=None)
    else:
        provider = RedisProvider.fake()
    with SyncCache(Cache(provider, namespace=namespace)) as made:
        yield made


# -- the API ---------------------------------------------------------------------


def test_the_blocking_api_mirrors_cache(any_sync_cache: SyncCache) -> None:
    sc = any_sync_cache
    assert sc.get("k") is None
    assert sc.get("k", "dflt") == "dflt"
    assert sc.set("k", {"a": (1, 2)}) is True
    assert sc.get("k") == {"a": [1, 2]}
    assert sc.has("k") is True
    assert sc.set("none", None)
    assert sc.has("none") is True
    assert sc.get("none", "dflt") is None
    assert sc.set_many({"user:1": 1, "user:2": 2, "org:1": 3})
    assert sc.get_many(iter(["user:1", "user:2", "nope"])) == {"user:1": 1, "user:2": 2}
    assert sc.invalidate_pattern("user:*") == 2
    assert sc.delete("org:1") is True
    assert sc.delete("org:1") is False
    assert sc.delete_many(["k", "none", "gone"]) == 2
    sc.set("x", 1)
    assert sc.clear() == 1
    stats = sc.get_stats()
    assert stats.namespace == sc.namespace
    assert stats.hits == 4
    assert stats.keys == 0
    sc.reset_stats()
    assert sc.get_stats().hits == 0


def test_programmer_errors_raise_in_the_callers_thread(sync_cache: SyncCache) -> None:
    from cachesim import InvalidKeyError, InvalidTTLError, UnstorableValueError

    with pytest.raises(InvalidKeyError):
        sync_cache.get("")
    with pytest.raises(InvalidTTLError):
        sync_cache.set("k", 1, ttl=-1)
    with pytest.raises(UnstorableValueError):
        sync_cache.set("k", {1, 2})
    assert sync_cache.has("k") is False


def test_ttl_follows_the_injected_clock(sync_cache: SyncCache, clock: ManualClock) -> None:
    sync_cache.set("k", "v", ttl=10)
    clock.advance(9.999)
    assert sync_cache.get("k") == "v"
    clock.advance(0.002)
    assert sync_cache.get("k") is None
    assert sync_cache.has("k") is False


def test_many_threads_read_and_write_their_own_values(any_sync_cache: SyncCache) -> None:
    sc = any_sync_cache
    threads, rounds = 16, 50

    def work(t: int) -> list[Any]:
        seen = []
        for i in range(rounds):
            key = f"t{t}:{i}"
            sc.set(key, {"t": t, "i": i})
            seen.append(sc.get(key))
        return seen

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(work, range(threads)))
    for t, seen in enumerate(results):
        assert seen == [{"t": t, "i": i} for i in range(rounds)]
    stats = sc.get_stats()
    assert (stats.hits, stats.sets, stats.keys) == (threads * rounds,) * 3


def test_one_background_thread_per_sync_cache(memory_cache: Cache) -> None:
    before = threading.active_count()
    with SyncCache(memory_cache) as sc:
        for i in range(50):
            sc.set(f"k{i}", i)
        assert threading.active_count() == before + 1


# -- get_or_set ------------------------------------------------------------------


def test_get_or_set_calls_a_factory_once_and_caches_none(sync_cache: SyncCache) -> None:
    calls: list[int] = []

    def factory() -> None:
        calls.append(1)

    assert sync_cache.get_or_set("k", factory) is None
    assert sync_cache.get_or_set("k", factory) is None
    assert len(calls) == 1


def test_get_or_set_ttl(sync_cache: SyncCache, clock: ManualClock) -> None:
    assert sync_cache.get_or_set("k", lambda: 1, ttl=5) == 1
    clock.advance(6)
    assert sync_cache.get_or_set("k", lambda: 2, ttl=5) == 2


def test_get_or_set_is_single_flight_across_threads(any_sync_cache: SyncCache) -> None:
    sc = any_sync_cache
    n = 16
    calls: list[str] = []
    release = threading.Event()

    def factory() -> dict[str, str]:
        calls.append(threading.current_thread().name)
        release.wait(WAIT)
        return {"by": threading.current_thread().name}

    def worker(_: int) -> Any:
        return sc.get_or_set("shared", factory, ttl=60)

    with ThreadPoolExecutor(n, thread_name_prefix="worker") as pool:
        futures = [pool.submit(worker, i) for i in range(n)]
        # Every caller has missed and is waiting on the one flight before it lands.
        wait_until(lambda: sc.cache.misses == n, "all callers to join the flight")
        release.set()
        results = [f.result(WAIT) for f in futures]
    assert len(calls) == 1
    assert calls[0].startswith("worker")  # ran in a caller's thread, not the loop's
    assert results == [{"by": calls[0]}] * n
    assert len({id(r) for r in results}) == n  # each caller gets its own copy
    assert sc.get("shared") == {"by": calls[0]}


def test_a_blocking_factory_does_not_block_other_callers(sync_cache: SyncCache) -> None:
    release = threading.Event()
    started = threading.Event()

    def slow() -> str:
        started.set()
        release.wait(WAIT)
        return "slow"

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(sync_cache.get_or_set, "slow", slow)
        assert started.wait(WAIT)
        # The loop is free while the factory blocks: other keys work meanwhile.
        assert sync_cache.set("other", 1)
        assert sync_cache.get_or_set("fast", lambda: "fast") == "fast"
        assert not pending.done()
        release.set()
        assert pending.result(WAIT) == "slow"


def test_a_factory_error_reaches_every_waiter_and_nothing_is_cached(sync_cache: SyncCache) -> None:
    n = 8
    calls: list[int] = []
    release = threading.Event()

    def failing() -> int:
        calls.append(1)
        release.wait(WAIT)
        raise LookupError("no such row")

    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(sync_cache.get_or_set, "k", failing) for _ in range(n)]
        wait_until(lambda: sync_cache.cache.misses == n, "all callers to join the flight")
        release.set()
        errors = [f.exception(WAIT) for f in futures]
    assert len(calls) == 1
    assert all(isinstance(e, LookupError) for e in errors)
    assert sync_cache.has("k") is False
    assert sync_cache.get_or_set("k", lambda: 7) == 7


def test_an_interrupted_factory_does_not_strand_other_waiters(sync_cache: SyncCache) -> None:
    class Interrupt(BaseException):
        pass

    release = threading.Event()
    leader_in_factory = threading.Event()

    def interrupted() -> int:
        leader_in_factory.set()
        release.wait(WAIT)
        raise Interrupt

    with ThreadPoolExecutor(2) as pool:
        leader = pool.submit(sync_cache.get_or_set, "k", interrupted)
        assert leader_in_factory.wait(WAIT)
        follower = pool.submit(sync_cache.get_or_set, "k", lambda: 1)
        wait_until(lambda: sync_cache.cache.misses == 2, "the follower to join the flight")
        release.set()
        assert isinstance(leader.exception(WAIT), Interrupt)
        assert isinstance(follower.exception(WAIT), RuntimeError)
    assert sync_cache.get_or_set("k", lambda: 2) == 2


def test_get_or_set_refuses_async_factories(sync_cache: SyncCache) -> None:
    async def factory() -> int:
        return 1

    with pytest.raises(TypeError, match="sync factory"):
        _ = sync_cache.get_or_set("k", factory)
    with pytest.raises(TypeError, match="awaitable"):
        _ = sync_cache.get_or_set("k", lambda: factory())
    assert sync_cache.has("k") is False


# -- listeners -------------------------------------------------------------------


def test_listeners_see_operations_and_cannot_deadlock(sync_cache: SyncCache) -> None:
    events: list[CacheEvent] = []
    reentry: list[BaseException] = []

    def listener(event: CacheEvent) -> None:
        events.append(event)
        try:
            sync_cache.get("other")
        except RuntimeError as exc:
            reentry.append(exc)

    unsubscribe = sync_cache.subscribe(listener)
    sync_cache.set("k", 1)
    sync_cache.get("k")
    unsubscribe()
    sync_cache.get("k")
    assert [(e.op, e.key, e.hit) for e in events] == [("set", "k", None), ("get", "k", True)]
    assert len(reentry) == 2
    assert "deadlock" in str(reentry[0])


# -- lifecycle -------------------------------------------------------------------


def test_close_stops_the_thread_and_later_calls_fail(memory_cache: Cache) -> None:
    sc = SyncCache(memory_cache, thread_name="cachesim-sync-close-test")
    sc.set("k", 1)
    assert "cachesim-sync-close-test" in sync_threads()
    sc.close()
    sc.close()  # idempotent
    assert sc.closed
    assert "cachesim-sync-close-test" not in sync_threads()
    with pytest.raises(RuntimeError, match="closed"):
        sc.get("k")
    assert "closed" in repr(sc)


def test_context_manager_initialises_and_disconnects(namespace: str) -> None:
    log: list[str] = []

    class Recording(MemoryProvider):
        async def initialize(self) -> None:
            log.append("initialize")

        async def disconnect(self) -> None:
            log.append("disconnect")

    with SyncCache(Cache(Recording(sweep_interval=None), namespace=namespace)) as sc:
        assert log == ["initialize"]
        sc.set("k", 1)
    assert log == ["initialize", "disconnect"]
    assert sc.closed


def test_a_forgotten_sync_cache_stops_its_thread(memory_cache: Cache) -> None:
    sc = SyncCache(memory_cache, thread_name="cachesim-sync-forgotten")
    sc.set("k", 1)
    del sc
    gc.collect()
    assert "cachesim-sync-forgotten" not in sync_threads()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_gets_a_working_loop_thread(sync_cache: SyncCache) -> None:
    sync_cache.set("k", "parent")
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def child() -> None:
        sync_cache.set("child", 1)
        send.send((sync_cache.get("k"), sync_cache.get("child"), sync_threads()))

    process = context.Process(target=child)
    process.start()
    try:
        assert receive.poll(WAIT), "the child's SyncCache call did not complete"
        parent_value, child_value, threads = receive.recv()
    finally:
        process.join(WAIT)
        if process.is_alive():
            process.kill()
    assert (parent_value, child_value) == ("parent", 1)
    assert threads == {f"cachesim-sync-{sync_cache.namespace}"}
    assert process.exitcode == 0
    assert sync_cache.get("child") is None  # the child's memory is its own
    assert sync_cache.get("k") == "parent"


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_PROVIDER", "memory")
    monkeypatch.setenv("CACHE_NAMESPACE", "from-env")
    with SyncCache.from_env(default_ttl=5) as sc:
        assert sc.namespace == "from-env"
        assert sc.cache.default_ttl == 5
        assert sc.get_or_set("k", lambda: "v") == "v"


def test_sync_cache_wraps_only_caches() -> None:
    with pytest.raises(TypeError, match=r"cachesim\.Cache"):
        SyncCache(object())  # type: ignore[arg-type]
