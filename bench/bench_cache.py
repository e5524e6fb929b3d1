"""Cache(MemoryProvider) against cashews' mem:// backend and aiocache's SimpleMemoryCache.

Same process, same values, same number of operations; prints ops/s and ratios.
Run: ``python bench/bench_cache.py`` (or ``nox -s bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

VALUE = {"id": 1, "name": "Ada", "roles": ["admin", "dev"], "active": True}


async def _timed(op: Callable[[int], Awaitable[Any]], n: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for i in range(n):
        await op(i)
    return n / (time.perf_counter() - start)


async def bench_cachesim(n: int, keys: int) -> dict[str, float]:
    from cachesim import Cache
    from cachesim.providers import MemoryProvider

    cache = Cache(MemoryProvider(sweep_interval=None), namespace="bench", default_ttl=3600)
    for i in range(keys):
        await cache.set(f"k{i}", VALUE)

    async def get(i: int) -> Any:
        return await cache.get(f"k{i % keys}")

    async def set_(i: int) -> Any:
        return await cache.set(f"k{i % keys}", VALUE, ttl=60)

    return {"get_hit": await _timed(get, n), "set": await _timed(set_, n)}


async def bench_cashews(n: int, keys: int) -> dict[str, float]:
    from cashews import Cache as CashewsCache

    cache = CashewsCache()
    cache.setup("mem://")
    for i in range(keys):
        await cache.set(f"k{i}", VALUE, expire=3600)

    async def get(i: int) -> Any:
        return await cache.get(f"k{i % keys}")

    async def set_(i: int) -> Any:
        return await cache.set(f"k{i % keys}", VALUE, expire=60)

    result = {"get_hit": await _timed(get, n), "set": await _timed(set_, n)}
    await cache.close()
    return result


async def bench_aiocache(n: int, keys: int) -> dict[str, float]:
    from aiocache import SimpleMemoryCache

    cache = SimpleMemoryCache()
    for i in range(keys):
        await cache.set(f"k{i}", VALUE, ttl=3600)

    async def get(i: int) -> Any:
        return await cache.get(f"k{i % keys}")

    async def set_(i: int) -> Any:
        return await cache.set(f"k{i % keys}", VALUE, ttl=60)

    result = {"get_hit": await _timed(get, n), "set": await _timed(set_, n)}
    await cache.close()
    return result


async def bench_fresh_cachesim(n: int, keys: int) -> float:
    """get_or_set hits on fresh entries written with grace + eager refresh options."""
    from cachesim import Cache, EntryOptions
    from cachesim.providers import MemoryProvider

    options = EntryOptions(ttl=3600, grace=300, eager_refresh=0.8)
    cache = Cache(MemoryProvider(sweep_interval=None), namespace="bench", options=options)

    async def load() -> dict[str, Any]:
        return VALUE

    for i in range(keys):
        await cache.get_or_set(f"k{i}", load)

    async def hit(i: int) -> Any:
        return await cache.get_or_set(f"k{i % keys}", load)

    return await _timed(hit, n)


async def bench_fresh_cashews(n: int, keys: int) -> float:
    """Hits of a function decorated with cashews' ``early`` strategy (mem://)."""
    from cashews import Cache as CashewsCache

    cache = CashewsCache()
    cache.setup("mem://")

    @cache.early(ttl="1h", early_ttl="48m")
    async def load(i: int) -> dict[str, Any]:
        return VALUE

    for i in range(keys):
        await load(i)

    async def hit(i: int) -> Any:
        return await load(i % keys)

    result = await _timed(hit, n)
    await cache.close()
    return result


async def fresh_async(n: int, keys: int, rounds: int) -> dict[str, float]:
    """Median hit ops/s: cachesim get_or_set with grace/eager vs cashews ``early``."""
    samples: dict[str, list[float]] = {"cachesim": [], "cashews": []}
    for _ in range(rounds):
        samples["cachesim"].append(await bench_fresh_cachesim(n, keys))
        samples["cashews"].append(await bench_fresh_cashews(n, keys))
    return {name: statistics.median(values) for name, values in samples.items()}


PEERS: dict[str, Callable[[int, int], Awaitable[dict[str, float]]]] = {
    "cachesim": bench_cachesim,
    "cashews": bench_cashews,
    "aiocache": bench_aiocache,
}


async def main_async(n: int, keys: int, rounds: int) -> dict[str, dict[str, float]]:
    """Median ops/s per library and operation over ``rounds`` interleaved rounds."""
    samples: dict[str, dict[str, list[float]]] = {name: {} for name in PEERS}
    for _ in range(rounds):
        for name, bench in PEERS.items():
            for op, value in (await bench(n, keys)).items():
                samples[name].setdefault(op, []).append(value)
    return {
        name: {op: statistics.median(values) for op, values in ops.items()}
        for name, ops in samples.items()
    }


def main() -> None:
    """Print ops/s and cachesim's ratio to each peer."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=100_000, help="operations per measurement")
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(main_async(args.n, args.keys, args.rounds))
    ratios = {
        f"{op}_vs_{peer}": results["cachesim"][op] / results[peer][op]
        for peer in ("cashews", "aiocache")
        for op in ("get_hit", "set")
    }
    fresh = asyncio.run(fresh_async(args.n, args.keys, args.rounds))
    ratios["get_or_set_grace_eager_hit_vs_cashews_early_hit"] = fresh["cachesim"] / fresh["cashews"]
    if args.json:
        print(
            json.dumps(
                {"ops_per_second": results, "fresh_hit_ops_per_second": fresh, "ratios": ratios},
                indent=2,
            )
        )
        return
    print(f"{'library':<10} {'get-hit ops/s':>15} {'set ops/s':>15}")
    for name, ops in results.items():
        print(f"{name:<10} {ops['get_hit']:>15,.0f} {ops['set']:>15,.0f}")
    print(
        f"get_or_set hit with grace+eager: cachesim {fresh['cachesim']:,.0f} ops/s, "
        f"cashews early hit {fresh['cashews']:,.0f} ops/s"
    )
    for name, ratio in ratios.items():
        print(f"cachesim {name.replace('_vs_', ' vs ')}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
