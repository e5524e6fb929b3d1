"""Process faults: real servers SIGKILLed, SIGSTOPped and restarted under concurrent load.

Workers, each with its own ``Cache``, run the seeded operation mix of
``reliability_model`` without pause while a chaos task

* over ``RedisProvider``: SIGKILLs the redis-server, restarts it on the same port,
  then SIGSTOPs it and SIGCONTs it;
* over ``UpstashProvider``: SIGKILLs the ``cachesim gateway`` process and restarts it
  on the same port, SIGSTOPs and SIGCONTs it, and SIGKILLs the redis-server behind it.

Every read is checked against the model.  A SIGKILLed redis-server loses its data
(no persistence), so at that instant every key may also be missing; a SIGSTOPped
process executes what it had received once it resumes, so an abandoned request may
still run later.  Asserted: no exception escapes, no read returns a wrong value, the
breaker opened during outages and hits came back after each.  Phase lengths are
multiples of the breaker's reset time, not fixed durations.  Figures printed: escaped
exceptions, wrong values, p99 latency during the outages, time back to hits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from reliability_model import MISSING, MIX, Model, SoakReport, _step

from cachesim import Cache
from cachesim.gateway.redis_server import (
    RedisServer,
    RedisServerNotFound,
    free_port,
    redis_server,
)
from cachesim.gateway.server import GatewayProcess
from cachesim.providers import RedisProvider
from cachesim.providers.upstash import UpstashProvider

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

WORKERS = 6
KEYS = 30
#: Each phase lasts this many breaker resets (the breaker must get to probe several times).
PHASE_RESETS = 6


@dataclass
class Chaos:
    """What the chaos task did and saw: phases, outage latencies, time back to hits."""

    breaker_reset: float
    phase: str = "warm-up"
    latencies: dict[str, list[float]] = field(default_factory=dict)
    back_to_hits: dict[str, float] = field(default_factory=dict)
    opened: dict[str, bool] = field(default_factory=dict)
    stop: bool = False

    def record(self, seconds: float) -> None:
        self.latencies.setdefault(self.phase, []).append(seconds)

    def p99(self, phases: list[str]) -> float:
        values = sorted(v for p in phases for v in self.latencies.get(p, []))
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(0.99 * len(values)))]

    async def hold(self) -> None:
        """Let the workers run for one phase."""
        await asyncio.sleep(PHASE_RESETS * self.breaker_reset)


async def _worker(cache: Cache, model: Model, report: SoakReport, chaos: Chaos, seed: int) -> None:
    rng = random.Random(seed)
    keys = [f"k{i}" for i in range(KEYS)]
    names, weights = list(MIX), list(MIX.values())
    serial = 0

    def fresh(key: str) -> dict[str, Any]:
        nonlocal serial
        serial += 1
        return {"key": key, "seed": seed, "n": serial}

    def failures() -> tuple[int, int]:
        return cache.errors + cache.timeouts + cache.short_circuited, cache.timeouts

    while not chaos.stop:
        op = rng.choices(names, weights)[0]
        before, timeouts_before = failures()
        sets_before = cache.sets
        started = time.perf_counter()
        try:
            await _step(
                cache, model, rng, op, keys, fresh, before, timeouts_before, failures, sets_before
            )
        except Exception as exc:  # anything escaping the cache is a failure of the cache
            report.escaped_exceptions += 1
            if len(report.examples) < 20:
                report.examples.append(f"{op} raised {type(exc).__name__}: {exc}")
        chaos.record(time.perf_counter() - started)
        report.ops += 1
        report.ops_by_name[op] = report.ops_by_name.get(op, 0) + 1
        await asyncio.sleep(0.002)  # short-circuited calls never suspend: pace the loop


def _forget(models: list[Model]) -> None:
    """The redis-server lost its data: from now on every key may be missing."""
    for model in models:
        for state in model.keys.values():
            state.allowed.add(MISSING)


async def _outage(
    chaos: Chaos, caches: list[Cache], name: str, fault: Callable[[], Any], heal: Callable[[], Any]
) -> None:
    """Inject ``fault``, hold, ``heal``; record whether the breaker opened and time back to hits."""
    short_before = sum(c.short_circuited for c in caches)
    chaos.phase = name
    fault()
    await chaos.hold()
    chaos.opened[name] = sum(c.short_circuited for c in caches) > short_before
    await heal()
    healed = time.perf_counter()
    chaos.phase = f"after {name}"
    hits = sum(c.hits for c in caches)
    # wait for the event (hits again); the bound is only a safety net for a broken run
    deadline = healed + 20 * PHASE_RESETS * chaos.breaker_reset
    while sum(c.hits for c in caches) == hits and time.perf_counter() < deadline:  # noqa: ASYNC110 - a counter, no event to wait on
        await asyncio.sleep(0.005)
    if sum(c.hits for c in caches) > hits:
        chaos.back_to_hits[name] = time.perf_counter() - healed
    await chaos.hold()


def _signal(pid: int, sig: signal.Signals) -> Callable[[], None]:
    return lambda: os.kill(pid, sig)


class _Redis:
    """A redis-server on a fixed port that can be killed and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._stack = contextlib.ExitStack()
        self.server: RedisServer | None = None

    def start(self) -> RedisServer:
        self.server = self._stack.enter_context(redis_server(port=self.port))
        return self.server

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def close(self) -> None:
        if self.server is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.server.pid, signal.SIGCONT)
        self._stack.close()


