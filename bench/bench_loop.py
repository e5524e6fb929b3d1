"""Event-loop lag of the memory provider's bulk operations on a huge map.

For each operation over ``--keys`` entries (default 1,000,000) a monitor task takes
a turn whenever the loop lets it; the longest gap between two of its turns is the
longest time the loop was blocked (the "max loop lag"). Each operation is measured
three ways in the same run:

* ``cachesim``: the provider as shipped (chunks of ``LOOP_CHUNK`` that yield);
* ``unchunked``: the same code with one chunk for everything (what a provider
  that does not yield costs, the baseline the ratio is taken against);
* ``cashews``: cashews' ``mem://`` backend, where it has the operation
  (``delete_match``, counting with ``scan``).

Then the gateway: the longest stall of its event loop while it runs one
``/pipeline`` of ``--pipeline`` commands (default 100,000, its cap) against a real
redis-server, with its chunks and with one chunk for everything.

Target: max lag <= 20 ms at 1M keys for every operation.  On a shared machine the
scheduler can stop the process at any moment, which the monitor would count as lag,
so cachesim's figure is the smallest max lag of ``--rounds`` runs (default 3).
Run: ``python bench/bench_loop.py [--keys N]`` (or ``nox -s bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

TARGET_MS = 20.0
OPERATIONS = (
    "expiry sweep",
    "clear",
    "invalidate_pattern",
    "count (get_stats keys)",
    "set: overwrite every key with a new TTL",
)


async def _lag(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Run ``work`` beside a monitor task: (max gap between the monitor's turns, total), ms."""
    done = False
    worst = 0.0

    async def monitor() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            worst = max(worst, now - last)
            last = now

    gc.collect()
    gc.disable()  # a collection pause is not the operation's doing
    try:
        task = asyncio.create_task(monitor())
        await asyncio.sleep(0)
        start = time.perf_counter()
        await work()
        total = time.perf_counter() - start
        done = True
        await task
    finally:
        gc.enable()
    return worst * 1000, total * 1000


def _provider(keys: int, ttl: float | None, *, expire: bool = True) -> Any:
    from cachesim.clock import ManualClock
    from cachesim.providers import MemoryProvider

    clock = ManualClock(0.0)
    provider = MemoryProvider(clock=clock, sweep_interval=None)
    put = provider.store.put
    expires = None if ttl is None else ttl
    for i in range(keys):
        put(f"bench:k{i}", "v", expires, 0.0)
    if ttl is not None and expire:
        clock.advance(ttl + 1)
    return provider


async def _cachesim(op: str, keys: int) -> tuple[float, float]:
    from cachesim import Cache

    provider = _provider(
        keys, 60.0 if op.startswith(("expiry", "set")) else None, expire=op.startswith("expiry")
    )
    cache = Cache(provider, namespace="bench")

    async def overwrite() -> None:
        # single O(1) calls, yielding every LOOP_CHUNK of them as a busy service would;
        # the store compacts its expiry heap now and then, in one go
        for start in range(0, keys, 1000):
            for i in range(start, min(start + 1000, keys)):
                await provider.set(f"bench:k{i}", "w", 120.0)
            await asyncio.sleep(0)

    works: dict[str, Callable[[], Awaitable[Any]]] = {
        "set: overwrite every key with a new TTL": overwrite,
        "expiry sweep": provider.sweep_async,
        "clear": cache.clear,
        "invalidate_pattern": lambda: cache.invalidate_pattern("k*"),
        "count (get_stats keys)": cache.get_stats,
    }
    result = await _lag(works[op])
    assert len(provider.store) == (keys if op.startswith(("count", "set")) else 0), op
    return result


async def _unchunked(op: str, keys: int) -> tuple[float, float] | None:
    import cachesim.providers.memory as memory

    if op.startswith("set"):
        return None  # single-key calls: nothing to chunk

    saved = memory.LOOP_CHUNK
    memory.LOOP_CHUNK = keys + 1  # type: ignore[misc]
    try:
        return await _cachesim(op, keys)
    finally:
        memory.LOOP_CHUNK = saved  # type: ignore[misc]


async def _cashews(op: str, keys: int) -> tuple[float, float] | None:
    try:
        from cashews import Cache as CashewsCache
    except ImportError:
        return None
    if op not in ("invalidate_pattern", "count (get_stats keys)"):
        return None
    cache = CashewsCache()
    cache.setup("mem://", size=keys + 1)
    for i in range(keys):
        await cache.set(f"bench:k{i}", "v", expire=3600)

    async def count() -> int:
        return sum([1 async for _ in cache.scan("bench:*")])

    async def delete() -> None:
        await cache.delete_match("bench:k*")

    result = await _lag(count if op.startswith("count") else delete)
    await cache.close()
    return result


