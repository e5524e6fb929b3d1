"""CONC: many tasks on one cache: no lost writes, no torn values, usable after cancel."""

from __future__ import annotations

import asyncio
import random

from cachesim import Cache
from cachesim.contract.markers import clause


@clause("CONC-1")
async def test_concurrent_writes_to_distinct_keys_are_all_stored(cache: Cache) -> None:
    keys = [f"k{i}" for i in range(200)]
    results = await asyncio.gather(*(cache.set(k, {"key": k}) for k in keys))
    assert all(r is True for r in results)
    got = await cache.get_many(keys)
    lost = sorted(set(keys) - set(got))
    assert not lost, f"{len(lost)} concurrent writes were lost, e.g. {lost[:5]}"
    assert all(got[k] == {"key": k} for k in keys)


@clause("CONC-2")
async def test_readers_never_see_a_torn_value(cache: Cache) -> None:
    written = {f"{w}-{i}-" + chr(65 + w) * 20_000 for w in range(4) for i in range(8)}
    seen: list[object] = []

    async def writer(w: int) -> None:
        for i in range(8):
            await cache.set("shared", f"{w}-{i}-" + chr(65 + w) * 20_000)
            await asyncio.sleep(0)

    async def reader() -> None:
        for _ in range(20):
            seen.append(await cache.get("shared"))
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(w) for w in range(4)), *(reader() for _ in range(4)))
    torn = [v for v in seen if v is not None and v not in written]
    assert not torn, f"{len(torn)} reads returned a value nobody wrote: {str(torn[0])[:80]}"
    assert await cache.get("shared") in written


@clause("CONC-3")
async def test_bulk_reads_stay_aligned_under_concurrent_writes(cache: Cache) -> None:
    keys = [f"item:{i:02d}" for i in range(30)]
    rng = random.Random(11)
    problems: list[str] = []

    async def writer() -> None:
        for version in range(6):
            await cache.set_many({k: f"{k}|{version}" for k in keys})
            await asyncio.sleep(0)

    async def deleter() -> None:
        for _ in range(6):
            await cache.delete(rng.choice(keys))
            await asyncio.sleep(0)

    async def reader() -> None:
        for _ in range(8):
            asked = keys[:]
            rng.shuffle(asked)
            for key, value in (await cache.get_many(asked)).items():
                if not (isinstance(value, str) and value.startswith(key + "|")):
                    problems.append(f"{key} -> {value!r}")
            await asyncio.sleep(0)

    await asyncio.gather(writer(), deleter(), reader(), reader())
    assert not problems, f"get_many returned values of other keys: {problems[:5]}"


@clause("CONC-4")
async def test_cancelled_operations_end_and_leave_the_cache_usable(cache: Cache) -> None:
    await cache.set_many({f"k{i}": i for i in range(20)})
    stop = False

    async def busy(i: int) -> None:
        while not stop:
            await cache.set(f"k{i % 20}", i)
            await cache.get(f"k{(i + 7) % 20}")
            await cache.get_many([f"k{j}" for j in range(i % 5, 20, 3)])
            await cache.set_many({f"b{i}": i, f"c{i}": i})
            await asyncio.sleep(0)  # in-process providers never yield on their own

    tasks = [asyncio.ensure_future(busy(i)) for i in range(30)]
    await asyncio.sleep(0.02)
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=5)
    stop = True
    results = await asyncio.gather(*tasks, return_exceptions=True)
    kept_running = [r for r in results if not isinstance(r, asyncio.CancelledError)]
    assert not kept_running, (
        f"{len(kept_running)} of {len(tasks)} cancelled tasks kept running: an operation "
        f"swallowed the cancellation ({kept_running[0]!r})"
    )
    assert await cache.set("after", {"ok": True}) is True
    assert await cache.get("after") == {"ok": True}
    assert await cache.get_many(["after"]) == {"after": {"ok": True}}
    assert await cache.delete("after") is True
