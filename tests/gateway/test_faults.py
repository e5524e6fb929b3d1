"""Fault injection: the gateway's faults as the official client sees them, and FaultyProvider."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import httpx
import pytest
from upstash_redis.errors import UpstashError

from cachesim.gateway.faults import (
    LATENCY_PRESETS,
    FaultController,
    FaultPlan,
    FaultyProvider,
    InjectedFault,
    Latency,
)
from cachesim.gateway.server import Gateway
from cachesim.providers import MemoryProvider

# -- latency and plans --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30ms", Latency.fixed(0.03)),
        ("0.5", Latency.fixed(0.5)),
        ("250us", Latency.fixed(0.00025)),
        ("uniform:10ms:50ms", Latency.uniform(0.01, 0.05)),
        ("lognormal:30ms:0.5", Latency.lognormal(0.03, 0.5)),
        ("lognormal:30ms:0.5:200ms", Latency.lognormal(0.03, 0.5, cap=0.2)),
    ],
)
def test_latency_parse(text: str, expected: Latency) -> None:
    assert Latency.parse(text) == expected
    assert Latency.from_dict(expected.to_dict()) == expected


@pytest.mark.parametrize("text", ["", "fast", "uniform:50ms:10ms", "lognormal:0:1", "-5ms"])
def test_latency_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"latency|duration"):
        Latency.parse(text)


def test_latency_samples_are_seeded_and_shaped() -> None:
    dist = Latency.lognormal(0.03, 0.5, cap=0.2)
    first = [dist.sample(random.Random(7)) for _ in range(3)]
    assert first == [dist.sample(random.Random(7)) for _ in range(3)]
    rng = random.Random(1)
    samples = sorted(dist.sample(rng) for _ in range(4000))
    assert samples[len(samples) // 2] == pytest.approx(0.03, rel=0.1)
    assert max(samples) <= 0.2
    assert Latency.parse("same-region") == LATENCY_PRESETS["same-region"]


def test_plan_validation() -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        FaultPlan({"explode": 0.1})
    with pytest.raises(ValueError, match="within"):
        FaultPlan({"error": 1.5})
    with pytest.raises(ValueError, match="more than 1"):
        FaultPlan({"error": 0.6, "hang": 0.6})
    plan = FaultPlan.from_dict({"error": 0.1, "latency": "20ms", "seed": 3})
    assert plan.rates == {"error": 0.1}
    assert plan.latency == Latency.fixed(0.02)
    assert FaultPlan.from_dict(plan.to_dict()) == plan


def test_controller_draws_are_seeded_and_counted() -> None:
    controller = FaultController()
    controller.set(error=0.2, drop=0.1, hang=0.05, seed=42)
    first = [controller.decide().fault for _ in range(2000)]
    controller.set(error=0.2, drop=0.1, hang=0.05, seed=42)
    assert [controller.decide().fault for _ in range(2000)] == first
    assert first.count("error") == pytest.approx(400, abs=80)
    assert first.count("drop") == pytest.approx(200, abs=60)
    assert controller.counts["error"] == 2 * first.count("error")
    assert controller.requests == 4000
    with controller.injected(unauthorized=1.0):
        assert controller.decide().fault == "unauthorized"
    assert controller.plan.rates == {"error": 0.2, "drop": 0.1, "hang": 0.05}
    controller.clear()
    assert not controller.plan.active
    assert controller.decide().fault is None


# -- faults through the gateway, as the official client sees them ---------------------------


@pytest.fixture
def client(fake_gateway: Gateway) -> Any:
    fake_gateway.faults.clear()
    fake_gateway.faults.reset_counts()
    made = fake_gateway.client()
    yield made
    made.close()
    fake_gateway.faults.clear()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("error", UpstashError),
        ("unauthorized", UpstashError),
        ("drop", httpx.RemoteProtocolError),
        ("drop_after", httpx.RemoteProtocolError),
        ("malformed", json.JSONDecodeError),
    ],
)
def test_each_fault_as_the_client_sees_it(
    fake_gateway: Gateway, client: Any, fault: str, error: type[Exception]
) -> None:
    client.set("fault-k", "before")
    fake_gateway.faults.set(**{fault: 1.0})
    with pytest.raises(error):
        client.set("fault-k", "after")
    fake_gateway.faults.clear()
    ran = fault in ("drop_after", "malformed")
    assert client.get("fault-k") == ("after" if ran else "before")
    assert fake_gateway.faults.counts[fault] >= 1


def test_faults_hit_pipelines_too(fake_gateway: Gateway, client: Any) -> None:
    fake_gateway.faults.set(unauthorized=1.0)
    pipe = client.pipeline()
    pipe.set("p", "1")
    with pytest.raises(AttributeError):  # the client iterates the error object's keys
        pipe.exec()


async def test_hang_lasts_until_the_client_gives_up(fake_gateway: Gateway) -> None:
    fake_gateway.faults.set(hang=1.0, hang_seconds=20)
    client = fake_gateway.async_client()
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await client.get("k")
    assert time.perf_counter() - started < 1.0
    await client.close()
    fake_gateway.faults.clear()
    fresh = fake_gateway.async_client()
    assert await fresh.ping() == "PONG"
    await fresh.close()


def test_hang_ends_after_hang_seconds(fake_gateway: Gateway, client: Any) -> None:
    fake_gateway.faults.set(hang=1.0, hang_seconds=0.2)
    started = time.perf_counter()
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("k")
    assert 0.15 < time.perf_counter() - started < 2.0


def test_latency_is_added(fake_gateway: Gateway, client: Any) -> None:
    client.ping()
    fake_gateway.faults.set(latency=Latency.fixed(0.1))
    started = time.perf_counter()
    assert client.ping() == "PONG"
    assert time.perf_counter() - started >= 0.1
    assert fake_gateway.faults.counts["latency"] == 1


def test_seeded_fault_rate_is_honoured(fake_gateway: Gateway, client: Any) -> None:
    fake_gateway.faults.set(error=0.3, seed=5)
    failures = 0
    for _ in range(200):
        try:
            client.ping()
        except UpstashError:
            failures += 1
    assert failures == fake_gateway.faults.counts["error"]
    assert 30 <= failures <= 90


def test_admin_endpoint(fake_gateway: Gateway) -> None:
    url = fake_gateway.url + "/_cachesim/faults"
    auth = {"Authorization": f"Bearer {fake_gateway.token}"}
    with httpx.Client(trust_env=False) as http:
        assert http.get(url).status_code == 401
        assert http.put(url, json={"error": 1.0}).status_code == 401
        assert not fake_gateway.faults.plan.active, "an unauthenticated change must not apply"
        response = http.put(url, json={"error": 0.5, "latency": "5ms", "seed": 9}, headers=auth)
        assert response.status_code == 200
        assert response.json()["plan"]["rates"] == {"error": 0.5}
        assert fake_gateway.faults.plan.latency == Latency.fixed(0.005)
        bad = http.put(url, json={"explode": 1}, headers=auth)
        assert bad.status_code == 400
        assert "unknown fault" in bad.json()["error"]
        assert http.delete(url, headers=auth).json()["plan"]["rates"] == {}
        assert not fake_gateway.faults.plan.active
        # The admin endpoint is never itself faulted.
        fake_gateway.faults.set(error=1.0)
        assert http.get(url, headers=auth).status_code == 200
        fake_gateway.faults.clear()


# -- FaultyProvider ------------------------------------------------------------------------


async def test_faulty_provider_error_before_and_after() -> None:
    inner = MemoryProvider(sweep_interval=None)
    faulty = FaultyProvider(inner, error=1.0, seed=1)
    with pytest.raises(InjectedFault):
        await faulty.set("k", "v", None)
    assert await inner.get("k") is None, "error means the call never reached the backend"
    faulty.set_faults(error_after=1.0, seed=1)
    with pytest.raises(InjectedFault):
        await faulty.set("k", "v", None)
    assert await inner.get("k") == "v", "error_after means the call ran, its answer was lost"
    assert faulty.injected == {"error": 1, "error_after": 1}
    faulty.clear_faults()
    assert await faulty.get("k") == "v"
    assert faulty.faults_injected == 2
    assert (await faulty.get_stats())["faults_injected"] == {"error": 1, "error_after": 1}


async def test_faulty_provider_hang_latency_and_op_filter() -> None:
    inner = MemoryProvider(sweep_interval=None)
    faulty = FaultyProvider(inner, hang=1.0, hang_seconds=30, seed=1, ops=["get"])
    assert faulty.in_process is False
    await faulty.set("k", "v", None)  # not in ops: untouched
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await faulty.get("k")
    faulty.set_faults(latency="50ms", seed=1)
    started = time.perf_counter()
    assert await faulty.get("k") == "v"
    assert time.perf_counter() - started >= 0.05
    with pytest.raises(ValueError, match="cannot fault"):
        faulty.set_faults(ops=["disconnect"])


async def test_faulty_provider_rates_are_seeded() -> None:
    async def outcomes(seed: int) -> list[bool]:
        faulty = FaultyProvider(MemoryProvider(sweep_interval=None), error=0.25, seed=seed)
        result = []
        for _ in range(400):
            try:
                await faulty.get("k")
                result.append(True)
            except InjectedFault:
                result.append(False)
        return result

    first = await outcomes(3)
    assert first == await outcomes(3)
    assert first != await outcomes(4)
    assert first.count(False) == pytest.approx(100, abs=35)