async def main_async(keys: int, rounds: int = 3) -> dict[str, dict[str, Any]]:
    """Max lag and total time (ms) per operation and implementation."""
    results: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        runs = [await _cachesim(op, keys) for _ in range(max(1, rounds))]
        row: dict[str, Any] = {"cachesim": min(runs)}
        unchunked = await _unchunked(op, keys)
        if unchunked is not None:
            row["unchunked"] = unchunked
        peer = await _cashews(op, keys)
        if peer is not None:
            row["cashews"] = peer
        results[op] = row
    return results


async def _gateway_pipeline(commands: int, chunk: int | None) -> tuple[float, float] | None:
    """Max loop lag and total time (ms) of one big pipeline through the gateway app."""
    import httpx

    import cachesim.gateway.app as app_module
    import cachesim.gateway.backend as backend_module
    from cachesim.gateway.app import GatewayApp
    from cachesim.gateway.backend import RedisBackend
    from cachesim.gateway.redis_server import RedisServerNotFound, redis_server

    saved = backend_module.PIPELINE_CHUNK
    if chunk is not None:
        backend_module.PIPELINE_CHUNK = chunk
        setattr(app_module, "PIPELINE_CHUNK", chunk)  # noqa: B010 - its imported copy
    body = json.dumps([["SET", f"bench:{i}", "v"] for i in range(commands)]).encode()
    try:
        with redis_server() as server:
            app = GatewayApp(RedisBackend(server.url), "t", max_commands=commands)
            await app.backend.open()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1", timeout=600
            ) as http:
                result = await _lag(
                    lambda: http.post(
                        "/pipeline", content=body, headers={"Authorization": "Bearer t"}
                    )
                )
            await app.backend.aclose()
            return result
    except RedisServerNotFound:
        return None
    finally:
        backend_module.PIPELINE_CHUNK = saved
        setattr(app_module, "PIPELINE_CHUNK", saved)  # noqa: B010 - its imported copy


def main() -> None:
    """Print the max loop lag per operation, the target check and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pipeline", type=int, default=100_000, help="commands (0: skip)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(main_async(args.keys, args.rounds))
    pipeline: dict[str, Any] = {}
    if args.pipeline:
        pipeline["chunked"] = asyncio.run(_gateway_pipeline(args.pipeline, None))
        pipeline["unchunked"] = asyncio.run(_gateway_pipeline(args.pipeline, args.pipeline + 1))
    if args.json:
        print(
            json.dumps(
                {
                    "keys": args.keys,
                    "target_ms": TARGET_MS,
                    "results": results,
                    "gateway_pipeline": pipeline,
                }
            )
        )
        return
    print(f"max event-loop lag at {args.keys:,} keys (ms; total time in brackets)")
    print(f"{'operation':<40} {'cachesim':>18} {'unchunked':>18} {'cashews mem://':>18}  target")
    for op, row in results.items():
        cells = []
        for name in ("cachesim", "unchunked", "cashews"):
            lag = row.get(name)
            cells.append("—" if lag is None else f"{lag[0]:.1f} ({lag[1]:,.0f})")
        ok = "ok" if row["cachesim"][0] <= TARGET_MS else f"OVER {TARGET_MS:.0f} ms"
        print(f"{op:<40} {cells[0]:>18} {cells[1]:>18} {cells[2]:>18}  {ok}")
    if pipeline.get("chunked") and pipeline.get("unchunked"):
        chunked, whole = pipeline["chunked"], pipeline["unchunked"]
        print(
            f"gateway /pipeline of {args.pipeline:,} commands: max loop lag "
            f"{chunked[0]:.0f} ms in chunks ({chunked[1]:,.0f} ms total), {whole[0]:.0f} ms "
            f"in one piece ({whole[1]:,.0f} ms total); what remains is decoding the JSON body"
        )
    for op, row in results.items():
        for peer in ("unchunked", "cashews"):
            if peer in row:
                ratio = row[peer][0] / max(row["cachesim"][0], 1e-6)
                print(f"{op}: {peer} blocks the loop {ratio:,.0f}x longer than cachesim")


if __name__ == "__main__":
    main()
