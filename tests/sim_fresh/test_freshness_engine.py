"""The virtual freshness engine against hand-computed timelines, one option at a time.

The origin takes a fixed 1 s unless a test says otherwise, so every answer time,
latency and age below can be worked out on paper; each test states the timeline.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from cachesim.errors import ConfigurationError
from cachesim.sim.freshness import (
    OUTCOMES,
    FreshnessOptions,
    FreshnessResult,
    SlowOrigin,
    compare,
    plot_tradeoff,
    simulate_freshness,
    simulate_many,
    summarize,
    uniform,
)
from cachesim.sim.models import LatencyModel
from cachesim.sim.workload import Workload, with_rate, zipf

ONE_SECOND = SlowOrigin(latency=1.0)


def reads(times: list[float], keys: list[int] | None = None) -> Workload:
    """Reads at the given times (of key 0 unless ``keys`` says otherwise)."""
    return Workload(np.asarray(keys or [0] * len(times)), time=np.asarray(times, dtype=float))


def outcomes(result: FreshnessResult) -> list[str]:
    return [OUTCOMES[c] for c in result.outcomes]


def run(times: list[float], options: FreshnessOptions | None, **kw: object) -> FreshnessResult:
    kw.setdefault("origin", ONE_SECOND)
    return simulate_freshness(reads(times, kw.pop("keys", None)), options, **kw)  # type: ignore[arg-type]


def test_plain_ttl_single_flight_timeline() -> None:
    # 0: miss, origin 0..1, entry fresh until 11.  0.5: joins the fill.  5: hit, age 4.
    # 11.5: expired, fills until 12.5.  12: joins.
    r = run([0, 0.5, 5, 11.5, 12], FreshnessOptions(ttl=10))
    assert outcomes(r) == ["fill", "joined", "fresh", "fill", "joined"]
    assert r.latencies.tolist() == [1.0, 0.5, 0.0, 1.0, 0.5]
    assert r.ages.tolist() == [0.0, 0.0, 4.0, 0.0, 0.0]
    assert r.origin_calls == 2, "single flight: one origin call per expiry"
    assert r.stampede_max == 1 and r.duplicate_calls == 0
    assert r.hits == 1 and r.stale_served == 0


def test_no_lock_stampedes() -> None:
    # Without protection the read at 0.5 calls the origin too: two calls in flight for the key.
    r = run([0, 0.5, 5, 11.5, 12], FreshnessOptions(ttl=10, lock="none"))
    assert outcomes(r) == ["fill", "fill", "fresh", "fill", "fill"]
    assert r.latencies.tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]
    assert r.origin_calls == 4
    assert r.stampede_max == 2 and r.duplicate_calls == 2, "concurrent origin calls per key"


def test_no_cache_baseline_calls_the_origin_for_every_read() -> None:
    r = run([0, 0.5, 5], None)
    assert outcomes(r) == ["fill", "fill", "fill"] and r.origin_calls == 3
    assert r.name == "no cache"


def test_grace_serves_stale_at_once_and_refreshes_once() -> None:
    # 0: fill, born 1, expires 11, kept until 16.  12: stale (age 11), refresh 12..13.
    # 12.5: stale (age 11.5), the refresh is running.  13.5: fresh, born 13 (age 0.5).
    r = run([0, 12, 12.5, 13.5], FreshnessOptions(ttl=10, grace=5))
    assert outcomes(r) == ["fill", "stale", "stale", "fresh"]
    assert r.latencies.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert r.ages.tolist() == [0.0, 11.0, 11.5, 0.5]
    assert r.background_refreshes == 1 and r.origin_calls == 2
    assert r.stale_served == 2 and r.stale_ratio == 0.5
    assert r.as_dict()["stale_age_max_s"] == 11.5


def test_failed_background_refresh_backs_off() -> None:
    # Born 1, expires 6, kept until 36; the origin is down from 10 to 20.  12: stale,
    # refresh 12..13 fails.  13.5: stale, no refresh (backoff until 14).  14.5: stale,
    # refresh 14.5..15.5 fails.  The entry is left as it was.
    opts = FreshnessOptions(ttl=5, grace=30)
    r = run([0, 12, 13.5, 14.5], opts, origin=SlowOrigin(latency=1.0, outages=((10.0, 20.0),)))
    assert outcomes(r) == ["fill", "stale", "stale", "stale"]
    assert r.ages.tolist() == [0.0, 11.0, 12.5, 13.5]
    assert r.background_refreshes == 2 and r.origin_calls == 3 and r.origin_failures == 2
    assert r.fail_safe_activations == 0, "a failed background refresh is not a fail-safe answer"
    eager = run([0, 12, 13.5, 14.5], opts, refresh_backoff=0.0, origin=FAILING_EARLY)
    assert eager.background_refreshes == 3, "without the backoff every stale read refreshes"


FAILING_EARLY = SlowOrigin(latency=1.0, outages=((10.0, 20.0),))


def test_grace_window_ends() -> None:
    # Born 1, kept until 16: a read at 17 finds nothing and waits for the origin.
    r = run([0, 17], FreshnessOptions(ttl=10, grace=5))
    assert outcomes(r) == ["fill", "fill"]


FAILING = SlowOrigin(latency=1.0, outages=((20.0, 30.0),))


def test_fail_safe_serves_the_last_good_value_and_throttles() -> None:
    # 0: fill (born 1, expires 11).  21: origin call fails at 22: fallback (age 21),
    # retry not before 27.  23: throttled: stale at once.  28: call fails at 29: fallback,
    # retry not before 34.  35: outage over: fill at 36.
    opts = FreshnessOptions(ttl=10, fail_safe=100, fail_safe_throttle=5)
    r = run([0, 21, 23, 28, 35], opts, origin=FAILING)
    assert outcomes(r) == ["fill", "fallback", "stale", "fallback", "fill"]
    assert r.latencies.tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]
    assert r.ages.tolist() == [0.0, 21.0, 22.0, 28.0, 0.0]
    assert r.fail_safe_activations == 2
    assert r.origin_calls == 4 and r.origin_failures == 2
    assert r.errors == 0, "fail-safe: no read fails while a last good value is kept"


def test_without_fail_safe_failures_reach_the_reader() -> None:
    r = run([0, 21, 23], FreshnessOptions(ttl=10), origin=FAILING)
    assert outcomes(r) == ["fill", "error", "error"]
    assert r.errors == 2 and r.fail_safe_activations == 0
    assert math.isnan(r.ages[1]), "an error serves no value"


def test_fail_safe_window_is_counted_from_expiry_and_throttle_is_capped() -> None:
    opts = FreshnessOptions(ttl=10, fail_safe=3)
    assert opts.throttle == 3.0, "the 30 s default throttle is capped at fail_safe"
    # Born 1, expires 11, kept until 14.  12.5: the call fails at 13.5, the value is still
    # kept: fallback.  13.7: throttled, stale at once.  14.5: nothing is kept any more.
    r = run([0, 12.5, 13.7, 14.5], opts, origin=SlowOrigin(latency=1.0, outages=((12.0, 20.0),)))
    assert outcomes(r) == ["fill", "fallback", "stale", "error"]


def test_soft_timeout_answers_stale_and_lets_the_call_finish() -> None:
    # 21: the origin call 21..22 is slower than 0.2 s: fallback at 21.2 (age 20.2);
    # the call stores its value at 22, so 22.5 is fresh (age 0.5).
    opts = FreshnessOptions(ttl=10, fail_safe=100, soft_timeout=0.2)
    r = run([0, 21, 22.5], opts)
    assert outcomes(r) == ["fill", "fallback", "fresh"]
    assert r.latencies[1] == pytest.approx(0.2)
    assert r.ages[1] == pytest.approx(20.2) and r.ages[2] == pytest.approx(0.5)
    assert r.soft_timeouts == 1 and r.background_refreshes == 1
    assert r.origin_calls == 2


def test_a_load_that_fails_after_a_soft_timeout_still_throttles() -> None:
    # 21: the call 21..22 fails; the reader left at 21.2 with the fail-safe value.  The
    # failure still activates fail-safe: 23 is served stale without a call (retry at 27).
    opts = FreshnessOptions(ttl=10, fail_safe=100, fail_safe_throttle=5, soft_timeout=0.2)
    r = run([0, 21, 23, 28], opts, origin=FAILING)
    assert outcomes(r) == ["fill", "fallback", "stale", "fallback"]
    assert r.fail_safe_activations == 2 and r.origin_calls == 3
    assert r.soft_timeouts == 2


def test_soft_timeout_counts_every_reader_that_gets_the_stale_value() -> None:
    # 21 and 21.1 wait for the same call (21..22): each gets the fallback at its own 0.2 s.
    opts = FreshnessOptions(ttl=10, fail_safe=100, soft_timeout=0.2)
    r = run([0, 21, 21.1], opts)
    assert outcomes(r) == ["fill", "fallback", "fallback"]
    assert r.latencies[1:].tolist() == [pytest.approx(0.2), pytest.approx(0.2)]
    assert r.soft_timeouts == 2 and r.stale_served == 2 and r.origin_calls == 2


def test_soft_timeout_does_not_apply_without_a_value() -> None:
    opts = FreshnessOptions(ttl=10, fail_safe=100, soft_timeout=0.2)
    r = run([0], opts)
    assert outcomes(r) == ["fill"] and r.latencies.tolist() == [1.0]
    assert r.soft_timeouts == 0


def test_hard_timeout_fails_without_a_value_and_the_call_still_stores() -> None:
    # 0: gives up at 0.5 (error); the call stores at 1, so the read at 2 is fresh (age 1).
    r = run([0, 2], FreshnessOptions(ttl=10, hard_timeout=0.5))
    assert outcomes(r) == ["error", "fresh"]
    assert r.latencies.tolist() == [0.5, 0.0] and r.ages[1] == 1.0
    assert r.hard_timeouts == 1 and r.origin_calls == 1


def test_hard_timeout_with_fail_safe_serves_stale() -> None:
    # 0: error at 0.5, stored at 1 (expires 11).  2: fresh.  21: the call 21..22 is cut at
    # 21.5: the fail-safe value (age 20.5).
    r = run([0, 2, 21], FreshnessOptions(ttl=10, fail_safe=100, hard_timeout=0.5))
    assert outcomes(r) == ["error", "fresh", "fallback"]
    assert r.latencies[2] == 0.5 and r.ages[2] == 20.5
    assert r.hard_timeouts == 2


def test_eager_refresh_refreshes_fresh_entries_in_the_background() -> None:
    # Born 1, expires 11, eager from 1 + 0.5 * 10 = 6.  5: fresh, no refresh.  7: fresh,
    # refresh 7..8.  7.5: fresh (age 6.5), the refresh runs.  9: fresh, born 8 (age 1).
    r = run([0, 5, 7, 7.5, 9], FreshnessOptions(ttl=10, eager_refresh=0.5))
    assert outcomes(r) == ["fill", "fresh", "fresh", "fresh", "fresh"]
    assert r.ages.tolist() == [0.0, 4.0, 6.0, 6.5, 1.0]
    assert r.early_recomputes == 1 and r.background_refreshes == 1
    assert r.origin_calls == 2 and r.stale_served == 0


def test_xfetch_follows_the_published_rule() -> None:
    # Entry born 1 (delta = 1 s, the recompute time), expires 11.  The n-th read of the key
    # refreshes early when t - delta * beta * ln(U_n) >= 11.  Reads 1..3 fall before any
    # refresh can land (they are 0.01 s apart, the refresh takes 1 s).
    beta, seed = 2.0, 7
    times = [0, 8.0, 8.01, 8.02]
    r = run(times, FreshnessOptions(ttl=10, xfetch_beta=beta), seed=seed)
    decisions = [
        t - 1.0 * beta * math.log(uniform(seed, 4, 0, n)) >= 11 for n, t in enumerate(times[1:])
    ]
    expected = 1 if any(decisions) else 0  # one refresh runs at a time
    assert r.early_recomputes == expected
    assert outcomes(r)[1:] == ["fresh"] * 3


def test_xfetch_refreshes_more_with_a_larger_beta() -> None:
    w = with_rate(zipf(20, 5_000, alpha=1.0, seed=3), rate=50)
    origin = SlowOrigin(LatencyModel.lognormal(0.05, 0.3))
    early = [
        simulate_freshness(
            w, FreshnessOptions(ttl=5, xfetch_beta=b), origin=origin
        ).early_recomputes
        for b in (0.5, 2.0, 8.0)
    ]
    assert early[0] < early[1] < early[2], f"early recomputes must grow with beta: {early}"


def test_jitter_stretches_each_write() -> None:
    opts = FreshnessOptions(ttl=10, jitter=0.5)
    expires = 1.0 + 10.0 * (1 + 0.5 * uniform(0, 3, 0, 0))
    r = run([0, expires - 0.001, expires + 0.001], opts)
    assert outcomes(r) == ["fill", "fresh", "fill"]
    assert 11.0 < expires < 16.0


def test_distributed_lock_one_call_across_processes() -> None:
    # processes=2: read 0 (process 0) takes the lock and calls 0..1; read 1 (process 1,
    # at 0.05) finds the lock taken and polls at 0.15, 0.35, 0.75, 1.15 (0.1 doubling,
    # capped at 0.4): at 1.15 the value born at 1 is there.
    opts = FreshnessOptions(ttl=10, lock="distributed")
    r = run([0, 0.05], opts, processes=2, lock_poll=0.1, lock_poll_max=0.4)
    assert outcomes(r) == ["fill", "joined"]
    assert r.latencies[1] == pytest.approx(1.1)
    assert r.origin_calls == 1 and r.lock_waits == 1 and r.stampede_max == 1
    local = run([0, 0.05], FreshnessOptions(ttl=10), processes=2)
    assert local.origin_calls == 2 and local.stampede_max == 2, "local locks are per process"


def test_distributed_lock_wait_gives_up_and_calls_the_origin() -> None:
    # lock_wait 0.3: polls at 0.15 and 0.35 (the deadline), then calls 0.35..1.35 itself.
    opts = FreshnessOptions(ttl=10, lock="distributed", lock_wait=0.3)
    r = run([0, 0.05], opts, processes=2, lock_poll=0.1, lock_poll_max=0.4)
    assert outcomes(r) == ["fill", "fill"]
    assert r.latencies[1] == pytest.approx(1.3)
    assert r.lock_timeouts == 1 and r.origin_calls == 2


def test_distributed_lock_expires_when_the_holder_is_slow() -> None:
    # The holder's call takes 3 s but its lock lives 1 s: the waiter takes the lock at its
    # poll at 1.15 and calls the origin too (two calls in flight).
    opts = FreshnessOptions(ttl=10, lock="distributed", lock_ttl=1.0, lock_wait=5.0)
    r = run([0, 0.05], opts, processes=2, lock_poll=0.1, lock_poll_max=0.4, origin=SlowOrigin(3.0))
    assert r.origin_calls == 2 and r.stampede_max == 2
    assert r.latencies[1] == pytest.approx(1.1 + 3.0)


def test_clients_queue_requests() -> None:
    # One client: the read of key 1 arriving at 0.1 starts when key 0's fill ends at 1.
    r = run([0, 0.1], FreshnessOptions(ttl=10), keys=[0, 1], clients=1)
    assert r.latencies.tolist() == [1.0, pytest.approx(1.9)]
    unbounded = run([0, 0.1], FreshnessOptions(ttl=10), keys=[0, 1])
    assert unbounded.latencies.tolist() == [1.0, 1.0]


def test_warmup_is_replayed_but_not_counted() -> None:
    r = run([0, 0.5, 5, 11.5, 12], FreshnessOptions(ttl=10), warmup=2)
    assert r.requests == 3 and r.hits == 1
    assert r.origin_calls == 1, "only origin calls from the first counted arrival on"
    assert r.duration == 7.0


def test_runs_are_deterministic() -> None:
    w = with_rate(zipf(50, 3_000, alpha=1.1, seed=1), rate=100)
    origin = SlowOrigin(LatencyModel.lognormal(0.05, 0.5), failure_rate=0.2, seed=3)
    opts = FreshnessOptions(ttl=2, jitter=0.2, grace=2, fail_safe=30, xfetch_beta=1.0)
    a = simulate_freshness(w, opts, origin=origin, clients=8, processes=2, seed=5)
    b = simulate_freshness(w, opts, origin=origin, clients=8, processes=2, seed=5)
    assert np.array_equal(a.outcomes, b.outcomes) and np.array_equal(a.latencies, b.latencies)
    c = simulate_freshness(w, opts, origin=origin, clients=8, processes=2, seed=6)
    assert not np.array_equal(a.outcomes, c.outcomes), "the seed drives jitter and XFetch"


def test_origin_failure_rate_is_honoured() -> None:
    origin = SlowOrigin(latency=0.01, failure_rate=0.3, seed=1)
    failures = sum(origin.fails(k, n, 0.0) for k in range(100) for n in range(100))
    assert 2_700 < failures < 3_300, f"about 30 % of 10,000 calls must fail, got {failures}"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": 0}, "ttl"),
        ({"ttl": 10, "jitter": 2}, "jitter"),
        ({"ttl": 10, "eager_refresh": 1.0}, "eager_refresh"),
        ({"ttl": 10, "eager_refresh": 0.5, "xfetch_beta": 1.0}, "not both"),
        ({"ttl": 10, "soft_timeout": 0.1}, "fail_safe"),
        ({"ttl": 10, "fail_safe_throttle": 5}, "fail_safe"),
        ({"ttl": 10, "fail_safe": 9, "soft_timeout": 1, "hard_timeout": 1}, "shorter"),
        ({"ttl": 10, "lock": "global"}, "lock"),
        ({"ttl": 10, "lock_ttl": 3}, "distributed"),
    ],
)
def test_bad_options_raise_with_the_fix(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        FreshnessOptions(**kwargs)  # type: ignore[arg-type]


def test_options_mirror_an_entry_options_object() -> None:
    entry = SimpleNamespace(
        ttl=None, jitter=0.1, grace=30.0, fail_safe=600.0, fail_safe_throttle=None,
        eager_refresh=None, xfetch_beta=1.0, soft_timeout=0.1, hard_timeout=2.0,
        lock="distributed", lock_ttl=None, lock_wait=None, tags=("a",),
    )  # fmt: skip
    with pytest.raises(ConfigurationError, match="default_ttl"):
        FreshnessOptions.from_entry_options(entry)
    opts = FreshnessOptions.from_entry_options(entry, default_ttl=60)
    assert (opts.ttl, opts.grace, opts.fail_safe, opts.throttle) == (60.0, 30.0, 600.0, 30.0)
    assert opts.xfetch_beta == 1.0 and opts.lock == "distributed"
    assert opts.stale_window == 600.0
    result = simulate_freshness(reads([0, 1]), {"ttl": 10, "grace": 5}, origin=ONE_SECOND)
    assert result.options == FreshnessOptions(ttl=10, grace=5)


def test_reads_only_and_sorted_times() -> None:
    w = Workload(np.array([0, 0]), time=np.array([0.0, 1.0]), op=np.array([0, 1]))
    with pytest.raises(ValueError, match="reads"):
        simulate_freshness(w, FreshnessOptions(ttl=1))
    with pytest.raises(ValueError, match="backwards"):
        simulate_freshness(reads([1.0, 0.0]), FreshnessOptions(ttl=1))


def test_compare_and_plot() -> None:
    w = with_rate(zipf(30, 4_000, alpha=1.2, seed=2), rate=100)
    origin = SlowOrigin(LatencyModel.lognormal(0.05, 0.4), failure_rate=0.1)
    frame = compare(
        w,
        {"ttl": FreshnessOptions(ttl=5), "grace": FreshnessOptions(ttl=5, grace=20)},
        origin=origin,
        clients=16,
    )
    assert frame["name"].tolist() == ["no cache", "ttl", "grace"]
    base, ttl, grace = (frame.iloc[i] for i in range(3))
    assert base["origin_calls"] == base["requests"] and base["hit_ratio"] == 0
    assert grace["stale_ratio"] > 0 and ttl["stale_ratio"] == 0
    assert grace["latency_p99_ms"] < ttl["latency_p99_ms"], "grace takes waits off the tail"
    assert ttl["origin_reduction"] == pytest.approx(1 - ttl["origin_calls"] / base["origin_calls"])
    for column in ("hit_ratio_ok", "latency_ok", "origin_ok", "all_ok"):
        assert frame[column].dtype == bool
    fig = plot_tradeoff(frame)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "origin calls per second"
    assert ax.get_ylabel() == "p99 response time (ms)"
    assert ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "grace" in labels and any("no cache" in label for label in labels)


def test_simulate_many_and_summarize() -> None:
    w = reads([0, 0.5, 5, 11.5, 12])
    results = simulate_many(
        w, [FreshnessOptions(ttl=10), FreshnessOptions(ttl=10, lock="none")], origin=ONE_SECOND
    )
    assert list(results) == ["no cache", "ttl=10", "ttl=10, lock=none"]
    frame = summarize(results)
    assert frame["origin_reduction"].tolist() == pytest.approx([0.0, 0.6, 0.2])
    bare = summarize([results["ttl=10"]])
    assert "all_ok" not in bare.columns, "no verdicts without a no-cache reference"


def test_plain_options() -> None:
    assert FreshnessOptions(ttl=1).plain and FreshnessOptions(ttl=1, lock="none").plain
    assert not FreshnessOptions(ttl=1, grace=1).plain
    assert not FreshnessOptions(ttl=1, lock="distributed").plain
