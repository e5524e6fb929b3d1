"""Invariants of the virtual freshness engine over generated workloads and option sets."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachesim.sim.freshness import OUTCOMES, FreshnessOptions, SlowOrigin, simulate_freshness
from cachesim.sim.models import LatencyModel
from cachesim.sim.workload import Workload

FRESH, STALE, FILL, JOINED, FALLBACK, ERROR = range(6)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Workload, FreshnessOptions, SlowOrigin, dict[str, int]]:
    n = draw(st.integers(1, 120))
    keys = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    gaps = draw(st.lists(st.floats(0.001, 2.0), min_size=n, max_size=n))
    workload = Workload(np.asarray(keys), time=np.cumsum(gaps))
    ttl = draw(st.floats(0.5, 5.0))
    fail_safe = draw(st.one_of(st.none(), st.floats(0.5, 10.0)))
    soft = draw(st.one_of(st.none(), st.floats(0.01, 0.5))) if fail_safe else None
    hard = draw(st.one_of(st.none(), st.floats(0.6, 2.0)))
    early = draw(st.sampled_from(["none", "eager", "xfetch"]))
    options = FreshnessOptions(
        ttl=ttl,
        jitter=draw(st.sampled_from([0.0, 0.2])),
        grace=draw(st.one_of(st.none(), st.floats(0.1, 5.0))),
        fail_safe=fail_safe,
        fail_safe_throttle=draw(st.one_of(st.none(), st.floats(0.1, 3.0))) if fail_safe else None,
        eager_refresh=0.6 if early == "eager" else None,
        xfetch_beta=2.0 if early == "xfetch" else None,
        soft_timeout=soft,
        hard_timeout=hard,
        lock=draw(st.sampled_from([None, "none", "distributed"])),
    )
    origin = SlowOrigin(
        LatencyModel.lognormal(0.05, 0.8),
        failure_rate=draw(st.sampled_from([0.0, 0.3])),
        outages=((5.0, 8.0),),
        seed=draw(st.integers(0, 3)),
    )
    run = {"clients": draw(st.sampled_from([None, 1, 4])), "processes": draw(st.integers(1, 3))}
    return workload, options, origin, run


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_engine_invariants(
    scenario: tuple[Workload, FreshnessOptions, SlowOrigin, dict[str, int]],
) -> None:
    workload, options, origin, run = scenario
    r = simulate_freshness(workload, options, origin=origin, **run)  # type: ignore[arg-type]
    n = len(workload)
    out, ages, lat = r.outcomes, r.ages, r.latencies
    assert out.size == n and sum(r.count(o) for o in OUTCOMES) == n, "one answer per read"
    assert np.all(lat >= 0), "no read is answered before it arrives"
    assert np.all(np.isnan(ages) == (out == ERROR)), "every answer but an error has an age"
    served = ~np.isnan(ages)
    assert np.all(ages[served] >= 0)
    longest_life = options.ttl * (1 + options.jitter)
    assert np.all(ages[out == FRESH] < longest_life + 1e-9), "a fresh answer is within its TTL"
    assert np.all(ages[out == STALE] >= options.ttl - 1e-9), "a stale answer is past its TTL"
    assert np.all(lat[out == STALE] == 0) or run["clients"] is not None, "stale is at once"
    if not options.grace and options.fail_safe is None:
        assert r.stale_served == 0, "without grace or fail-safe nothing stale is served"
    # Nothing older than its life plus the stale window, plus the longest a reader waited.
    bound = longest_life + options.stale_window + float(lat.max(initial=0.0)) + 1e-9
    assert np.all(ages[served] <= bound)
    assert r.count("fill") <= r.origin_calls, "every fill is an origin call"
    if options.lock_mode == "distributed" and run["processes"] == 1:
        assert r.lock_waits == 0, "one process never waits for its own lock"
    if options.lock_mode == "local" and run["processes"] == 1:
        assert r.stampede_max <= 1, "single flight: one origin call per key at a time"
    if options.hard_timeout is not None and run["clients"] is None:
        waited = np.isin(out, (FILL, JOINED, FALLBACK, ERROR))
        assert np.all(lat[waited] <= options.hard_timeout + 1e-9), "no reader waits longer"
