"""CONC: many tasks on one cache: no lost writes, no torn values, usable after cancel."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass
from typing import Any

from cachesim import Cache
from cachesim.contract.context import ContractContext
from cachesim.contract.markers import clause, requires
from cachesim.providers.capabilities import Capability


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


_ABSENT = "<absent>"


@dataclass
class _Op:
    """One call of the history: what it did to which keys, and when (ticks)."""

    task: int
    kind: str
    writes: dict[str, str]  # key -> value written (``_ABSENT`` for a delete)
    reads: list[str]
    start: int
    end: int = -1
    seen: dict[str, str] | None = None  # key -> value read (``_ABSENT`` for a miss)


def _valid_values(history: list[_Op], key: str, start: int, end: int) -> set[str]:
    """Values ``key`` may hold for an observation made between ``start`` and ``end``.

    A write qualifies if it started before the observation ended and no other write
    of the key ran entirely between its end and the observation's start.
    """
    writes = [op for op in history if key in op.writes]
    initial = _Op(-1, "initial", {key: _ABSENT}, [], -2, -1)
    valid = set()
    for w in [initial, *writes]:
        if w.start >= end:
            continue
        overwritten = any(o.start > w.end and o.end < start for o in writes if o is not w)
        if not overwritten:
            valid.add(w.writes[key])
    return valid


@clause("CONC-5", "CONC-3")
async def test_concurrent_bulk_and_single_operations_are_serializable(
    ctx: ContractContext, cache: Cache
) -> None:
    keys = ["a", "b", "c", "d"]
    rng = random.Random(ctx.options.seed)
    ticks = itertools.count()
    history: list[_Op] = []

    async def one(task: int, step: int) -> None:
        kind = rng.choice(["set", "set_many", "delete", "delete_many", "get", "get_many"])
        chosen = rng.sample(keys, rng.randint(1, 3))
        value = f"t{task}.{step}"
        op = _Op(task, kind, {}, [], next(ticks))
        history.append(op)
        result: Any = None
        if kind == "set":
            op.writes = {chosen[0]: value}
            await cache.set(chosen[0], value)
        elif kind == "set_many":
            op.writes = dict.fromkeys(chosen, value)
            await cache.set_many(op.writes)
        elif kind == "delete":
            op.writes = {chosen[0]: _ABSENT}
            await cache.delete(chosen[0])
        elif kind == "delete_many":
            op.writes = dict.fromkeys(chosen, _ABSENT)
            await cache.delete_many(chosen)
        elif kind == "get":
            op.reads = chosen[:1]
            result = {chosen[0]: await cache.get(chosen[0], _ABSENT)}
        else:
            op.reads = chosen
            found = await cache.get_many(chosen)
            result = {k: found.get(k, _ABSENT) for k in chosen}
        op.end = next(ticks)
        op.seen = result

    async def worker(task: int) -> None:
        for step in range(12):
            await one(task, step)
            await asyncio.sleep(0)

    for _round in range(3):
        history.clear()
        await cache.delete_many(keys)
        await asyncio.gather(*(worker(t) for t in range(6)))
        problems = []
        for op in history:
            for key, got in (op.seen or {}).items():
                valid = _valid_values(history, key, op.start, op.end)
                if got not in valid:
                    problems.append(
                        f"{op.kind}({key!r}) by task {op.task} during ticks {op.start}-{op.end} "
                        f"read {got!r}; a serial order allows only {sorted(valid)}"
                    )
        final = await cache.get_many(keys)
        end = next(ticks)
        for key in keys:
            got = final.get(key, _ABSENT)
            valid = _valid_values(history, key, end, end + 1)
            if got not in valid:
                problems.append(
                    f"final state of {key!r} is {got!r}; some serial order of the calls "
                    f"must leave one of {sorted(valid)}"
                )
        assert not problems, (
            "concurrent single and bulk operations on overlapping keys left a state no serial "
            "order produces (a lost update or a late write):\n" + "\n".join(problems[:8])
        )


@clause("CONC-6", "CONC-5")
@requires(Capability.ATOMIC_BULK)
async def test_overlapping_bulk_operations_are_all_or_nothing(cache: Cache) -> None:
    """Every bulk write touches all of ``keys``, so in any serial order every key holds the
    same writer's value (or all are absent), in each read and at the end. Each round
    starts its calls after a random number of loop ticks, so the interleavings differ."""
    keys = ["a", "b", "c", "d"]
    rng = random.Random(6)
    problems: list[str] = []

    async def after(ticks: int, call: Any) -> Any:
        for _ in range(ticks):
            await asyncio.sleep(0)
        return await call

    for round_ in range(60):
        if rng.random() < 0.5:
            await cache.set_many(dict.fromkeys(keys, "initial"))
        else:
            await cache.delete_many(keys)
        calls: list[tuple[str, Any]] = []
        for writer in range(rng.randint(2, 3)):
            order = rng.sample(keys, len(keys))
            if rng.random() < 0.7:
                value = f"round {round_} writer {writer}"
                label = f"set_many({order}) of {value!r}"
                calls.append((label, cache.set_many(dict.fromkeys(order, value))))
            else:
                calls.append((f"delete_many({order})", cache.delete_many(order)))
        calls.append(("get_many", cache.get_many(rng.sample(keys, len(keys)))))
        results = await asyncio.gather(*(after(rng.randint(0, 2), call) for _, call in calls))
        labels = [label for label, _ in calls]
        final = await cache.get_many(keys)
        for what, seen in (("a concurrent get_many read", results[-1]), ("the end", final)):
            values = {seen.get(key, "<absent>") for key in keys}
            if len(values) != 1:
                problems.append(
                    f"round {round_}: {what} saw {dict(sorted(seen.items()))} after the calls "
                    f"{labels}; every serial order leaves all of {keys} with one writer's value "
                    "or all absent"
                )
    assert not problems, (
        "CONC-6 bulk writes are all or nothing (the provider declares ATOMIC_BULK): "
        "overlapping set_many/delete_many calls reached a state no serial order gives; fix: "
        "apply a batch without yielding to the event loop between keys (or in one "
        "transaction), or do not declare ATOMIC_BULK:\n" + "\n".join(problems[:6])
    )
