"""Miss-ratio curves: exact one-pass LRU, SHARDS sampling and per-size simulation."""

from __future__ import annotations

import numpy as np
import pytest

from cachesim.sim import (
    Workload,
    default_sizes,
    miss_ratio_curve,
    shards_sample,
    simulate,
    with_ttls,
    with_writes,
    zipf,
)


@pytest.mark.parametrize("delete_ratio", [0.0, 0.03])
def test_exact_curve_equals_one_simulation_per_size(delete_ratio: float) -> None:
    w = zipf(2_000, 40_000, 0.9, seed=1)
    w = with_writes(w, 0.1, delete_ratio, mode="update", seed=2)
    sizes = [1, 5, 50, 500, 1_999, 5_000]
    frame = miss_ratio_curve(w, sizes, warmup=3_000)
    assert list(frame.columns) == ["capacity", "hit_ratio", "miss_ratio"]
    for capacity, hit_ratio in zip(frame["capacity"], frame["hit_ratio"], strict=True):
        result = simulate(w, int(capacity), "lru", warmup=3_000)
        assert hit_ratio == pytest.approx(result.hit_ratio, abs=1e-12)
    python = miss_ratio_curve(w, sizes, warmup=3_000, engine="python")
    assert np.array_equal(python["hit_ratio"], frame["hit_ratio"])
    assert np.allclose(frame["hit_ratio"] + frame["miss_ratio"], 1.0)
    assert frame.attrs["method"] == "exact"


def test_default_sizes_and_fractions() -> None:
    w = zipf(10_000, 50_000, seed=3)
    frame = miss_ratio_curve(w)
    assert frame["capacity"].tolist() == default_sizes(w)
    assert np.all(np.diff(frame["hit_ratio"]) >= 0)  # LRU is a stack algorithm
    assert miss_ratio_curve(w, [0.1])["capacity"].tolist() == [w.n_unique // 10]


def test_simulate_method_handles_any_policy_and_ttl() -> None:
    w = with_ttls(zipf(1_000, 20_000, seed=4), [5.0, 500.0])
    frame = miss_ratio_curve(w, [10, 100], method="simulate", policy="s3fifo", ttl=50.0)
    assert frame["hit_ratio"].tolist() == [
        simulate(w, c, "s3fifo", 50.0).hit_ratio for c in (10, 100)
    ]
    with pytest.raises(ValueError, match="TTL"):
        miss_ratio_curve(w, [10])
    with pytest.raises(ValueError, match="LRU"):
        miss_ratio_curve(zipf(10, 100), [1], policy="fifo")


def test_shards_samples_whole_keys() -> None:
    w = zipf(5_000, 50_000, seed=5)
    mask, rate = shards_sample(w, 0.1, seed=1)
    assert rate == 0.1
    sampled = set(w.key[mask].tolist())
    assert not sampled & set(w.key[~mask].tolist())  # a key is in or out, all its requests
    assert len(sampled) / w.n_unique == pytest.approx(0.1, abs=0.02)
    mask2, rate2 = shards_sample(w, max_samples=300)
    assert len(set(w.key[mask2].tolist())) == 300 and 0 < rate2 < 1
    named = Workload.from_keys([f"k{i % 100}" for i in range(1_000)])
    assert shards_sample(named, 0.5)[0].any()


def test_shards_one_percent_mean_absolute_error_is_within_a_hundredth() -> None:
    """SHARDS at R = 1%: mean absolute error <= 0.01 against the exact curve.

    The error is a sampling error, so it is averaged over five hash salts (each
    salt is one independent sample); no single salt may exceed 0.015.
    """
    w = zipf(2_000_000, 4_000_000, 0.5, seed=7)  # ~1.5 M distinct keys, ~15 k sampled
    sizes = [int(w.n_unique * f) for f in (0.01, 0.03, 0.1, 0.2, 0.4, 0.8)]
    exact = miss_ratio_curve(w, sizes)
    errors = []
    for seed in range(5):
        approx = miss_ratio_curve(w, sizes, method="shards", sample_rate=0.01, seed=seed)
        assert approx.attrs["sample_rate"] == 0.01
        errors.append(float(np.abs(approx["hit_ratio"] - exact["hit_ratio"]).mean()))
    assert np.mean(errors) <= 0.01, errors
    assert max(errors) <= 0.015, errors
    fixed = miss_ratio_curve(w, sizes, method="shards", max_samples=20_000)
    assert np.abs(fixed["hit_ratio"] - exact["hit_ratio"]).mean() <= 0.015
