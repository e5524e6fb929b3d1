"""Latency models, provider models, cost arithmetic and the estimate verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cachesim import Cache
from cachesim.providers import MemoryProvider
from cachesim.sim.models import (
    PROVIDERS,
    SECONDS_PER_MONTH,
    UPSTASH_PAYG,
    CommandsPerOp,
    LatencyModel,
    Pricing,
    ProviderModel,
    Targets,
    estimate,
    estimate_many,
    latency_samples,
    origin_model,
    provider_model,
)
from cachesim.stats import CacheStats, LatencySummary

FAST = ProviderModel("fast", get=LatencyModel.fixed(0.001), set=LatencyModel.fixed(0.001))
ORIGIN = LatencyModel.fixed(0.010, name="db")


# -- LatencyModel ---------------------------------------------------------------------


def test_lognormal_hits_its_percentiles() -> None:
    model = LatencyModel.lognormal(0.002, 0.010)
    assert model.percentile(50) == pytest.approx(0.002, rel=1e-12)
    assert model.percentile(99) == pytest.approx(0.010, rel=1e-12)
    assert model.percentile(50) < model.mean < model.percentile(99)


def test_fit_recovers_lognormal_parameters_from_seeded_samples() -> None:
    truth = LatencyModel.lognormal(0.002, 0.010)
    samples = truth.sample(50_000, rng=7)
    fitted = LatencyModel.fit(samples)
    assert fitted.kind == "lognormal"
    assert fitted.mu == pytest.approx(truth.mu, abs=0.02)
    assert fitted.sigma == pytest.approx(truth.sigma, rel=0.02)
    assert fitted.percentile(50) == pytest.approx(0.002, rel=0.03)
    assert fitted.percentile(99) == pytest.approx(0.010, rel=0.05)


def test_empirical_model_resamples_and_matches_numpy_percentiles() -> None:
    data = np.array([0.001, 0.002, 0.003, 0.010])
    model = LatencyModel.fit(data, kind="empirical")
    assert model.percentile(50) == pytest.approx(float(np.percentile(data, 50)))
    draws = model.sample(1000, rng=1)
    assert set(np.unique(draws)) <= set(data)
    assert model.mean == pytest.approx(data.mean())


def test_fixed_model_and_seeded_sampling_is_repeatable() -> None:
    assert LatencyModel.fixed(0.005).sample(3).tolist() == [0.005] * 3
    model = LatencyModel.lognormal(0.001, 0.004)
    assert np.array_equal(model.sample(10, rng=3), model.sample(10, rng=3))


@pytest.mark.parametrize(
    "build",
    [
        lambda: LatencyModel.lognormal(0.01, 0.001),
        lambda: LatencyModel.lognormal(0.0, 0.001),
        lambda: LatencyModel.fit([0.001, -1.0, 0.002]),
        lambda: LatencyModel.empirical([]),
        lambda: LatencyModel.fixed(-1.0),
    ],
)
def test_invalid_models_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_from_summary_reads_milliseconds() -> None:
    summary = LatencySummary(count=10, mean_ms=2.0, p50_ms=1.0, p95_ms=3.0, p99_ms=5.0, max_ms=9.0)
    model = LatencyModel.from_summary(summary)
    assert model.percentile(50) == pytest.approx(0.001)
    assert model.percentile(99) == pytest.approx(0.005)


async def test_provider_model_from_live_cache_stats() -> None:
    async with Cache(MemoryProvider(), namespace="m") as cache:
        for i in range(200):
            await cache.get_or_set(f"k{i % 20}", lambda: {"v": 1})
        stats = await cache.get_stats()
    model = ProviderModel.from_stats(stats)
    assert model.name == "memory (measured)"
    assert 0 < model.get.percentile(50) < 0.01  # an in-process read is far below 10 ms
    get_model = LatencyModel.from_stats(stats, "get")
    assert get_model.percentile(50) == pytest.approx(stats.latency["get"].p50_ms / 1000)
    with pytest.raises(ValueError, match="no latency for 'nope'"):
        LatencyModel.from_stats(stats, "nope")


def test_provider_and_origin_names_resolve() -> None:
    assert provider_model("upstash") is PROVIDERS["upstash-same-region"]
    assert provider_model("in-memory") is PROVIDERS["memory"]
    assert provider_model(ORIGIN).get is ORIGIN
    assert origin_model(0.02).percentile(99) == 0.02
    assert origin_model(None).percentile(50) == pytest.approx(0.005)
    with pytest.raises(ValueError, match="unknown provider model"):
        provider_model("memcached")
    for model in PROVIDERS.values():
        assert model.assumption  # every default states its assumption


# -- commands and cost ----------------------------------------------------------------


def test_upstash_pricing_arithmetic() -> None:
    assert UPSTASH_PAYG.monthly_cost(100_000) == pytest.approx(0.20)
    assert UPSTASH_PAYG.monthly_cost(28_512_000) == pytest.approx(57.024)
    assert UPSTASH_PAYG.monthly_cost(0, storage_gb=3.0) == pytest.approx(0.50)  # 1 GB free
    assert Pricing("node", fixed_monthly=10.0).monthly_cost(1e9) == 10.0


def test_commands_per_request_and_monthly_cost_are_exact() -> None:
    est = estimate(
        {"hits": 900, "misses": 100}, provider="upstash", origin=ORIGIN, request_rate=10.0
    )
    assert est.commands_per_request == pytest.approx(1.1)  # 0.9 x GET + 0.1 x (GET + SET)
    assert est.commands_per_month == pytest.approx(10 * SECONDS_PER_MONTH * 1.1)
    assert est.commands_per_month == pytest.approx(28_512_000)
    assert est.monthly_cost_usd == pytest.approx(57.024)


def test_writes_and_deletes_are_billed_one_command_each() -> None:
    result = {"hits": 600, "misses": 200, "writes": 100, "deletes": 100}
    est = estimate(result, provider="upstash", origin=ORIGIN, request_rate=1.0)
    assert est.commands_per_request == pytest.approx((600 + 400 + 100 + 100) / 1000)
    measured = estimate(result, provider="upstash", commands=1.5, request_rate=1.0)
    assert measured.commands_per_request == 1.5


def test_commands_per_op_measured_from_commands_by_name() -> None:
    per_op = CommandsPerOp.measure(
        {"GET": 100, "SET": 30, "UNLINK": 5, "PING": 1},
        hits=80,
        misses=20,
        writes=10,
        deletes=5,
    )
    assert per_op == CommandsPerOp(hit=1.0, miss=2.0, write=1.0, delete=1.0, other=1 / 115)
    # single flight: 20 misses but only 5 fills -> a miss costs 1.25 commands
    merged = CommandsPerOp.measure({"GET": 100, "SET": 5}, hits=80, misses=20)
    assert merged.miss == pytest.approx(1.25)


def test_the_in_process_memory_provider_sends_no_commands() -> None:
    result = {"hits": 900, "misses": 100, "writes": 50, "deletes": 10}
    est = estimate(result, provider="memory", origin=ORIGIN, request_rate=300.0)
    assert est.commands_per_month == 0
    assert est.commands_per_request == 0
    assert est.monthly_cost_usd == 0
    assert PROVIDERS["memory"].commands == CommandsPerOp.none()
    frame = estimate_many(result, ["memory", "upstash"], origin=ORIGIN, request_rate=300.0)
    assert frame["commands_per_month"].tolist()[0] == 0
    assert frame["commands_per_month"].tolist()[1] > 0


def test_redis_and_upstash_keep_a_get_per_hit_and_get_set_per_miss() -> None:
    for name in ("redis-same-host", "redis", "upstash", "upstash-cross-region"):
        assert provider_model(name).commands == CommandsPerOp()
    est = estimate({"hits": 900, "misses": 100}, provider="redis", request_rate=10.0)
    assert est.commands_per_month == pytest.approx(28_512_000)


async def test_memory_provider_model_from_stats_sends_no_commands() -> None:
    async with Cache(MemoryProvider(), namespace="m") as cache:
        for i in range(200):
            await cache.get_or_set(f"k{i % 20}", lambda: {"v": 1})
        stats = await cache.get_stats()
    assert "commands_by_name" not in stats.provider_stats  # nothing to measure
    model = ProviderModel.from_stats(stats)
    est = estimate(stats, provider=model, request_rate=300.0)
    assert est.commands_per_month == 0 and est.monthly_cost_usd == 0
    assert model.commands == CommandsPerOp.none()


def _stats(provider: str, provider_stats: dict[str, object]) -> CacheStats:
    summary = LatencySummary(count=10, mean_ms=1.0, p50_ms=1.0, p95_ms=2.0, p99_ms=3.0, max_ms=4.0)
    return CacheStats(
        namespace="n",
        provider=provider,
        hits=80,
        misses=20,
        sets=20,
        deletes=0,
        errors=0,
        timeouts=0,
        short_circuited=0,
        keys=None,
        breaker_state="closed",
        latency={"get": summary},
        provider_stats=provider_stats,
    )


def test_provider_model_from_stats_keeps_remote_command_accounting() -> None:
    measured = ProviderModel.from_stats(
        _stats("redis", {"commands_by_name": {"GET": 100, "SET": 5}})
    )
    assert measured.commands.hit == 1.0 and measured.commands.miss == pytest.approx(1.25)
    for name in ("redis", "upstash", "custom"):  # no command counts: the defaults
        assert ProviderModel.from_stats(_stats(name, {})).commands == CommandsPerOp()


# -- estimate verdicts ----------------------------------------------------------------


def test_estimate_latency_and_origin_load_with_fixed_models() -> None:
    est = estimate({"hits": 900, "misses": 100}, provider=FAST, origin=ORIGIN, request_rate=200)
    assert est.hit_ratio == pytest.approx(0.9)
    assert est.no_cache_mean_ms == pytest.approx(10.0)
    assert est.cache_mean_ms == pytest.approx(0.9 * 1 + 0.1 * 12)  # hit: GET; miss: GET+db+SET
    assert est.cache_p50_ms == pytest.approx(1.0)
    assert est.cache_p99_ms == pytest.approx(12.0)
    assert est.no_cache_p99_ms == pytest.approx(10.0)
    assert est.latency_reduction_pct == pytest.approx(79.0)
    assert est.origin_rps_no_cache == 200
    assert est.origin_rps_cache == pytest.approx(20.0)
    assert est.origin_reduction_pct == pytest.approx(90.0)
    assert est.hit_ratio_ok and est.latency_ok and est.origin_ok and est.all_ok
    assert est.verdicts()["hit ratio"].startswith("PASS 90.0 %")
    row = est.to_frame()
    assert row.shape[0] == 1 and row["all_ok"].iloc[0]


def test_estimate_verdicts_fail_when_targets_are_missed() -> None:
    low = estimate({"hits": 700, "misses": 300}, provider=FAST, origin=ORIGIN)
    assert not low.hit_ratio_ok  # 70 % is not > 80 %
    assert low.origin_ok  # 70 % fewer database reads
    assert low.latency_ok  # mean 4.3 ms vs 10 ms
    assert not low.all_ok
    slow = ProviderModel("slow", get=LatencyModel.fixed(0.009), set=LatencyModel.fixed(0.001))
    worse = estimate({"hits": 900, "misses": 100}, provider=slow, origin=ORIGIN)
    assert worse.cache_mean_ms == pytest.approx(0.9 * 9 + 0.1 * 20)
    assert worse.latency_reduction_pct < 0 and not worse.latency_ok
    assert worse.verdicts()["response time"].startswith("FAIL")
    strict = estimate(
        {"hits": 900, "misses": 100}, provider=FAST, origin=ORIGIN, targets=Targets(0.95)
    )
    assert not strict.hit_ratio_ok


def test_single_flight_fills_reduce_origin_load() -> None:
    result = {"hits": 900, "misses": 100, "origin_reads": 25}
    est = estimate(result, provider=FAST, origin=ORIGIN, request_rate=100)
    assert est.origin_rps_cache == pytest.approx(2.5)


def test_app_time_is_added_to_both_sides() -> None:
    est = estimate({"hits": 900, "misses": 100}, provider=FAST, origin=ORIGIN, app=0.010)
    assert est.no_cache_mean_ms == pytest.approx(20.0)
    assert est.cache_mean_ms == pytest.approx(12.1)


def test_estimate_many_and_latency_samples() -> None:
    frame = estimate_many({"hits": 850, "misses": 150}, ["memory", "redis", "upstash"])
    assert list(frame["provider"]) == ["memory", "redis-same-az", "upstash-same-region"]
    assert {"cache_p99_ms", "monthly_cost_usd", "origin_reduction_pct"} <= set(frame.columns)
    assert frame["monthly_cost_usd"].iloc[0] == 0.0
    assert frame["monthly_cost_usd"].iloc[2] > 0
    samples = latency_samples({"hits": 850, "misses": 150}, ["memory", "upstash"], samples=1000)
    assert list(samples) == ["no cache", "memory", "upstash-same-region"]
    assert all(len(v) == 1000 and np.all(v > 0) for v in samples.values())


def test_estimate_rejects_empty_results() -> None:
    with pytest.raises(ValueError, match="no requests"):
        estimate({"hits": 0, "misses": 0})
    assert math.isfinite(estimate({"hits": 1, "misses": 0}).cache_mean_ms)
