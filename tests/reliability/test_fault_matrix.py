"""Every gateway fault x every Cache operation, through UpstashProvider and real HTTP.

For each pair: no exception escapes, the fail-open answer is returned, and the
failure is counted in ``get_stats()`` as what it was (an error, or the cache's
timeout firing).  No fixed wall-clock bound: an operation must end within its
timeouts plus a slack calibrated in the same run (a multiple of the same
operation's fault-free time, so a busy machine stretches both), and before the
injected delay would have let the backend answer (the call was cut, not waited
for).  Then the circuit breaker opens, skips the backend (no request reaches the
gateway), and recovers once an injected clock moves past ``breaker_reset``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from cachesim import Cache
from cachesim.breaker import BreakerState
from cachesim.clock import ManualClock
from cachesim.gateway.faults import Latency
from cachesim.gateway.server import Gateway

TIMEOUT = 0.2
SLACK = 0.05  # the least slack; the calibrated slack grows with the machine's load
CALIBRATION_FACTOR = 4.0
WITHIN = 0.03  # an injected latency well within the timeout


@dataclass(frozen=True)
class Fault:
    """A fault at rate 1.0 and what the cache must make of it."""

    name: str
    settings: dict[str, Any]
    outcome: str  # "ok", "error", "timeout" or "either"
    delay: float | None = None  # when the backend would answer at the earliest, if delayed


FAULTS = [
    Fault("latency_within_timeout", {"latency": Latency.fixed(WITHIN)}, "ok"),
    Fault("latency_past_timeout", {"latency": Latency.fixed(0.6)}, "timeout", delay=0.6),
    Fault("latency_lognormal", {"latency": Latency.lognormal(0.2, 0.6, cap=0.8)}, "either"),
    Fault("http_500", {"error": 1.0}, "error"),
    Fault("http_401", {"unauthorized": 1.0}, "error"),
    Fault("hang", {"hang": 1.0}, "timeout", delay=30.0),
    Fault("dropped_connection", {"drop": 1.0}, "error"),
    Fault("dropped_after_command", {"drop_after": 1.0}, "error"),
    Fault("malformed_json", {"malformed": 1.0}, "error"),
]
FAILING = [f for f in FAULTS if f.outcome in ("error", "timeout")]

SEEDED = {"a": 1, "b": {"two": 2}, "user:1": "one", "user:2": "two"}


@dataclass(frozen=True)
class Op:
    """A Cache operation, its answer when the backend works and when it fails."""

    name: str
    run: Callable[[Cache], Awaitable[Any]]
    ok: Any
    failed: Any
    calls: int = 1  # provider calls it makes when every call fails


def _factory() -> str:
    return "from the factory"


async def _stats_keys(cache: Cache) -> int | None:
    return (await cache.get_stats()).keys


OPS = [
    Op("get", lambda c: c.get("a"), 1, None),
    Op("set", lambda c: c.set("new", [1, 2]), True, False),
    Op("has", lambda c: c.has("a"), True, False),
    Op("delete", lambda c: c.delete("a"), True, False),
    Op("get_many", lambda c: c.get_many(["a", "b", "x"]), {"a": 1, "b": {"two": 2}}, {}),
    Op("set_many", lambda c: c.set_many({"x": 1, "y": 2}), True, False),
    Op("delete_many", lambda c: c.delete_many(["a", "b", "x"]), 2, 0),
    Op(
        "get_or_set",
        lambda c: c.get_or_set("absent", _factory),
        "from the factory",
        "from the factory",
        calls=2,
    ),
    Op("invalidate_pattern", lambda c: c.invalidate_pattern("user:*"), 2, 0),
    Op("clear", lambda c: c.clear(), 4, 0),
    Op("get_stats", _stats_keys, 4, None),
    Op("initialize", lambda c: c.initialize(), None, None),
]


def _cache(gateway: Gateway, **options: Any) -> Cache:
    options.setdefault("timeout", TIMEOUT)
    options.setdefault("bulk_timeout", TIMEOUT)
    options.setdefault("breaker_threshold", 1000)  # the matrix looks at one call at a time
    return Cache(gateway.provider(), namespace=f"m{uuid.uuid4().hex[:10]}", **options)


@pytest.fixture(scope="module")
def matrix_figures(reliability_report: Any) -> Iterator[dict[str, Any]]:
    """Slowest answer per (fault, operation), reported at the end of the module."""
    figures: dict[str, Any] = {"timeout_s": TIMEOUT, "slack_s": SLACK, "cases": 0, "elapsed_ms": {}}
    yield figures
    if figures["cases"] and any(k.endswith("/get_or_set") for k in figures["elapsed_ms"]):
        elapsed = figures["elapsed_ms"]
        single = max(v for k, v in elapsed.items() if not k.endswith("/get_or_set"))
        double = max(v for k, v in elapsed.items() if k.endswith("/get_or_set"))
        figures["slowest_single_call_op_ms"] = single
        figures["slowest_get_or_set_ms"] = double
        line = (
            f"fault matrix: {figures['cases']} fault x operation cases passed, 0 escaped "
            f"exceptions; slowest answer {single} ms (get_or_set: {double} ms) "
            f"with a {TIMEOUT * 1000:.0f} ms timeout"
        )
        reliability_report.record("fault_matrix", figures, line)


@pytest.fixture(scope="module")
def baseline_s() -> dict[str, float]:
    """Slowest fault-free time per operation seen in this run (filled as the matrix runs)."""
    return {}


async def calibrate(gateway: Gateway, op: Op, baseline_s: dict[str, float]) -> float:
    """The slack for ``op`` now: CALIBRATION_FACTOR x its fault-free time, measured now."""
    gateway.faults.clear()
    cache = _cache(gateway, timeout=10.0, bulk_timeout=10.0)  # measures, never cuts
    try:
        samples = []
        for _ in range(3):
            assert await cache.set_many(SEEDED), "the fault-free gateway must answer"
            started = time.perf_counter()
            await op.run(cache)
            samples.append(time.perf_counter() - started)
    finally:
        await cache.disconnect()
    baseline_s[op.name] = max(baseline_s.get(op.name, 0.0), min(samples))
    return max(SLACK, CALIBRATION_FACTOR * min(samples))


@pytest.fixture
async def seeded(gateway: Gateway) -> AsyncIterator[Cache]:
    cache = _cache(gateway)
    gateway.faults.clear()
    for _ in range(5):  # the first request opens the connection: allow a slow machine
        if await cache.set_many(SEEDED):
            break
    else:
        pytest.fail("the fault-free gateway never answered within the timeout")
    yield cache
    gateway.faults.clear()
    await cache.disconnect()


@pytest.mark.parametrize("op", OPS, ids=lambda o: o.name)
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
async def test_fault_matrix(
    gateway: Gateway,
    seeded: Cache,
    fault: Fault,
    op: Op,
    matrix_figures: dict[str, Any],
    baseline_s: dict[str, float],
) -> None:
    cache = seeded
    slack = await calibrate(gateway, op, baseline_s)
    gateway.faults.set(seed=7, **fault.settings)
    before = await cache.get_stats(count_keys=False)
    started = time.perf_counter()
    result = await op.run(cache)  # an escaping exception fails the test here
    elapsed = time.perf_counter() - started
    gateway.faults.clear()
    after = await cache.get_stats(count_keys=False)
    errors, timeouts = after.errors - before.errors, after.timeouts - before.timeouts

    budget = op.calls * TIMEOUT + slack
    assert elapsed <= budget, (
        f"{op.name} took {elapsed:.3f} s under {fault.name}: more than its timeouts plus "
        f"{slack:.3f} s ({CALIBRATION_FACTOR:g}x its fault-free time in this run)"
    )
    if fault.delay is not None:
        assert elapsed < fault.delay, "the cache cut the call instead of waiting for the backend"
    matrix_figures["cases"] += 1
    matrix_figures["elapsed_ms"][f"{fault.name}/{op.name}"] = round(elapsed * 1000, 1)
    if fault.outcome == "ok":
        assert errors == 0
        if timeouts:  # only when this machine is too slow for WITHIN + overhead < TIMEOUT
            assert WITHIN + slack >= TIMEOUT, (
                f"{fault.name} timed out although {op.name} answers in "
                f"{slack / CALIBRATION_FACTOR:.3f} s without faults in this run"
            )
            assert result == op.failed
        else:
            assert result == op.ok
    elif fault.outcome == "error":
        assert errors >= 1
        assert timeouts == 0
        assert result == op.failed
    elif fault.outcome == "timeout":
        assert timeouts >= 1
        assert errors == 0
        assert result == op.failed
    else:
        assert result == (op.ok if errors + timeouts == 0 else op.failed)
        if elapsed > op.calls * TIMEOUT:
            assert timeouts >= 1, "a call that outlived its timeout must be cut and counted"
    assert after.breaker_state == "closed"


async def test_get_or_set_within_one_timeout(
    gateway: Gateway, seeded: Cache, baseline_s: dict[str, float]
) -> None:
    get_or_set = next(op for op in OPS if op.name == "get_or_set")
    slack = await calibrate(gateway, get_or_set, baseline_s)
    gateway.faults.set(hang=1.0)
    before = gateway.faults.requests
    started = time.perf_counter()
    assert await seeded.get_or_set("absent", _factory) == "from the factory"
    elapsed = time.perf_counter() - started
    stats = await seeded.get_stats(count_keys=False)
    assert stats.timeouts == 1, "the read's timeout fired once"
    assert gateway.faults.requests == before + 1, "after a failed read the fill is not written"
    assert elapsed <= TIMEOUT + slack, f"{elapsed:.3f} s: more than one timeout plus {slack:.3f} s"


@pytest.mark.parametrize("fault", FAILING, ids=lambda f: f.name)
async def test_breaker_opens_and_recovers(gateway: Gateway, fault: Fault) -> None:
    clock = ManualClock(100.0)
    cache = _cache(gateway, breaker_threshold=3, breaker_reset=5.0, clock=clock)
    try:
        assert await cache.set("k", "before")
        gateway.faults.set(seed=3, **fault.settings)
        for _ in range(3):
            assert await cache.get("k") is None
        assert cache._breaker.state is BreakerState.OPEN
        stats = await cache.get_stats(count_keys=False)
        assert stats.breaker_state == "open"
        assert stats.errors + stats.timeouts == 3

        # Open: nothing reaches the gateway (the calls are skipped, not timed out).
        requests = gateway.faults.requests
        assert await cache.get("k") is None
        assert await cache.set("k", "dropped") is False
        assert gateway.faults.requests == requests
        assert (await cache.get_stats(count_keys=False)).timeouts == stats.timeouts
        assert (await cache.get_stats(count_keys=False)).short_circuited == 2

        # Past breaker_reset the probe still fails: open again, without sleeping.
        clock.advance(5.1)
        assert await cache.get("k") is None
        assert cache._breaker.state is BreakerState.OPEN
        assert gateway.faults.requests == requests + 1

        # The backend recovers; once the clock moves on, one probe closes the breaker.
        gateway.faults.clear()
        assert await cache.get("k") is None, "still open: the probe waits for breaker_reset"
        clock.advance(5.1)
        assert await cache.get("k") == "before"
        assert cache._breaker.state is BreakerState.CLOSED
        assert await cache.set("k", "after") is True
        assert await cache.get("k") == "after"
        final = await cache.get_stats(count_keys=False)
        assert final.breaker_state == "closed"
        assert final.short_circuited == 3
    finally:
        gateway.faults.clear()
        await cache.disconnect()
