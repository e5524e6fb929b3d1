"""Fail-safe soak: a flaky origin and a backend that is killed and restarted.

Readers hammer a few keys through ``get_or_set`` with fail-safe options while the
origin fails 30 % of its calls and the real redis-server behind the cache is killed
(SIGKILL) and restarted empty, twice.  Every read must return a value that, when the
read started, was fresh or no more than ``fail_safe`` past its expiry; no exception
may escape.  Ages are judged from the origin's own timestamp in the value, taken
before the cache even saw it, so the check is conservative.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from typing import Any

import pytest

from cachesim import Cache, EntryOptions
from cachesim.gateway.redis_server import RedisServerNotFound, free_port, redis_server
from cachesim.providers import RedisProvider

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

TTL = 1.0
FAIL_SAFE = 4.0
THROTTLE = 0.25
KEYS = 5
READERS = 10
FAILURE_RATE = 0.30


class Origin:
    """A slow origin that fails FAILURE_RATE of its calls (seeded)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.calls = self.failures = 0

    def factory(self, key: str) -> Any:
        async def load() -> dict[str, Any]:
            self.calls += 1
            await asyncio.sleep(0.005)
            if self.rng.random() < FAILURE_RATE:
                self.failures += 1
                raise ConnectionError(f"origin failed for {key}")
            return {"key": key, "at": time.time()}

        return load


async def _soak(port: int, duration: float, outages: list[tuple[float, float]]) -> dict[str, Any]:
    options = EntryOptions(ttl=TTL, fail_safe=FAIL_SAFE, fail_safe_throttle=THROTTLE)
    url = f"redis://127.0.0.1:{port}/0"
    cache = Cache(
        RedisProvider.from_url(url, connect_timeout=0.2, socket_timeout=0.5),
        namespace="soak",
        timeout=0.5,
        breaker_reset=0.5,
        options=options,
    )
    origin = Origin(seed=14)
    figures = {"reads": 0, "fresh": 0, "stale": 0, "too_old": 0, "escaped": 0, "max_late": 0.0}
    escaped: list[str] = []
    keys = [f"k{i}" for i in range(KEYS)]
    async with cache:
        for key in keys:  # warm: a key nobody ever fetched has nothing to fall back on
            while True:
                try:
                    await cache.get_or_set(key, origin.factory(key))
                    break
                except ConnectionError:
                    continue
        start = time.monotonic()

        async def reader(n: int) -> None:
            i = n
            while time.monotonic() - start < duration:
                key = keys[i % KEYS]
                i += 1
                began = time.time()
                try:
                    value = await cache.get_or_set(key, origin.factory(key))
                except Exception as exc:
                    figures["escaped"] += 1
                    escaped.append(f"{type(exc).__name__}: {exc}")
                    continue
                figures["reads"] += 1
                late = began - (value["at"] + TTL)  # past expiry when the read began
                figures["max_late"] = max(figures["max_late"], late)
                if late <= 0:
                    figures["fresh"] += 1
                elif late < FAIL_SAFE:
                    figures["stale"] += 1
                else:
                    figures["too_old"] += 1
                await asyncio.sleep(0.005)

        async def chaos() -> None:
            for down_at, up_at in outages:
                await asyncio.sleep(max(0.0, down_at - (time.monotonic() - start)))
                await asyncio.to_thread(_kill_backend)
                await asyncio.sleep(max(0.0, up_at - (time.monotonic() - start)))
                await asyncio.to_thread(_start_backend, port)

        await asyncio.gather(chaos(), *(reader(n) for n in range(READERS)))
        counters = cache.freshness.counters()
    figures.update(
        origin_calls=origin.calls,
        origin_failures=origin.failures,
        backend_errors=cache.errors + cache.timeouts,
        short_circuited=cache.short_circuited,
        fail_safe_activations=counters["fail_safe_activations"],
        stale_served=counters["stale_served"],
        escaped_examples=escaped[:3],
    )
    return figures


_servers: list[Any] = []


def _kill_backend() -> None:
    server, _ = _servers[-1]
    os.kill(server.pid, signal.SIGKILL)


def _start_backend(port: int) -> None:
    manager = redis_server(port=port)
    _servers.append((manager.__enter__(), manager))


def test_fail_safe_soak_with_a_flaky_origin_and_a_restarting_backend(
    reliability_report: Any,
) -> None:
    port = free_port()
    try:
        _start_backend(port)
    except RedisServerNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no redis-server is available: {exc}")
        pytest.skip(str(exc))
    try:
        figures = asyncio.run(_soak(port, duration=12.0, outages=[(2.0, 4.5), (7.0, 9.0)]))
    finally:
        for _, manager in reversed(_servers):
            manager.__exit__(None, None, None)
        _servers.clear()
    line = (
        f"fail-safe soak: {figures['reads']} reads ({figures['fresh']} fresh, "
        f"{figures['stale']} stale <= {FAIL_SAFE} s past expiry, {figures['too_old']} older), "
        f"{figures['escaped']} escaped; origin {figures['origin_calls']} calls, "
        f"{figures['origin_failures']} failed; backend killed twice "
        f"({figures['backend_errors']} failed calls absorbed); fail-safe activations "
        f"{figures['fail_safe_activations']}; max lateness {figures['max_late']:.2f} s"
    )
    print("\n" + line)
    reliability_report.record("failsafe_soak", figures, line)
    assert figures["escaped"] == 0, f"exceptions escaped: {figures['escaped_examples']}"
    assert figures["too_old"] == 0, "a read returned a value older than the fail-safe maximum"
    assert figures["origin_failures"] > 0 and figures["backend_errors"] > 0, (
        "the soak must really have met origin failures and backend outages"
    )
    assert figures["fail_safe_activations"] > 0 and figures["stale"] > 0, (
        "fail-safe must have answered some reads with stale values"
    )
