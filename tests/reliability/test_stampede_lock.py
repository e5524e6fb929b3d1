"""Proof: one factory call across 8 processes x 200 callers with the distributed lock.

Real redis-server, and the real upstash-redis client through the local gateway (itself
on that redis-server).  Without the lock each process still single-flights, so the
count printed for comparison is the number of processes that raced.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from cachesim.gateway.server import GatewayProcess
from tests.freshness import stampede_worker

PROCESSES = 8
CONCURRENCY = 200
CTX = multiprocessing.get_context("spawn")


@pytest.fixture(params=["redis", "upstash"])
def backend(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The shared backend every process uses."""
    if request.param == "redis":
        yield {"kind": "redis", "url": request.getfixturevalue("redis_url")}
    else:
        # The gateway runs as its own process (as in production, a separate service), on
        # the session's real redis-server.
        with GatewayProcess(request.getfixturevalue("redis_url")) as gw:
            yield {"kind": "upstash", "url": gw.url, "token": gw.token}


def _collect(results: Any, procs: list[Any], wanted: int | None = None) -> list[Any]:
    """Read one report per process; stop early (and fail) if the processes died."""
    wanted = len(procs) if wanted is None else wanted
    reports: list[Any] = []
    deadline = time.monotonic() + 600
    while len(reports) < wanted and time.monotonic() < deadline:
        try:
            reports.append(results.get(timeout=1))
        except queue.Empty:
            if not any(p.is_alive() for p in procs) and results.empty():
                break
    assert len(reports) == wanted, f"worker processes died: {[p.exitcode for p in procs]}"
    return reports


def _run_stampede(backend: dict[str, str], lock: str | None) -> tuple[int, list[dict[str, Any]]]:
    calls = CTX.Value("i", 0)
    barrier = CTX.Barrier(PROCESSES)
    results = CTX.Queue()
    namespace = f"stampede{uuid.uuid4().hex[:8]}"
    procs = [
        CTX.Process(
            target=stampede_worker.stampede,
            args=(backend, namespace, "cold", lock, CONCURRENCY, calls, barrier, results),
        )
        for _ in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    try:
        reports = _collect(results, procs)
    finally:
        for proc in procs:
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return int(calls.value), reports


def test_one_factory_call_across_processes_with_the_distributed_lock(
    backend: dict[str, str], reliability_report: Any
) -> None:
    began = time.monotonic()
    without, _ = _run_stampede(backend, None)
    middle = time.monotonic()
    with_lock, reports = _run_stampede(backend, "distributed")
    ended = time.monotonic()
    print(f"\nphases: without lock {middle - began:.1f} s, with lock {ended - middle:.1f} s")
    line = (
        f"[{backend['kind']}] {PROCESSES} processes x {CONCURRENCY} concurrent get_or_set on "
        f"one cold key: factory calls without lock = {without}, with distributed lock = "
        f"{with_lock}; lock waits = {sum(r['lock_waits'] for r in reports)}"
    )
    print("\n" + line)
    reliability_report.record(
        f"stampede_{backend['kind']}",
        {
            "processes": PROCESSES,
            "concurrency": CONCURRENCY,
            "factory_calls_without_lock": without,
            "factory_calls_with_lock": with_lock,
            "lock_waits": sum(r["lock_waits"] for r in reports),
        },
        line,
    )
    assert sum(r["answers"] for r in reports) == PROCESSES * CONCURRENCY
    assert sum(r["bad"] for r in reports) == 0, "every caller must get the filled value"
    failures = [(r["errors"], r["timeouts"]) for r in reports]
    assert sum(e + t for e, t in failures) == 0, (
        f"backend calls failed (errors, timeouts): {failures}"
    )
    assert sum(r["lock_timeouts"] for r in reports) == 0, "no waiter may give up"
    assert with_lock == 1, f"the distributed lock must allow one factory call, saw {with_lock}"
    assert without >= 1


def test_a_killed_lock_holder_is_replaced_after_the_lock_expires(
    backend: dict[str, str], reliability_report: Any
) -> None:
    lock_ttl = 5.0
    namespace = f"killed{uuid.uuid4().hex[:8]}"
    started, ready, go, waiting = CTX.Event(), CTX.Event(), CTX.Event(), CTX.Event()
    results = CTX.Queue()
    survivor = CTX.Process(
        target=stampede_worker.waiter,
        args=(backend, namespace, "k", lock_ttl, ready, go, waiting, results),
    )
    survivor.start()  # started first, so it is ready to ask while the holder holds the lock
    doomed = CTX.Process(
        target=stampede_worker.holder, args=(backend, namespace, "k", started, lock_ttl)
    )
    doomed.start()
    try:
        assert ready.wait(300) and started.wait(300), "the processes did not start"
        go.set()
        assert waiting.wait(300), "the survivor never found the lock taken"
        os.kill(doomed.pid or 0, signal.SIGKILL)  # dies holding the lock, mid-fill
        killed_at = time.time()
        (report,) = _collect(results, [survivor])
        survivor.join(timeout=60)
    finally:
        for proc in (doomed, survivor):
            if proc.is_alive():
                proc.kill()
            proc.join(timeout=30)
    line = (
        f"[{backend['kind']}] lock holder killed mid-fill; another process filled "
        f"{report['filled_at'] - killed_at:.2f} s later (lock_ttl = {lock_ttl} s)"
    )
    print("\n" + line)
    reliability_report.record(
        f"killed_lock_holder_{backend['kind']}",
        {"lock_ttl": lock_ttl, "filled_after_kill_s": report["filled_at"] - killed_at},
        line,
    )
    assert report["value"] == "filled-by-waiter"
    assert report["calls"] == 1, "the survivor fills exactly once"
    assert report["lock_waits"] == 1, "the survivor first waited behind the holder"
    assert report["lock_timeouts"] == 0, "it took over the expired lock, it did not give up"
    assert report["held_while_asking"] is True, "the holder's lock was there when it asked"
    assert survivor.exitcode == 0
