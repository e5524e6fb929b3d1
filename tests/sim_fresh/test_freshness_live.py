"""Live replay through the real Cache (memory provider, injected clock) agrees with the engine.

The live side runs N concurrent asyncio clients, one ``Cache`` per simulated process
over one ``MemoryProvider``, on a virtual-time event loop: the same origin draws, the
same workload.  Agreement is read by read: every outcome equal, every latency and age
within 1e-9 s (float rounding of timer arithmetic), the same origin calls and the
same stampede sizes.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from cachesim.clock import ManualClock
from cachesim.errors import ConfigurationError
from cachesim.sim.freshness import (
    OUTCOMES,
    FreshnessOptions,
    FreshnessResult,
    SlowOrigin,
    simulate_freshness,
)
from cachesim.sim.freshness_live import (
    VirtualTimeLoop,
    replay_freshness_live,
)
from cachesim.sim.models import LatencyModel
from cachesim.sim.workload import Workload, with_rate, zipf

TOLERANCE = 1e-9  # seconds


@pytest.fixture(scope="module")
def hot_keys() -> Workload:
    """A hot-key workload: 4,000 reads of 60 Zipf(1.1) keys at 200 per second."""
    return with_rate(zipf(60, 4_000, alpha=1.1, seed=11), rate=200, seed=12)


ORIGIN = SlowOrigin(
    LatencyModel.lognormal(0.05, 0.5), failure_rate=0.1, outages=((8.0, 9.5),), seed=4
)


def assert_agree(virtual: FreshnessResult, live: FreshnessResult) -> None:
    differ = np.nonzero(virtual.outcomes != live.outcomes)[0]
    assert differ.size == 0, (
        f"live and virtual outcomes must agree read by read; first difference at read "
        f"{differ[:1].tolist()}: {[OUTCOMES[virtual.outcomes[i]] for i in differ[:1]]} vs "
        f"{[OUTCOMES[live.outcomes[i]] for i in differ[:1]]}"
    )
    assert np.max(np.abs(virtual.latencies - live.latencies)) <= TOLERANCE
    served = ~np.isnan(virtual.ages)
    assert np.array_equal(served, ~np.isnan(live.ages))
    assert np.max(np.abs(virtual.ages[served] - live.ages[served]), initial=0.0) <= TOLERANCE
    for name in ("origin_calls", "origin_failures", "stampede_max", "duplicate_calls"):
        assert getattr(virtual, name) == getattr(live, name), f"{name} must agree"
    assert virtual.as_dict()["latency_p99_ms"] == pytest.approx(
        live.as_dict()["latency_p99_ms"], abs=TOLERANCE * 1000
    )


@pytest.mark.parametrize(
    "options",
    [None, FreshnessOptions(ttl=2.0), FreshnessOptions(ttl=2.0, lock="none")],
    ids=["no-cache", "ttl-single-flight", "ttl-no-lock"],
)
@pytest.mark.parametrize(
    ("clients", "processes"), [(None, 1), (16, 1), (16, 4)], ids=["open", "16x1", "16x4"]
)
def test_live_replay_agrees_with_the_virtual_engine(
    hot_keys: Workload, options: FreshnessOptions | None, clients: int | None, processes: int
) -> None:
    run = {"origin": ORIGIN, "clients": clients, "processes": processes, "warmup": 200}
    virtual = simulate_freshness(hot_keys, options, **run)  # type: ignore[arg-type]
    live = replay_freshness_live(hot_keys, options, **run)  # type: ignore[arg-type]
    assert live.engine == "live" and virtual.engine == "virtual"
    assert_agree(virtual, live)
    if options is not None:
        # The scenario exercises what it claims: fills, joins or stampedes, and errors.
        assert virtual.count("fill") > 0 and virtual.errors > 0 and virtual.hits > 0
        if options.lock_mode == "none" or processes > 1:
            assert virtual.stampede_max > 1, "concurrent origin calls for one key must occur"
        else:
            assert virtual.stampede_max == 1, "one process with single flight: one call per key"
            assert virtual.count("joined") > 0


def test_single_flight_of_the_real_cache_shows_in_the_counts(hot_keys: Workload) -> None:
    # The same traffic through the real Cache with and without its single flight.
    local = replay_freshness_live(hot_keys, FreshnessOptions(ttl=2.0), origin=ORIGIN, clients=16)
    none = replay_freshness_live(
        hot_keys, FreshnessOptions(ttl=2.0, lock="none"), origin=ORIGIN, clients=16
    )
    assert local.origin_calls < none.origin_calls
    assert local.stampede_max == 1 < none.stampede_max


WITH_OPTIONS = [
    FreshnessOptions(ttl=2.0, grace=3.0),
    FreshnessOptions(ttl=2.0, fail_safe=20.0, fail_safe_throttle=1.0),
    FreshnessOptions(ttl=2.0, fail_safe=20.0, soft_timeout=0.05, hard_timeout=0.3),
    FreshnessOptions(ttl=2.0, hard_timeout=0.2),
    FreshnessOptions(ttl=2.0, eager_refresh=0.7),
    FreshnessOptions(
        ttl=2.0, grace=3.0, fail_safe=20.0, eager_refresh=0.7, soft_timeout=0.05, hard_timeout=0.3
    ),
]


@pytest.mark.parametrize("options", WITH_OPTIONS, ids=lambda o: o.label)
@pytest.mark.parametrize("clients", [None, 16], ids=["open", "16-clients"])
def test_live_replay_with_options_agrees(
    hot_keys: Workload, options: FreshnessOptions, clients: int | None
) -> None:
    # One process: every option that draws no random number replays read by read.  This
    # needs every timer of the cache layer (the backoff after a failed refresh, the lock
    # deadline) to run on the cache's clock, as everything else does.
    virtual = simulate_freshness(hot_keys, options, origin=ORIGIN, clients=clients)
    live = replay_freshness_live(hot_keys, options, origin=ORIGIN, clients=clients)
    assert_agree(virtual, live)
    assert virtual.stale_served == live.stale_served
    assert (virtual.stale_served > 0) == bool(options.grace or options.fail_safe)
    for counter in ("background_refreshes", "early_recomputes", "fail_safe_activations"):
        assert getattr(live, counter) == getattr(virtual, counter), f"{counter} must agree"


@pytest.mark.parametrize(
    "options",
    [
        FreshnessOptions(ttl=2.0, jitter=0.1),
        FreshnessOptions(ttl=2.0, xfetch_beta=1.0),
        FreshnessOptions(ttl=2.0, lock="distributed"),
    ],
    ids=["jitter", "xfetch", "distributed"],
)
def test_live_replay_refuses_random_draws_it_cannot_reproduce(
    hot_keys: Workload, options: FreshnessOptions
) -> None:
    with pytest.raises(ConfigurationError, match="simulate_freshness"):
        replay_freshness_live(hot_keys, options, origin=ORIGIN)


def test_virtual_time_loop_jumps_to_the_next_timer() -> None:
    clock = ManualClock(100.0)
    loop = VirtualTimeLoop(clock)

    async def scenario() -> list[float]:
        seen = []
        await asyncio.sleep(3600.0)
        seen.append(loop.time())
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.5):
                await asyncio.sleep(10.0)
        seen.append(loop.time())
        await asyncio.gather(asyncio.sleep(1.0), asyncio.sleep(0.25))
        seen.append(loop.time())
        return seen

    try:
        seen = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert seen == [pytest.approx(3700.0), pytest.approx(3702.5), pytest.approx(3703.5)]
    assert clock.now() == pytest.approx(3703.5), "the loop's time is the injected clock"


def test_virtual_time_loop_reports_a_deadlock() -> None:
    loop = VirtualTimeLoop()

    async def forever() -> None:
        await asyncio.get_running_loop().create_future()

    try:
        with pytest.raises(RuntimeError, match="deadlock"):
            loop.run_until_complete(forever())
    finally:
        loop.close()


async def test_live_replay_runs_from_inside_an_event_loop(hot_keys: Workload) -> None:
    # As in a notebook: a running loop in this thread; the replay uses its own loop.
    live = replay_freshness_live(hot_keys[:500], FreshnessOptions(ttl=2.0), origin=ORIGIN)
    virtual = simulate_freshness(hot_keys[:500], FreshnessOptions(ttl=2.0), origin=ORIGIN)
    assert_agree(virtual, live)