@pytest.fixture
def redis_proc() -> Iterator[_Redis]:
    proc = _Redis(free_port())
    try:
        proc.start()
    except RedisServerNotFound as exc:
        if IN_CI:
            pytest.fail(f"CI=true but no redis-server is available: {exc}")
        pytest.skip(str(exc))
    try:
        yield proc
    finally:
        proc.close()


def _report_figures(
    name: str, report: SoakReport, models: list[Model], chaos: Chaos, caches: list[Cache]
) -> dict[str, Any]:
    for model in models:
        report.wrong_values += model.wrong
        report.lost_writes += model.lost
        report.bad_counts += model.bad_counts
        report.violations += model.violations
        report.checked_reads += model.checked_reads
        report.examples.extend(model.examples[: max(0, 20 - len(report.examples))])
    report.failed_calls = sum(c.errors + c.timeouts + c.short_circuited for c in caches)
    outages = [p for p in chaos.latencies if not p.startswith(("after", "warm"))]
    figures = report.summary()
    figures["outages"] = outages
    figures["p99_during_outages_ms"] = round(chaos.p99(outages) * 1000, 2)
    figures["p99_outside_outages_ms"] = round(
        chaos.p99([p for p in chaos.latencies if p not in outages]) * 1000, 2
    )
    figures["back_to_hits_s"] = {k: round(v, 3) for k, v in chaos.back_to_hits.items()}
    figures["breaker_reset_s"] = chaos.breaker_reset
    figures["breaker_opened"] = chaos.opened
    figures["name"] = name
    return figures


def _line(figures: dict[str, Any]) -> str:
    back = ", ".join(f"{k} {v} s" for k, v in figures["back_to_hits_s"].items())
    return (
        f"{figures['name']}: {figures['ops']} ops, {figures['escaped_exceptions']} escaped "
        f"exceptions, {figures['wrong_values']} wrong values, {figures['lost_writes']} lost "
        f"writes, p99 during outages {figures['p99_during_outages_ms']} ms (outside "
        f"{figures['p99_outside_outages_ms']} ms), back to hits: {back} "
        f"(breaker reset {figures['breaker_reset_s']} s)"
    )


def _assert_survived(figures: dict[str, Any], report: SoakReport, chaos: Chaos) -> None:
    assert figures["escaped_exceptions"] == 0, report.examples
    assert figures["wrong_values"] == 0, report.examples
    assert figures["api_violations"] == 0, report.examples
    assert figures["checked_reads"] > 100, "too few reads reached a server to judge"
    for name, opened in chaos.opened.items():
        assert opened, f"the breaker must open during '{name}'"
        assert name in chaos.back_to_hits, f"hits must come back after '{name}'"


