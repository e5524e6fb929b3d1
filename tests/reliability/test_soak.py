"""Soaks: many mixed operations under injected faults, every answer checked against a model.

* 100,000 operations on ``FaultyProvider`` over the in-memory provider (and a
  shorter run over fakeredis): 10 % of provider calls fail (4 % raise before the
  backend, 4 % raise after it ran, 2 % hang past the cache's timeout).  These run
  in-process because 100k operations over HTTP would take minutes.
* A shorter soak through real HTTP: UpstashProvider -> gateway with 10 % of
  requests faulted (500, 401, hang, dropped connections before and after the
  command, malformed JSON) plus lognormal latency.

The model (reliability_model.py) allows, after a failed write, either the old or
the new value; anything else is a wrong value.  Figures go to the terminal and to
reports/reliability.json.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from reliability_model import SoakReport, merge_counts, soak

from cachesim import Cache
from cachesim.gateway.faults import FaultyProvider, Latency
from cachesim.gateway.server import Gateway
from cachesim.providers import MemoryProvider, RedisProvider
from cachesim.providers.base import BaseProvider, Provider

FAULT_RATE = 0.10


def _assert_clean(report: SoakReport) -> None:
    figures = report.summary()
    assert figures["escaped_exceptions"] == 0, report.examples
    assert figures["wrong_values"] == 0, report.examples
    assert figures["lost_writes"] == 0, report.examples
    assert figures["bad_counts"] == 0, report.examples
    assert figures["api_violations"] == 0, report.examples


def _faulty_caches(inner: Provider, workers: int, seed: int, timeout: float) -> list[Cache]:
    caches = []
    for i in range(workers):
        faulty = FaultyProvider(inner, error=0.04, error_after=0.04, hang=0.02, seed=seed + i)
        caches.append(
            Cache(
                faulty,
                namespace=f"w{i}-{uuid.uuid4().hex[:6]}",
                timeout=timeout,
                bulk_timeout=timeout,
                breaker_threshold=5,
                breaker_reset=0.05,
            )
        )
    return caches


def _fault_figures(caches: Sequence[Cache], report: SoakReport) -> int:
    providers = [c.provider for c in caches]
    assert all(isinstance(p, FaultyProvider) for p in providers)
    report.faults_injected = merge_counts([p.injected for p in providers])  # type: ignore[attr-defined]
    calls: int = sum(p.calls for p in providers)  # type: ignore[attr-defined]
    return calls


@pytest.mark.slow
@pytest.mark.parametrize(
    ("inner_kind", "ops"),
    [("memory", 100_000), ("fakeredis", 20_000)],
)
async def test_soak_in_process(inner_kind: str, ops: int, reliability_report: Any) -> None:
    inner: Provider = (
        MemoryProvider(sweep_interval=None) if inner_kind == "memory" else RedisProvider.fake()
    )
    caches = _faulty_caches(inner, workers=16, seed=1000, timeout=0.05)
    report = SoakReport(f"soak over FaultyProvider({inner_kind})")
    await soak(caches, report, ops=ops, seed=11, late_on_timeout=False)
    calls = _fault_figures(caches, report)
    await inner.disconnect()

    figures = report.summary()
    figures["provider_calls"] = calls
    figures["fault_rate_per_call"] = round(figures["faults_injected"] / calls, 4)
    reliability_report.record(f"soak_in_process_{inner_kind}", figures, report.line())
    assert report.ops == ops
    assert figures["fault_rate_per_call"] == pytest.approx(FAULT_RATE, abs=0.01)
    assert figures["checked_reads"] > ops // 3, "too few reads reached the backend to judge"
    _assert_clean(report)


@pytest.mark.slow
async def test_soak_http_through_the_gateway(gateway: Gateway, reliability_report: Any) -> None:
    gateway.faults.set(
        error=0.03,
        unauthorized=0.01,
        hang=0.01,
        drop=0.02,
        drop_after=0.02,
        malformed=0.01,
        latency=Latency.lognormal(0.002, 0.5, cap=0.05),
        seed=21,
    )
    gateway.faults.reset_counts()
    caches = [
        Cache(
            gateway.provider(),
            namespace=f"h{i}-{uuid.uuid4().hex[:6]}",
            timeout=0.2,
            bulk_timeout=0.2,
            breaker_threshold=5,
            breaker_reset=0.1,
        )
        for i in range(8)
    ]
    report = SoakReport("soak over HTTP (UpstashProvider -> gateway)")
    try:
        await soak(caches, report, ops=3000, seed=21, late_on_timeout=True, key_count=30)
    finally:
        counts = gateway.faults.counts
        requests = gateway.faults.requests
        gateway.faults.clear()
        for cache in caches:
            await cache.disconnect()
    report.faults_injected = {k: v for k, v in counts.items() if k != "latency"}
    figures = report.summary()
    figures["http_requests"] = requests
    figures["fault_rate_per_request"] = round(figures["faults_injected"] / requests, 4)
    reliability_report.record("soak_http", figures, report.line())
    assert figures["fault_rate_per_request"] == pytest.approx(FAULT_RATE, abs=0.02)
    assert figures["checked_reads"] > 500
    _assert_clean(report)


class _LyingProvider(BaseProvider):
    """Acknowledges 2 % of writes without storing them: the model must notice."""

    def __init__(self) -> None:
        self.inner = MemoryProvider(sweep_interval=None)
        self.calls = 0
        self.capabilities = self.inner.capabilities  # type: ignore[misc]
        self.name = "lying"

    async def get(self, key: str) -> str | None:
        return await self.inner.get(key)

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        self.calls += 1
        if self.calls % 50:
            await self.inner.set(key, value, ttl)

    async def delete(self, key: str) -> bool:
        return await self.inner.delete(key)

    async def has(self, key: str) -> bool:
        return await self.inner.has(key)

    async def invalidate_pattern(self, pattern: str) -> int:
        return await self.inner.invalidate_pattern(pattern)

    async def count(self, pattern: str) -> int | None:
        return await self.inner.count(pattern)


async def test_the_model_catches_a_provider_that_loses_writes() -> None:
    caches = [Cache(_LyingProvider(), namespace=f"lie{i}") for i in range(4)]
    report = SoakReport("lying provider")
    await soak(caches, report, ops=5000, seed=5, late_on_timeout=False)
    assert report.escaped_exceptions == 0
    assert report.wrong_values + report.lost_writes > 0, "the model must detect lost writes"
