"""A model of what a fail-open cache may return, and a seeded mixed workload checked against it.

The model tracks, per key, the set of states the backend may be in (``allowed``:
values or MISSING).  An acknowledged write or delete collapses it to one state;
a failed one (``Cache.set`` returned False, a delete or invalidation that
errored or timed out) only *adds* its outcome, because the command may or may
not have run.  A successful read collapses it to what was read.  When a timed-out
request may still execute later (over HTTP the server keeps going after the
client gives up), its outcome also goes to ``late``, which stays possible from
then on.

A read is **wrong** when it returns a value outside ``allowed | late`` (a value
never written to that key, or one that an acknowledged write replaced), and
**lost** when a read that did reach the backend finds nothing although every
possible state holds a value.  Reads that failed (the cache turned a backend
error into a miss) are not checked.  Whether a call failed is read from the
cache's own counters (``errors + timeouts + short_circuited``), which is exact
because each worker runs its operations one at a time on its own ``Cache``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cachesim import Cache


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

State = str | _Missing


def canon(value: Any) -> str:
    """Hashable canonical form of a cached value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass
class KeyState:
    """What one key may hold now, and what may still appear later."""

    allowed: set[State] = field(default_factory=lambda: {MISSING})
    late: set[State] = field(default_factory=set)

    @property
    def possible(self) -> set[State]:
        return self.allowed | self.late


