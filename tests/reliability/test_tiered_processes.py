"""Tiered cache across 4 processes: propagation latency, a model-checked soak, L1 savings.

Real parts only: a throwaway redis-server (L2 + pub/sub backplane) and the
Upstash-compatible gateway in front of it (the official client + the polled
change log).  The staleness bound is a configured parameter; the checker asserts
it on the operation log with the model below, whatever the machine's speed.

Model: a read that started at ``t`` and returned the value of write ``w`` is
*stale beyond the bound* when some confirmed write ``w2`` of that key started
after ``w`` ended (so it certainly replaced it) and ended before ``t - bound``.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from cachesim import Cache
from cachesim.backplane import PollingBackplane
from cachesim.gateway.server import Gateway, run_gateway
from cachesim.providers import MemoryProvider, TieredProvider, UpstashProvider

WORKER = Path(__file__).with_name("tiered_worker.py")
WORKERS = 4
BOUND = 1.0


@pytest.fixture(scope="module")
def tiered_gateway(redis_url: str) -> Iterator[Gateway]:
    """A gateway on the session's redis-server (its faults are switched by the tests)."""
    with run_gateway(redis_url) as gw:
        yield gw
        gw.faults.clear()


def _configs(backend: str, redis_url: str, gw: Gateway, **fields: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "backend": backend,
        "namespace": f"tp{uuid.uuid4().hex[:8]}",
        "workers": WORKERS,
        "bound": BOUND,
        "redis_url": redis_url,
        "url": gw.url,
        "token": gw.token,
        "interval": 0.1,
    }
    config.update(fields)
    return config


