"""One process of the tiered-cache reliability runs (started by test_tiered_processes.py).

    python tiered_worker.py CONFIG.json OUT.json

``CONFIG`` says which L2/backplane to build (``redis`` pub/sub on a redis-server or
``gateway``: Upstash client + polled log), this worker's ``index`` and the ``mode``:

* ``propagation``: worker 0 writes ``count`` keys; the others record the
  ``time.monotonic()`` at which each key's change reached their L1 (CLOCK_MONOTONIC
  is shared by every process on one host).
* ``soak``: every worker reads and writes a small key space for ``seconds``,
  logging each operation's value version and start/end times for the checker.

Every exception that reaches this code is counted as escaped (the cache promises none).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from cachesim import Cache
from cachesim.backplane import Change, PollingBackplane, RedisBackplane
from cachesim.providers import MemoryProvider, RedisProvider, TieredProvider, UpstashProvider


def build(config: dict[str, Any]) -> TieredProvider:
    """The tiered provider the config describes."""
    if config["backend"] == "redis":
        url = config["redis_url"]
        return TieredProvider(
            l1=MemoryProvider(max_entries=1000),
            l2=RedisProvider.from_url(url),
            backplane=RedisBackplane(url, namespace=config["namespace"], heartbeat=0.05),
            staleness_bound=config["bound"],
        )
    return TieredProvider(
        l1=MemoryProvider(max_entries=1000),
        l2=UpstashProvider(url=config["url"], token=config["token"]),
        backplane=PollingBackplane(interval=config["interval"], namespace=config["namespace"]),
        staleness_bound=config["bound"],
    )


async def _barrier(cache: Cache, config: dict[str, Any], name: str) -> None:
    """Wait until every worker reached ``name`` (a counter key in L2)."""
    provider = cache.provider
    assert isinstance(provider, TieredProvider)
    key = f"{config['namespace']}-barrier:{name}"
    client = provider.l2.client  # type: ignore[attr-defined]
    await client.incr(key)
    while True:
        raw = await client.get(key)
        if int(raw or 0) >= config["workers"]:
            return
        await asyncio.sleep(0.02)


async def _until_usable(provider: TieredProvider) -> None:
    for _ in range(3000):
        if provider.l1_active():
            return
        await asyncio.sleep(0.01)
    raise RuntimeError("the backplane never came up")


async def propagation(config: dict[str, Any]) -> dict[str, Any]:
    """Worker 0 writes; the others time when each change reaches them."""
    provider = build(config)
    received: dict[str, float] = {}
    apply = provider._on_change

    def timed(change: Change) -> None:
        apply(change)
        stamp = time.monotonic()
        for key in change.keys:
            received.setdefault(key, stamp)

    provider._on_change = timed  # type: ignore[method-assign]
    cache = Cache(provider, namespace=config["namespace"], timeout=5.0)
    written: dict[str, float] = {}
    async with cache:
        await _until_usable(provider)
        await _barrier(cache, config, "ready")
        if config["index"] == 0:
            for i in range(config["count"]):
                key = f"p{i}"
                written[f"{config['namespace']}:{key}"] = time.monotonic()
                await cache.set(key, i)
                await asyncio.sleep(config["gap"])
        else:
            for _ in range(2400):  # two minutes at most
                if len(received) >= config["count"]:
                    break
                await asyncio.sleep(0.05)
        await _barrier(cache, config, "done")
    return {"written": written, "received": received}


async def soak(config: dict[str, Any]) -> dict[str, Any]:
    """Concurrent reads and writes; returns the operation log."""
    rng = random.Random(config["index"])
    provider = build(config)
    cache = Cache(provider, namespace=config["namespace"], timeout=2.0, breaker_reset=0.5)
    keys = [f"k{i}" for i in range(config["keys"])]
    writes: list[list[Any]] = []
    reads: list[list[Any]] = []
    escaped: list[str] = []
    counter = 0

    async def client(worker: int) -> None:
        nonlocal counter
        end = time.monotonic() + config["seconds"]
        while time.monotonic() < end:
            key = rng.choice(keys)
            try:
                if rng.random() < config["write_ratio"]:
                    counter += 1
                    version = f"{config['index']}.{counter}"
                    start = time.monotonic()
                    ok = await cache.set(key, version)
                    writes.append([key, version, start, time.monotonic(), ok])
                else:
                    start = time.monotonic()
                    value = await cache.get(key)
                    reads.append([key, value, start, time.monotonic()])
            except Exception as exc:  # the cache must never let one out
                escaped.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(rng.uniform(0, 0.004))

    async with cache:
        await _until_usable(provider)
        await _barrier(cache, config, "soak-ready")
        await asyncio.gather(*(client(i) for i in range(config["tasks"])))
        stats = await cache.get_stats(count_keys=False)
        await _barrier(cache, config, "soak-done")
    figures = {
        k: v
        for k, v in stats.provider_stats.items()
        if k.startswith(("l1_", "l2_", "backplane_")) and isinstance(v, int)
    }
    figures.update(
        cache_errors=stats.errors,
        cache_timeouts=stats.timeouts,
        cache_short_circuited=stats.short_circuited,
        misses=stats.misses,
    )
    return {"writes": writes, "reads": reads, "escaped": escaped, "stats": figures}


def main() -> None:
    """Run the configured mode; write the result as JSON."""
    config = json.loads(Path(sys.argv[1]).read_text())
    run = propagation if config["mode"] == "propagation" else soak
    result = asyncio.run(run(config))
    Path(sys.argv[2]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