@pytest.mark.slow
async def test_process_faults_over_redis(redis_proc: _Redis, reliability_report: Any) -> None:
    breaker_reset = 0.2
    caches = [
        Cache(
            RedisProvider.from_url(redis_proc.url, connect_timeout=0.2, socket_timeout=0.5),
            namespace=f"pk{i}-{uuid.uuid4().hex[:6]}",
            timeout=0.1,
            bulk_timeout=0.1,
            breaker_threshold=3,
            breaker_reset=breaker_reset,
        )
        for i in range(WORKERS)
    ]
    models = [Model(late_on_timeout=True) for _ in caches]
    report = SoakReport("process faults over RedisProvider")
    chaos = Chaos(breaker_reset)

    async def restart() -> None:
        await asyncio.to_thread(redis_proc.start)

    async def cont() -> None:
        assert redis_proc.server is not None
        os.kill(redis_proc.server.pid, signal.SIGCONT)

    async def drive() -> None:
        try:
            await chaos.hold()
            assert redis_proc.server is not None
            pid = redis_proc.server.pid

            def kill() -> None:
                os.kill(pid, signal.SIGKILL)
                _forget(models)

            await _outage(chaos, caches, "redis SIGKILL + restart", kill, restart)
            assert redis_proc.server is not None
            stop = _signal(redis_proc.server.pid, signal.SIGSTOP)
            await _outage(chaos, caches, "redis SIGSTOP + SIGCONT", stop, cont)
        finally:
            chaos.stop = True

    started = time.perf_counter()
    await asyncio.gather(
        drive(),
        *(
            _worker(c, m, report, chaos, 700 + i)
            for i, (c, m) in enumerate(zip(caches, models, strict=True))
        ),
    )
    report.seconds = time.perf_counter() - started
    for cache in caches:
        await cache.disconnect()
    figures = _report_figures("process faults over RedisProvider", report, models, chaos, caches)
    reliability_report.record("process_soak_redis", figures, _line(figures))
    _assert_survived(figures, report, chaos)


@pytest.mark.slow
async def test_process_faults_through_the_gateway(
    redis_proc: _Redis, reliability_report: Any
) -> None:
    breaker_reset = 0.3
    token = uuid.uuid4().hex
    port = free_port()
    gateways: list[GatewayProcess] = []

    def start_gateway() -> GatewayProcess:
        process = GatewayProcess(redis_proc.url, token=token, port=port)
        process.start()
        gateways.append(process)
        return process

    first = await asyncio.to_thread(start_gateway)
    assert first.gateway is not None
    url = first.gateway.url
    caches = [
        Cache(
            UpstashProvider(url=url, token=token),
            namespace=f"pg{i}-{uuid.uuid4().hex[:6]}",
            timeout=0.3,
            bulk_timeout=0.3,
            breaker_threshold=3,
            breaker_reset=breaker_reset,
        )
        for i in range(WORKERS)
    ]
    models = [Model(late_on_timeout=True) for _ in caches]
    report = SoakReport("process faults over UpstashProvider -> gateway")
    chaos = Chaos(breaker_reset)

    def current_pid() -> int:
        proc = gateways[-1].proc
        assert proc is not None
        return proc.pid

    async def restart_gateway() -> None:
        await asyncio.to_thread(gateways[-1].stop)
        await asyncio.to_thread(start_gateway)

    async def cont_gateway() -> None:
        os.kill(current_pid(), signal.SIGCONT)

    async def restart_redis() -> None:
        await asyncio.to_thread(redis_proc.start)

    async def drive() -> None:
        try:
            await chaos.hold()
            kill_gateway = _signal(current_pid(), signal.SIGKILL)
            await _outage(chaos, caches, "gateway SIGKILL + restart", kill_gateway, restart_gateway)
            stop_gateway = _signal(current_pid(), signal.SIGSTOP)
            await _outage(chaos, caches, "gateway SIGSTOP + SIGCONT", stop_gateway, cont_gateway)
            assert redis_proc.server is not None
            pid = redis_proc.server.pid

            def kill_redis() -> None:
                os.kill(pid, signal.SIGKILL)
                _forget(models)

            await _outage(
                chaos, caches, "redis behind it SIGKILL + restart", kill_redis, restart_redis
            )
        finally:
            chaos.stop = True

    started = time.perf_counter()
    try:
        await asyncio.gather(
            drive(),
            *(
                _worker(c, m, report, chaos, 900 + i)
                for i, (c, m) in enumerate(zip(caches, models, strict=True))
            ),
        )
    finally:
        report.seconds = time.perf_counter() - started
        for cache in caches:
            await cache.disconnect()
        for process in gateways:
            if process.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.proc.pid, signal.SIGCONT)
            await asyncio.to_thread(process.stop)
    figures = _report_figures(
        "process faults over UpstashProvider -> gateway", report, models, chaos, caches
    )
    reliability_report.record("process_soak_gateway", figures, _line(figures))
    _assert_survived(figures, report, chaos)
