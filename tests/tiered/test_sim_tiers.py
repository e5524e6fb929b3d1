"""cachesim.sim.tiers: predictions checked against N real TieredProvider instances."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from cachesim.sim import with_rate, with_ttls, with_writes, zipf
from cachesim.sim.models import LatencyModel
from cachesim.sim.tiers import TierOptions, replay_tiers_live, simulate_tiers


def _workload(requests: int = 20_000, seed: int = 3) -> object:
    work = zipf(2_000, requests, alpha=0.9, seed=seed)
    work = with_writes(work, write_ratio=0.03, delete_ratio=0.01, mode="update", seed=seed)
    work = with_ttls(work, [5.0, 60.0], weights=[0.5, 0.5], seed=seed)
    return with_rate(work, 200.0, seed=seed)


@pytest.mark.parametrize(
    "options",
    [
        TierOptions(instances=4, l1_size=200, l1_ttl_cap=10.0, backplane="local"),
        TierOptions(instances=3, l1_size=50, l1_ttl_cap=None, backplane="local", l2_size=800),
        TierOptions(instances=4, l1_size=200, backplane="local", routing="key"),
    ],
)
def test_prediction_matches_live_instances(options: TierOptions) -> None:
    work = _workload()
    predicted = simulate_tiers(work, options)  # type: ignore[arg-type]
    live = asyncio.run(replay_tiers_live(work, options))  # type: ignore[arg-type]
    for name in ("l1_hit_ratio", "l2_hit_ratio", "hit_ratio"):
        got, want = getattr(predicted, name), getattr(live, name)
        assert abs(got - want) <= 0.01, f"{name}: predicted {got:.4f}, live {want:.4f}"
    assert predicted.reads == live.reads
    assert predicted.l1_hits > 0


def test_staleness_window_is_bounded_by_the_poll_interval() -> None:
    work = _workload(10_000)
    for interval in (0.1, 1.0):
        result = simulate_tiers(work, backplane="polling", poll_interval=interval)  # type: ignore[arg-type]
        assert result.stale_reads > 0, "a polled backplane lets some L1 reads be stale"
        assert result.staleness.max() <= interval + 1e-9, (
            "no stale read may be older than one poll interval"
        )
    local = simulate_tiers(work, backplane="local")  # type: ignore[arg-type]
    assert local.stale_reads == 0, "a synchronous backplane never serves stale L1 reads"


def test_commands_and_latency_with_and_without_l1() -> None:
    hot = with_rate(with_writes(zipf(200, 20_000, alpha=1.0, seed=1), 0.01, mode="update"), 200.0)
    cold = _workload(10_000)
    saving = simulate_tiers(hot, backplane="polling", poll_interval=0.5)  # type: ignore[arg-type]
    assert saving.commands_per_1000() < saving.commands_per_1000(baseline=True), (
        "hot keys shared by few instances: L1 hits must save L2 commands"
    )
    costly = simulate_tiers(cold, backplane="polling", poll_interval=0.5)  # type: ignore[arg-type]
    assert costly.commands_per_1000() > costly.commands_per_1000(baseline=True), (
        "cold keys: GET+PTTL per L1 miss and XADD per write cost more than they save"
    )
    work = cold
    result = simulate_tiers(work, backplane="polling", poll_interval=0.5)  # type: ignore[arg-type]
    by_name = result.commands_by_name
    reads_below = result.l2_hits + result.l2_misses
    assert by_name["GET"] == by_name["PTTL"] == reads_below, "an L1 miss costs GET + PTTL"
    assert by_name["XRANGE"] == int(4 * result.seconds / 0.5), "one XRANGE per poll per instance"
    l2 = LatencyModel.lognormal(0.005, 0.03)
    p50, p99 = result.latency_ms(l2)
    b50, b99 = result.latency_ms(l2, baseline=True)
    assert p50 < b50, "L1 hits make the median read faster"
    assert result.monthly_cost(100.0) == pytest.approx(
        result.l2_commands / result.requests * 100 * 30 * 86_400 * 0.20 / 100_000
    )
    assert np.isfinite(p99) and np.isfinite(b99)
    frame = result.to_frame()
    assert {"l1_hit_ratio", "commands_per_1000", "staleness_p99_ms"} <= set(frame.columns)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="backplane"):
        TierOptions(backplane="carrier-pigeon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="in-process backplane"):
        asyncio.run(replay_tiers_live(zipf(10, 10), backplane="polling"))
