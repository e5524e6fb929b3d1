"""The virtual engine: request semantics, TTL, warm-up, windows, and one semantics on every path."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cachesim.sim import (
    OP_DELETE,
    OP_GET,
    OP_SET,
    Workload,
    _kernels,
    simulate,
    uniform,
    with_rate,
    with_sizes,
    with_ttls,
    with_writes,
    zipf,
)
from cachesim.sim.engine import Simulation

needs_numba = pytest.mark.skipif(
    not _kernels.HAVE_NUMBA, reason="compiled kernels unavailable (no numba, or CACHESIM_NO_NUMBA)"
)

COUNTS = (
    "requests",
    "hits",
    "misses",
    "expirations",
    "evictions",
    "writes",
    "deletes",
    "bytes_requested",
    "bytes_hit",
)


def _counts(result: object) -> dict[str, int]:
    return {name: getattr(result, name) for name in COUNTS}


def _mixed(seed: int) -> Workload:
    """Writes, deletes, per-key TTL classes, Poisson times and per-key sizes together."""
    w = zipf(400, 30_000, 0.9, seed=seed)
    w = with_writes(w, 0.1, 0.03, mode="update" if seed % 2 else "invalidate", seed=seed)
    w = with_ttls(w, [5.0, 40.0, math.inf], seed=seed)
    w = with_rate(w, rate=20.0, seed=seed)
    return with_sizes(w, mean=50.0, seed=seed)


@needs_numba
@pytest.mark.parametrize("policy", ["lru", "fifo"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compiled_kernel_equals_the_shared_store(policy: str, seed: int) -> None:
    w = _mixed(seed)
    for unit, capacity in (("objects", 60), ("objects", 1), ("bytes", 3_000), ("bytes", 40)):
        for ttl in (None, 7.5):
            common = {"capacity": capacity, "policy": policy, "ttl": ttl, "warmup": 500}
            fast = simulate(w, unit=unit, window=1_000, engine="numba", **common)  # type: ignore[arg-type]
            slow = simulate(w, unit=unit, window=1_000, engine="python", **common)  # type: ignore[arg-type]
            assert fast.engine == "numba" and slow.engine == "python"
            assert _counts(fast) == _counts(slow), (unit, capacity, ttl)
            assert fast.windows is not None and slow.windows is not None
            assert fast.windows.equals(slow.windows)


@needs_numba
@pytest.mark.parametrize("policy", ["lru", "fifo"])
def test_key_trace_loop_equals_the_general_kernel_and_store(policy: str) -> None:
    w = zipf(3_000, 50_000, 0.8, seed=9)
    sparse = Workload(w.key * 7_919 - 10**12)  # negative, sparse ids
    codes, uniques = sparse.dense_keys()
    for capacity in (0, 1, 2, 17, 500, 5_000):
        plain = simulate(sparse, capacity, policy, warmup=1_000, window=5_000)
        store = simulate(sparse, capacity, policy, warmup=1_000, window=5_000, engine="python")
        general = Simulation(policy, capacity, warmup=1_000, window=5_000)
        general.feed(sparse, codes=codes, n_keys=len(uniques))
        assert general._mode == "kernel" and plain.engine == "numba"
        assert _counts(plain) == _counts(store) == _counts(general.result())
        assert plain.windows is not None and plain.windows.equals(store.windows)


@pytest.mark.parametrize("seed", [1, 2])
def test_opt_engines_agree_and_opt_is_the_ceiling(seed: int) -> None:
    w = _mixed(seed)
    for unit, capacity in (("objects", 50), ("bytes", 2_000)):
        fast = simulate(w, capacity, "opt", 10.0, unit=unit)  # type: ignore[arg-type]
        slow = simulate(w, capacity, "opt", 10.0, unit=unit, engine="python")  # type: ignore[arg-type]
        assert _counts(fast) == _counts(slow)
    plain = zipf(2_000, 40_000, 0.9, seed=seed)
    for capacity in (10, 100, 1_000):
        best = simulate(plain, capacity, "opt").hits
        for policy in ("lru", "fifo", "lfu", "arc", "s3fifo", "sieve", "clock"):
            assert simulate(plain, capacity, policy).hits <= best, policy


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_read_write_delete_semantics(engine: str) -> None:
    w = Workload(
        np.array([1, 1, 2, 1, 1, 2, 2]),
        op=np.array([OP_GET, OP_GET, OP_SET, OP_DELETE, OP_GET, OP_GET, OP_SET]),
    )
    r = simulate(w, 10, "lru", engine=engine)  # type: ignore[arg-type]
    # get 1 miss+fill, get 1 hit, set 2, delete 1, get 1 miss, get 2 hit, set 2
    assert (r.requests, r.hits, r.misses) == (4, 2, 2)
    assert (r.writes, r.deletes) == (2, 1)
    assert r.hit_ratio == 0.5 and r.miss_ratio == 0.5
    assert r.total_requests == len(w)


@pytest.mark.parametrize("engine", ["auto", "python"])
@pytest.mark.parametrize("policy", ["lru", "fifo", "sieve", "ttl"])
def test_expired_entries_are_misses_and_counted(engine: str, policy: str) -> None:
    w = Workload(np.array([7, 7, 7, 7]), time=np.array([0.0, 5.0, 10.0, 10.5]))
    r = simulate(w, 5, policy, ttl=10.0, engine=engine)  # type: ignore[arg-type]
    # t=0 miss (expires at 10), t=5 hit, t=10 expired -> miss + refill, t=10.5 hit
    assert (r.hits, r.misses, r.expirations) == (2, 2, 1)


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_per_request_ttl_overrides_the_default(engine: str) -> None:
    w = Workload(
        np.array([1, 1, 2, 2]),
        time=np.array([0.0, 3.0, 0.0, 3.0]),
        ttl=np.array([1.0, np.nan, math.inf, np.nan], dtype=np.float32),
    )
    r = simulate(w, 10, "lru", ttl=100.0, engine=engine)  # type: ignore[arg-type]
    assert (r.hits, r.expirations) == (1, 1)  # key 1 expired at 1.0, key 2 never expires


@pytest.mark.parametrize("engine", ["auto", "python"])
def test_expired_entries_are_purged_before_evicting(engine: str) -> None:
    # capacity 2: keys 1 and 2 expire at 1.0; at t=5 key 3 takes a purged slot, no eviction
    w = Workload(np.array([1, 2, 3, 4]), time=np.array([0.0, 0.0, 5.0, 5.0]))
    r = simulate(w, 2, "lru", ttl=1.0, engine=engine)  # type: ignore[arg-type]
    assert (r.evictions, r.expirations) == (0, 2)


def test_warmup_excludes_leading_requests() -> None:
    w = zipf(100, 10_000, seed=1)
    full = simulate(w, 10, "lru", window=1_000)
    warm = simulate(w, 10, "lru", warmup=2_000, window=1_000)
    assert warm.warmup == 2_000 and warm.requests == 8_000
    assert full.windows is not None and warm.windows is not None
    assert warm.hits == int(full.windows["hits"][2:].sum())
    assert warm.windows["warmup"].tolist() == [True, True] + [False] * 8
    frac = simulate(w, 10, "lru", warmup=0.25)
    assert frac.warmup == 2_500


def test_windows_by_requests_and_by_time() -> None:
    w = with_rate(zipf(50, 10_000, seed=2), rate=100.0, seed=1)
    r = simulate(w, 10, "lru", window=2_500)
    assert r.windows is not None
    assert list(r.windows.columns) == ["start", "end", "requests", "hits", "hit_ratio", "warmup"]
    assert r.windows["requests"].tolist() == [2_500] * 4
    assert r.windows["hits"].sum() == r.hits
    timed = simulate(w, 10, "lru", window_seconds=10.0)
    assert timed.windows is not None
    assert timed.windows["requests"].sum() == len(w)
    assert np.allclose(np.diff(timed.windows["start"]), 10.0)
    with pytest.raises(ValueError):
        simulate(w, 10, "lru", window=10, window_seconds=1.0)


def test_capacity_fractions_unbounded_and_bytes() -> None:
    w = with_sizes(uniform(1_000, 20_000, seed=3), mean=100.0)
    assert simulate(w, 0.1).capacity == 100
    unbounded = simulate(w, None)
    assert unbounded.hits == len(w) - w.n_unique and unbounded.evictions == 0
    by_bytes = simulate(w, 5_000, unit="bytes")
    by_objects = simulate(w, 5_000)
    assert by_bytes.hit_ratio < by_objects.hit_ratio
    assert 0 < by_bytes.byte_hit_ratio < 1


def test_result_frames_and_dict() -> None:
    r = simulate(zipf(100, 1_000), 10, "fifo")
    d = r.as_dict()
    for name in ("requests", "hits", "misses", "hit_ratio", "seconds", "requests_per_second"):
        assert name in d
    frame = r.to_frame()
    assert len(frame) == 1 and frame["hit_ratio"][0] == r.hit_ratio
    assert "fifo" in str(r)


def test_every_registered_policy_runs_and_options_reach_it() -> None:
    from cachesim.policies import POLICIES

    w = zipf(500, 10_000, seed=4)
    for name in POLICIES:
        r = simulate(w, 50, name)
        assert r.policy == name and r.requests == len(w)
    assert simulate(w, 50, "allkeys-lru").policy == "redis-lru"
    a = simulate(w, 50, "redis-lru", samples=1, seed=1).hits
    b = simulate(w, 50, "redis-lru", samples=16, seed=1).hits
    assert a != b
    with pytest.raises(ValueError, match="unknown eviction policy"):
        simulate(w, 50, "mru")
    with pytest.raises(ValueError, match="unit"):
        simulate(w, 50, unit="pages")  # type: ignore[arg-type]


@needs_numba
@pytest.mark.parametrize("policy", ["lru", "fifo"])
def test_overwrites_that_change_size_match_the_store(policy: str) -> None:
    rng = np.random.default_rng(5)
    base = with_writes(zipf(60, 20_000, 0.8, seed=5), 0.4, 0.05, mode="update", seed=6)
    w = base.with_columns(size=rng.integers(1, 200, size=len(base)))
    for capacity in (150, 400, 2_000):
        fast = simulate(w, capacity, policy, 50.0, unit="bytes", engine="numba")
        slow = simulate(w, capacity, policy, 50.0, unit="bytes", engine="python")
        assert _counts(fast) == _counts(slow), capacity