@dataclass
class Model:
    """Per-key possible states of one namespace, with verdict counters."""

    late_on_timeout: bool
    keys: dict[str, KeyState] = field(default_factory=dict)
    wrong: int = 0
    lost: int = 0
    bad_counts: int = 0
    violations: int = 0
    checked_reads: int = 0
    examples: list[str] = field(default_factory=list)

    def check(self, condition: bool, text: str) -> None:
        """Count a broken promise of the cache's API (not a wrong value, not an exception)."""
        if not condition:
            self.violations += 1
            self._note(text)

    def state(self, key: str) -> KeyState:
        found = self.keys.get(key)
        if found is None:
            found = self.keys[key] = KeyState()
        return found

    def _note(self, text: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(text)

    # -- writes -------------------------------------------------------------------
    def written(self, key: str, value: State, *, acked: bool, timed_out: bool) -> None:
        """A set (value) or delete (MISSING) whose outcome is ``acked`` or unknown."""
        state = self.state(key)
        if acked:
            state.allowed = {value}
            return
        state.allowed.add(value)
        if timed_out and self.late_on_timeout:
            state.late.add(value)

    # -- reads --------------------------------------------------------------------
    def read(self, key: str, value: State, *, op: str) -> None:
        """A read that reached the backend returned ``value`` (MISSING = nothing)."""
        self.checked_reads += 1
        state = self.state(key)
        possible = state.possible
        if value not in possible:
            if value is MISSING:
                self.lost += 1
                self._note(
                    f"{op} {key}: miss, but it must hold one of {sorted(map(str, possible))}"
                )
            else:
                self.wrong += 1
                self._note(f"{op} {key}: got {value}, allowed {sorted(map(str, possible))}")
        state.allowed = {value}

    def exists(self, key: str, present: bool, *, op: str) -> None:
        """``has``/``delete`` told whether a live entry existed."""
        self.checked_reads += 1
        state = self.state(key)
        values = {s for s in state.possible if s is not MISSING}
        if present and not values:
            self.wrong += 1
            self._note(f"{op} {key}: reported present, but nothing can be stored there")
        elif not present and MISSING not in state.possible:
            self.lost += 1
            self._note(f"{op} {key}: reported absent, but it must hold a value")
        state.allowed = values if present else {MISSING}

    def count(self, keys: Sequence[str], reported: int, *, op: str) -> None:
        """A count of live keys among ``keys`` must lie between the sure and possible counts."""
        low = sum(1 for k in keys if MISSING not in self.state(k).possible)
        high = sum(1 for k in keys if any(s is not MISSING for s in self.state(k).possible))
        if not low <= reported <= high:
            self.bad_counts += 1
            self._note(f"{op}: reported {reported} keys, possible range [{low}, {high}]")


@dataclass
class SoakReport:
    """Figures of one soak run."""

    name: str
    ops: int = 0
    seconds: float = 0.0
    faults_injected: dict[str, int] = field(default_factory=dict)
    wrong_values: int = 0
    lost_writes: int = 0
    bad_counts: int = 0
    violations: int = 0
    escaped_exceptions: int = 0
    checked_reads: int = 0
    failed_calls: int = 0
    ops_by_name: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list, repr=False)
    examples: list[str] = field(default_factory=list)
    seed: int = 0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (latencies in milliseconds)."""
        return {
            "ops": self.ops,
            "seconds": round(self.seconds, 2),
            "faults_injected": sum(self.faults_injected.values()),
            "faults_by_kind": dict(sorted(self.faults_injected.items())),
            "failed_calls_seen_by_cache": self.failed_calls,
            "checked_reads": self.checked_reads,
            "wrong_values": self.wrong_values,
            "lost_writes": self.lost_writes,
            "bad_counts": self.bad_counts,
            "api_violations": self.violations,
            "escaped_exceptions": self.escaped_exceptions,
            "latency_ms": {
                "p50": round(self.percentile(0.50) * 1000, 2),
                "p99": round(self.percentile(0.99) * 1000, 2),
                "max": round(max(self.latencies, default=0.0) * 1000, 2),
            },
            "ops_by_name": dict(sorted(self.ops_by_name.items())),
            "seed": self.seed,
            "examples": self.examples[:5],
        }

    def line(self) -> str:
        """One summary line for the terminal."""
        s = self.summary()
        return (
            f"{self.name}: {s['ops']} ops in {s['seconds']} s, {s['faults_injected']} faults "
            f"injected, {s['wrong_values']} wrong values, {s['lost_writes']} lost writes, "
            f"{s['bad_counts']} bad counts, {s['api_violations']} API violations, "
            f"{s['escaped_exceptions']} escaped exceptions, "
            f"p99 {s['latency_ms']['p99']} ms (max {s['latency_ms']['max']} ms)"
        )


#: Operation mix (weights).
MIX: Final[dict[str, int]] = {
    "get": 30,
    "set": 22,
    "has": 6,
    "delete": 7,
    "get_many": 8,
    "set_many": 5,
    "delete_many": 3,
    "get_or_set": 12,
    "invalidate_pattern": 2,
    "clear": 1,
    "get_stats": 2,
    "initialize": 2,
}


async def run_worker(
    cache: Cache,
    report: SoakReport,
    *,
    ops: int,
    seed: int,
    key_count: int = 40,
    late_on_timeout: bool,
) -> Model:
    """Run ``ops`` seeded random operations on ``cache`` and check every answer."""
    rng = random.Random(seed)
    model = Model(late_on_timeout=late_on_timeout)
    keys = [f"k{i}" for i in range(key_count)]
    names = list(MIX)
    weights = list(MIX.values())
    serial = 0

    def fresh(key: str) -> dict[str, Any]:
        nonlocal serial
        serial += 1
        return {"key": key, "seed": seed, "n": serial}

    def failures() -> tuple[int, int]:
        return cache.errors + cache.timeouts + cache.short_circuited, cache.timeouts

    for _ in range(ops):
        op = rng.choices(names, weights)[0]
        before, timeouts_before = failures()
        sets_before = cache.sets
        started = time.perf_counter()
        try:
            await _step(
                cache, model, rng, op, keys, fresh, before, timeouts_before, failures, sets_before
            )
        except Exception as exc:  # any exception escaping the cache is a failure of the cache
            report.escaped_exceptions += 1
            if len(report.examples) < 20:
                report.examples.append(f"{op} raised {type(exc).__name__}: {exc}")
        report.latencies.append(time.perf_counter() - started)
        report.ops += 1
        report.ops_by_name[op] = report.ops_by_name.get(op, 0) + 1
    report.wrong_values += model.wrong
    report.lost_writes += model.lost
    report.bad_counts += model.bad_counts
    report.violations += model.violations
    report.checked_reads += model.checked_reads
    report.failed_calls += cache.errors + cache.timeouts + cache.short_circuited
    report.examples.extend(model.examples[: 20 - len(report.examples)])
    return model


async def _step(
    cache: Cache,
    model: Model,
    rng: random.Random,
    op: str,
    keys: list[str],
    fresh: Callable[[str], dict[str, Any]],
    before: int,
    timeouts_before: int,
    failures: Callable[[], tuple[int, int]],
    sets_before: int,
) -> None:
    def outcome() -> tuple[bool, bool]:
        after, timeouts_after = failures()
        return after > before, timeouts_after > timeouts_before

    if op == "get":
        key = rng.choice(keys)
        got = await cache.get(key, default=MISSING)
        failed, _ = outcome()
        if not failed:
            model.read(key, MISSING if got is MISSING else canon(got), op=op)
    elif op == "set":
        key = rng.choice(keys)
        value = fresh(key)
        ok = await cache.set(key, value)
        failed, timed_out = outcome()
        model.check(ok is not failed, "Cache.set must return False exactly when the write failed")
        model.written(key, canon(value), acked=ok, timed_out=timed_out)
    elif op == "has":
        key = rng.choice(keys)
        present = await cache.has(key)
        failed, _ = outcome()
        if not failed:
            model.exists(key, present, op=op)
    elif op == "delete":
        key = rng.choice(keys)
        existed = await cache.delete(key)
        failed, timed_out = outcome()
        if failed:
            model.written(key, MISSING, acked=False, timed_out=timed_out)
        else:
            model.exists(key, existed, op=op)
            model.written(key, MISSING, acked=True, timed_out=False)
    elif op == "get_many":
        chosen = rng.sample(keys, rng.randint(1, 6))
        found = await cache.get_many(chosen)
        failed, _ = outcome()
        if not failed:
            for key in chosen:
                model.read(key, canon(found[key]) if key in found else MISSING, op=op)
    elif op == "set_many":
        chosen = rng.sample(keys, rng.randint(1, 5))
        values = {key: fresh(key) for key in chosen}
        ok = await cache.set_many(values)
        failed, timed_out = outcome()
        model.check(ok is not failed, "set_many must return False exactly when the write failed")
        for key, value in values.items():
            model.written(key, canon(value), acked=ok, timed_out=timed_out)
    elif op == "get_or_set":
        key = rng.choice(keys)
        made: list[dict[str, Any]] = []

        def factory() -> dict[str, Any]:
            made.append(fresh(key))
            return made[-1]

        got = await cache.get_or_set(key, factory)
        after, timeouts_after = failures()
        failed_calls = after - before
        if not made:  # a hit: the read reached the backend
            model.check(failed_calls == 0, "get_or_set hit although a call failed")
            model.read(key, canon(got), op=op)
            return
        model.check(got == made[0], "get_or_set must return the factory's value on a miss")
        fill_acked = cache.sets > sets_before
        # Without an acknowledged fill, the one failed call was either the read (then no
        # fill is attempted) or the fill: the read's outcome is unknown, so only an
        # acknowledged fill proves the read really missed.
        if fill_acked and failed_calls == 0:
            model.read(key, MISSING, op=op)
        model.written(
            key, canon(made[0]), acked=fill_acked, timed_out=timeouts_after > timeouts_before
        )
    elif op in ("delete_many", "invalidate_pattern", "clear"):
        if op == "delete_many":
            chosen = rng.sample(keys, rng.randint(1, 5))
            removed = await cache.delete_many(chosen)
        elif op == "clear":
            chosen = list(keys)
            removed = await cache.clear()
        else:
            pattern = f"k{rng.randrange(10)}*"
            chosen = [k for k in keys if fnmatch.fnmatchcase(k, pattern)]
            removed = await cache.invalidate_pattern(pattern)
        failed, timed_out = outcome()
        if not failed:
            model.count(chosen, removed, op=op)
        for key in chosen:
            model.written(key, MISSING, acked=not failed, timed_out=timed_out)
    elif op == "get_stats":
        stats = await cache.get_stats()
        failed, _ = outcome()
        if not failed:
            model.check(stats.keys is not None, "get_stats counted no keys although count worked")
            model.count(keys, stats.keys or 0, op=op)
    elif op == "initialize":
        await cache.initialize()
    else:  # pragma: no cover - MIX and this function must agree
        raise AssertionError(op)


async def soak(
    caches: Sequence[Cache],
    report: SoakReport,
    *,
    ops: int,
    seed: int,
    late_on_timeout: bool,
    key_count: int = 40,
) -> list[Model]:
    """Run ``ops`` operations spread over one concurrent worker per cache."""
    report.seed = seed
    share, extra = divmod(ops, len(caches))
    started = time.perf_counter()
    models = await asyncio.gather(
        *(
            run_worker(
                cache,
                report,
                ops=share + (1 if i < extra else 0),
                seed=seed * 1000 + i,
                key_count=key_count,
                late_on_timeout=late_on_timeout,
            )
            for i, cache in enumerate(caches)
        )
    )
    report.seconds = time.perf_counter() - started
    return list(models)


def merge_counts(counters: Sequence[Counter[str] | dict[str, int]]) -> dict[str, int]:
    """Sum several fault counters (latency excluded: it is not a fault)."""
    total: Counter[str] = Counter()
    for counter in counters:
        total.update({k: v for k, v in counter.items() if k != "latency"})
    return dict(total)