def _run(config: dict[str, Any], tmp: Path, during: Callable[[], None] | None = None) -> list[Any]:
    """Start ``WORKERS`` processes, run ``during`` meanwhile, return their results."""
    procs = []
    for index in range(WORKERS):
        cfg = tmp / f"config{index}.json"
        cfg.write_text(json.dumps({**config, "index": index}))
        out = tmp / f"out{index}.json"
        procs.append(
            (
                subprocess.Popen(
                    [sys.executable, str(WORKER), str(cfg), str(out)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
                out,
            )
        )
    try:
        if during is not None:
            during()
        results = []
        for proc, out in procs:
            _, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, f"worker failed:\n{err[-3000:]}"
            results.append(json.loads(out.read_text()))
        return results
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@pytest.mark.parametrize("backend", ["redis", "gateway"])
def test_invalidation_propagation_latency(
    backend: str,
    redis_url: str,
    tiered_gateway: Gateway,
    tmp_path: Path,
    reliability_report: Any,
) -> None:
    count = 100
    config = _configs(backend, redis_url, tiered_gateway, mode="propagation", count=count, gap=0.01)
    results = _run(config, tmp_path)
    written = results[0]["written"]
    latencies: list[float] = []
    for peer in results[1:]:
        missing = set(written) - set(peer["received"])
        assert not missing, f"every change must reach every other instance; missed {missing}"
        latencies += [peer["received"][k] - written[k] for k in written]
    p50, p99 = _pct(latencies, 0.5) * 1000, _pct(latencies, 0.99) * 1000
    line = (
        f"tiered propagation ({backend}, {WORKERS} processes, {len(latencies)} deliveries): "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    print(line)
    reliability_report.record(
        f"tiered_propagation_{backend}",
        {"deliveries": len(latencies), "p50_ms": p50, "p99_ms": p99},
        line,
    )


def _violations(results: list[Any], bound: float) -> tuple[int, int, float]:
    """(reads checked, reads stale beyond ``bound``, oldest staleness seen) under the model.

    A read's staleness is how long before it started a replacing write had completed.
    """
    writes: dict[str, dict[str, tuple[float, float]]] = {}
    confirmed: dict[str, list[tuple[float, float]]] = {}
    for result in results:
        for key, version, start, end, ok in result["writes"]:
            writes.setdefault(key, {})[version] = (start, end)
            if ok:
                confirmed.setdefault(key, []).append((start, end))
    # For each key: confirmed writes by start, and the smallest end among those after i.
    index: dict[str, tuple[list[float], list[float]]] = {}
    for key, items in confirmed.items():
        items.sort()
        starts = [s for s, _ in items]
        suffix = [0.0] * len(items)
        low = float("inf")
        for i in range(len(items) - 1, -1, -1):
            low = min(low, items[i][1])
            suffix[i] = low
        index[key] = (starts, suffix)
    checked = stale = 0
    worst = 0.0
    for result in results:
        for key, value, start, _end in result["reads"]:
            if value is None:
                continue
            checked += 1
            produced = writes.get(key, {}).get(value)
            assert produced is not None, f"read {value!r} of {key} that nobody wrote"
            starts, suffix = index.get(key, ([], []))
            i = bisect.bisect_right(starts, produced[1])
            if i < len(starts) and suffix[i] < start:
                worst = max(worst, start - suffix[i])
                if suffix[i] < start - bound:
                    stale += 1
    return checked, stale, worst


@pytest.mark.parametrize("backend", ["redis", "gateway"])
def test_soak_across_processes_never_serves_beyond_the_bound(
    backend: str,
    redis_url: str,
    tiered_gateway: Gateway,
    tmp_path: Path,
    reliability_report: Any,
) -> None:
    seconds = 6.0
    config = _configs(
        backend,
        redis_url,
        tiered_gateway,
        mode="soak",
        seconds=seconds,
        keys=20,
        tasks=4,
        write_ratio=0.2,
    )
    stop = threading.Event()

    def disrupt() -> None:
        """Drop the backplane for about a second in the middle of the run, then restore it."""
        ready = f"{config['namespace']}-barrier:soak-ready"
        watcher = redis.Redis.from_url(redis_url)
        try:
            while int(watcher.get(ready) or 0) < WORKERS and not stop.is_set():
                time.sleep(0.02)
        finally:
            watcher.close()
        time.sleep(seconds / 3)
        if backend == "redis":
            admin = redis.Redis.from_url(redis_url)
            try:
                until = time.monotonic() + 1.0
                while time.monotonic() < until and not stop.is_set():
                    admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
                    time.sleep(0.1)
            finally:
                admin.close()
        else:
            tiered_gateway.faults.set(error=1.0)
            time.sleep(1.0)
            tiered_gateway.faults.clear()

    try:
        results = _run(config, tmp_path, during=disrupt)
    finally:
        stop.set()
        tiered_gateway.faults.clear()
    escaped = [e for r in results for e in r["escaped"]]
    assert escaped == [], f"exceptions escaped the cache: {escaped[:5]}"
    checked, stale, worst = _violations(results, BOUND)
    totals: dict[str, int] = {}
    for result in results:
        for name, value in result["stats"].items():
            totals[name] = totals.get(name, 0) + value
    writes = sum(len(r["writes"]) for r in results)
    line = (
        f"tiered soak ({backend}, {WORKERS} processes, bound {BOUND} s): {checked} reads checked, "
        f"{stale} stale beyond the bound (oldest {worst * 1000:.0f} ms), "
        f"{len(escaped)} escaped exceptions, {writes} writes, "
        f"L1 hits {totals.get('l1_hits', 0)}, backplane losses {totals.get('backplane_losses', 0)}"
        f", reconnects {totals.get('backplane_reconnects', 0)}"
    )
    print(line)
    reliability_report.record(
        f"tiered_soak_{backend}",
        {
            "reads_checked": checked,
            "stale": stale,
            "oldest_stale_ms": worst * 1000,
            "escaped": len(escaped),
            **totals,
        },
        line,
    )
    assert checked > 100, "the soak must actually read"
    assert stale == 0, f"{stale} reads returned a value replaced more than {BOUND} s earlier"
    assert totals.get("l1_hits", 0) > 0, "the run must exercise L1"
    assert totals.get("backplane_reconnects", 0) >= 1, "the backplane must have been dropped"


async def _workload(cache: Cache, rng: random.Random, requests: int, keys: int) -> list[float]:
    """Zipf-like reads (cache-aside fills) with 2% writes; returns read latencies."""
    weights = [1 / (i + 1) for i in range(keys)]
    names = [f"z{i}" for i in range(keys)]
    latencies = []
    for _ in range(requests):
        key = rng.choices(names, weights)[0]
        if rng.random() < 0.02:
            await cache.set(key, rng.random())
            continue
        start = time.perf_counter()
        await cache.get_or_set(key, lambda: 1)
        latencies.append(time.perf_counter() - start)
    return latencies


def test_l1_saves_l2_commands_and_latency(tiered_gateway: Gateway, reliability_report: Any) -> None:
    """The same workload through the gateway's emulated region latency, with and without L1."""
    requests, keys = 1500, 300
    tiered_gateway.faults.set(latency="fixed:2ms")

    async def run(tiered: bool) -> tuple[int, list[float]]:
        namespace = f"sv{uuid.uuid4().hex[:8]}"
        l2 = UpstashProvider(url=tiered_gateway.url, token=tiered_gateway.token)
        provider: Any = l2
        if tiered:
            provider = TieredProvider(
                l1=MemoryProvider(max_entries=1000),
                l2=l2,
                backplane=PollingBackplane(interval=0.25, namespace=namespace),
            )
        cache = Cache(provider, namespace=namespace, timeout=5.0)
        async with cache:
            for _ in range(3000):
                if not tiered or provider.l1_active():
                    break
                await asyncio.sleep(0.01)
            start = sum(l2.commands.values())
            latencies = await _workload(cache, random.Random(7), requests, keys)
            return sum(l2.commands.values()) - start, latencies

    try:
        plain_cmds, plain_lat = asyncio.run(run(False))
        tier_cmds, tier_lat = asyncio.run(run(True))
    finally:
        tiered_gateway.faults.clear()
    per_k = 1000 / requests
    saved = (plain_cmds - tier_cmds) * per_k
    figures = {
        "l2_commands_per_1000_without_l1": plain_cmds * per_k,
        "l2_commands_per_1000_with_l1": tier_cmds * per_k,
        "saved_per_1000": saved,
        "read_p50_ms_without_l1": statistics.median(plain_lat) * 1000,
        "read_p99_ms_without_l1": _pct(plain_lat, 0.99) * 1000,
        "read_p50_ms_with_l1": statistics.median(tier_lat) * 1000,
        "read_p99_ms_with_l1": _pct(tier_lat, 0.99) * 1000,
    }
    line = (
        "tiered savings (gateway, 2 ms emulated latency, polls included): L2 commands per 1,000 "
        f"requests {figures['l2_commands_per_1000_without_l1']:.0f} -> "
        f"{figures['l2_commands_per_1000_with_l1']:.0f} (saved {saved:.0f}); read p50 "
        f"{figures['read_p50_ms_without_l1']:.2f} -> {figures['read_p50_ms_with_l1']:.2f} ms, "
        f"p99 {figures['read_p99_ms_without_l1']:.2f} -> {figures['read_p99_ms_with_l1']:.2f} ms"
    )
    print(line)
    reliability_report.record("tiered_savings", figures, line)
    assert tier_cmds < plain_cmds, "an L1 with a hit-heavy workload must save L2 commands"
