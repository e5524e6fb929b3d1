"""The live engine: virtual-time equality with the virtual engine, stampedes, real time."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import numpy as np
import pytest

from cachesim import Cache
from cachesim.clock import ManualClock
from cachesim.providers import MemoryProvider, RedisProvider
from cachesim.sim import Workload, simulate, with_rate, with_ttls, with_writes, zipf
from cachesim.sim.live import LiveResult, replay_live, replay_live_sync
from cachesim.sim.models import CommandsPerOp, LatencyModel, estimate

try:
    import numba  # noqa: F401

    ENGINES = ["python", "numba"]
except ImportError:  # pragma: no cover - numba is optional
    ENGINES = ["python"]


def _virtual_cache(capacity: int | None, policy: str = "lru") -> Cache:
    provider = MemoryProvider(
        max_entries=capacity, policy=policy, clock=ManualClock(), sweep_interval=None
    )
    return Cache(provider, namespace="live")


def _base() -> Workload:
    return with_rate(zipf(300, 4000, alpha=0.9, seed=3), 50.0, seed=3)


WORKLOADS: dict[str, tuple[Callable[[], Workload], float | None]] = {
    "reads, no expiry": (_base, None),
    "reads, one ttl": (_base, 3.0),
    "ttl classes": (lambda: with_ttls(_base(), [1.0, 5.0, math.inf], seed=1), None),
    "writes and deletes": (
        lambda: with_writes(with_ttls(_base(), [1.0, 5.0], seed=2), 0.1, 0.05, mode="update"),
        None,
    ),
    "invalidations": (lambda: with_writes(_base(), 0.1, mode="invalidate", seed=4), 2.0),
    "no timestamps": (lambda: zipf(300, 4000, alpha=0.9, seed=5), 40.0),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", list(WORKLOADS))
async def test_virtual_time_replay_equals_virtual_engine(name: str, engine: str) -> None:
    build, ttl = WORKLOADS[name]
    workload = build()
    for capacity in (20, 120):
        live = await replay_live(
            workload, _virtual_cache(capacity), ttl=ttl, warmup=400, progress=False
        )
        virtual = simulate(
            workload, capacity=capacity, policy="lru", ttl=ttl, warmup=400, engine=engine
        )
        assert live.virtual and live.clients == 1
        got = (live.requests, live.hits, live.misses, live.writes, live.deletes)
        want = (virtual.requests, virtual.hits, virtual.misses, virtual.writes, virtual.deletes)
        assert got == want, f"{name} @ {capacity}"


@pytest.mark.parametrize("policy", ["fifo", "lfu"])
async def test_virtual_time_equality_holds_for_other_policies(policy: str) -> None:
    workload = with_ttls(_base(), [2.0, math.inf], seed=6)
    live = await replay_live(workload, _virtual_cache(50, policy), progress=False)
    virtual = simulate(workload, capacity=50, policy=policy)
    assert (live.hits, live.misses) == (virtual.hits, virtual.misses)


async def test_sub_millisecond_ttls_are_not_stored_live() -> None:
    # The cache refuses TTLs under 1 ms (its resolution), so such entries are never
    # stored; the virtual engine keeps them for their sub-millisecond life.
    workload = Workload(
        np.array([1, 1, 1]),
        time=np.array([0.0, 0.0001, 0.0002]),
        ttl=np.full(3, 0.0005, dtype=np.float32),
    )
    live = await replay_live(workload, _virtual_cache(10), progress=False)
    virtual = simulate(workload, capacity=10)
    assert (live.hits, live.misses) == (0, 3)
    assert (virtual.hits, virtual.misses) == (2, 1)
    assert live.requests_frame()["outcome"].tolist() == ["unstored"] * 3


async def test_virtual_time_moves_the_manual_clock_and_models_origin_time() -> None:
    workload = Workload(np.array([1, 2, 1]), time=np.array([10.0, 20.0, 35.0]))
    cache = _virtual_cache(None)
    result = await replay_live(
        workload, cache, ttl=20.0, origin=LatencyModel.fixed(0.5), progress=False
    )
    assert cache.clock.now() == 35.0
    assert (result.hits, result.misses) == (0, 3)  # key 1 expired at t=30
    misses = result.latency_ms("miss")
    assert np.all(misses >= 500.0)  # the modelled origin time, not slept
    assert result.seconds < 0.5
    with pytest.raises(ValueError, match="one client"):
        await replay_live(workload, _virtual_cache(None), clients=2, progress=False)


async def test_stampede_on_fakeredis_single_flight_calls_origin_once() -> None:
    hot = Workload(np.zeros(64, dtype=np.int64), name="hot key")
    result = await replay_live(
        hot,
        lambda: Cache(RedisProvider.fake(), namespace="hot"),
        clients=8,
        origin=LatencyModel.fixed(0.05),
        progress=False,
    )
    assert not result.virtual
    assert result.misses == 8  # every client's first read missed
    assert result.stampedes == 7  # ...while the first one's fill was in flight
    assert result.origin_reads == 1  # single flight: one database call
    assert result.hits == 56
    assert result.commands_by_name["SET"] == 1  # one fill
    # Every hit is one GET; a stampeding miss sends its GET only if it started before
    # the fill was in flight (afterwards it joins the flight without a command).
    gets = result.commands_by_name["GET"]
    assert result.hits + 1 <= gets <= result.hits + result.misses
    assert set(result.commands_by_name) == {"GET", "SET"}
    assert result.commands_per_request == pytest.approx((gets + 1) / 64)
    stampeded = result.latencies[result.stampeded]
    assert stampeded.size == 7 and np.all(stampeded >= 0.045)  # they waited for the fill
    assert set(result.clients_used.tolist()) == set(range(8))


async def test_stampede_without_single_flight_calls_origin_per_miss() -> None:
    hot = Workload(np.zeros(64, dtype=np.int64))
    result = await replay_live(
        hot,
        lambda: Cache(RedisProvider.fake(), namespace="hot"),
        clients=8,
        origin=LatencyModel.fixed(0.05),
        mode="get_set",
        progress=False,
    )
    assert (result.misses, result.stampedes, result.origin_reads) == (8, 7, 8)
    assert result.commands_by_name == {"GET": 64, "SET": 8}
    per_op = result.commands_per_op()
    assert per_op.hit == pytest.approx(1.0) and per_op.miss == pytest.approx(2.0)


async def test_real_time_replay_with_concurrent_clients_accounts_for_every_request() -> None:
    workload = with_writes(zipf(100, 600, alpha=1.0, seed=9), 0.05, 0.05, mode="update")
    result = await replay_live(
        workload,
        lambda: Cache(RedisProvider.fake(), namespace="rt"),
        clients=8,
        origin=LatencyModel.fixed(0.001),
        ttl=60.0,
        warmup=100,
        progress=False,
    )
    assert result.requests == result.hits + result.misses
    assert result.total_requests == 600
    assert result.requests + result.writes + result.deletes == 500
    assert result.misses == result.origin_reads + result.stampedes
    reads = int(np.count_nonzero(workload.ops == 0))
    # a read that finds a fill already in flight joins it without sending GET
    joined = int(result.stampeded.sum())  # warm-up included, like the command counts
    assert reads - joined <= result.commands_by_name["GET"] <= reads
    row = result.to_frame()
    assert row.shape[0] == 1
    assert {"hit_ratio", "latency_p99_ms", "stampedes", "commands"} <= set(row.columns)
    windows = result.windows
    assert windows is not None
    assert list(windows.columns[:5]) == ["start", "end", "requests", "hits", "misses"]
    assert int(windows["requests"].sum()) == reads
    est = estimate(result, provider=result.provider_model(), request_rate=100)
    assert est.hit_ratio == pytest.approx(result.hit_ratio)


async def test_callable_origin_values_are_cached() -> None:
    calls: list[str] = []

    async def load(key: str) -> dict[str, str]:
        calls.append(key)
        return {"loaded": key}

    cache = Cache(MemoryProvider(), namespace="origin")
    workload = Workload.from_keys(["user:1", "user:2", "user:1"])
    result = await replay_live(workload, cache, origin=load, progress=False)
    assert calls == ["user:1", "user:2"]
    assert (result.hits, result.misses) == (1, 2)
    assert await cache.get("user:1") == {"loaded": "user:1"}
    await cache.disconnect()


def test_replay_live_sync_and_result_tables() -> None:
    result = replay_live_sync(zipf(50, 300, seed=1), lambda: _virtual_cache(10), progress=False)
    assert isinstance(result, LiveResult)
    frame = result.requests_frame()
    assert len(frame) == 300
    assert set(frame["outcome"].unique()) <= {"hit", "fill"}
    assert "hit ratio" in str(result)


def test_no_progress_bar_imports_no_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    # tqdm.auto warns "IProgress not found" in a notebook without ipywidgets, bar shown or not
    monkeypatch.setitem(sys.modules, "tqdm", None)  # any import of tqdm now fails
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    result = replay_live_sync(zipf(50, 300, seed=1), lambda: _virtual_cache(10), progress=False)
    assert result.total_requests == 300


def test_provider_model_of_a_memory_run_sends_no_commands() -> None:
    result = replay_live_sync(
        zipf(50, 300, seed=1), lambda: _virtual_cache(10), warmup=50, progress=False
    )
    assert result.commands == 0 and result.commands_by_name == {}
    model = result.provider_model()
    est = estimate(result, provider=model, request_rate=300.0)
    assert est.commands_per_month == 0 and est.monthly_cost_usd == 0
    assert model.commands == CommandsPerOp.none()


async def test_provider_model_of_a_redis_run_keeps_its_measured_commands() -> None:
    hot = Workload(np.zeros(32, dtype=np.int64))
    result = await replay_live(
        hot, lambda: Cache(RedisProvider.fake(), namespace="hot"), mode="get_set", progress=False
    )
    assert result.provider_model().commands == CommandsPerOp(hit=1.0, miss=2.0)


PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


async def test_live_replay_over_the_upstash_client_counts_billed_commands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cachesim.gateway.server import run_gateway

    for name in PROXY_VARS:  # httpx would send loopback traffic to a proxy
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    workload = with_writes(zipf(40, 240, alpha=0.9, seed=8), 0.1, mode="update", seed=8)
    with run_gateway("fakeredis") as gateway:
        result = await replay_live(
            workload,
            lambda: Cache(gateway.provider(), namespace="upstash"),
            clients=4,
            origin=LatencyModel.fixed(0.001),
            mode="get_set",
            ttl=60.0,
            progress=False,
        )
    assert result.provider == "upstash"
    assert result.commands_by_name == {
        "GET": result.requests,
        "SET": result.misses + result.writes,
    }
    per_op = result.commands_per_op()
    assert (per_op.hit, per_op.miss, per_op.write) == (1.0, 2.0, 1.0)
    measured = estimate(
        result, provider="upstash", commands=result.commands_per_request, request_rate=10
    )
    modelled = estimate(result, provider="upstash", request_rate=10)
    assert measured.monthly_cost_usd == pytest.approx(modelled.monthly_cost_usd)


@pytest.mark.redis_server
async def test_live_replay_over_a_real_redis_server(redis_url: str) -> None:
    workload = zipf(60, 400, alpha=1.1, seed=12)
    result = await replay_live(
        workload,
        lambda: Cache(RedisProvider.from_url(redis_url), namespace="live-redis"),
        clients=8,
        origin=LatencyModel.fixed(0.002),
        ttl=30.0,
        progress=False,
    )
    assert result.provider == "redis"
    assert result.requests == 400 == result.hits + result.misses
    assert result.misses == result.origin_reads + result.stampedes
    assert result.commands_by_name["SET"] == result.origin_reads
    assert 0 < result.hit_ratio < 1
