"""Workloads: the columnar container and the seeded generators."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cachesim.sim import (
    OP_DELETE,
    OP_GET,
    OP_SET,
    Workload,
    che_hit_ratio,
    concat,
    diurnal,
    hotspot,
    loop,
    scan,
    shifting_hotset,
    uniform,
    with_rate,
    with_sizes,
    with_ttls,
    with_writes,
    zipf,
    zipf_probabilities,
)


def test_key_only_workload_costs_at_most_16_bytes_per_request() -> None:
    w = zipf(1000, 100_000, 0.9)
    columns = [w.key, w.time, w.op, w.size, w.ttl]
    used = sum(c.nbytes for c in columns if c is not None)
    assert used / len(w) <= 16
    assert w.key.dtype == np.int64
    assert w.time is None and w.op is None and w.size is None and w.ttl is None


def test_defaults_for_missing_columns() -> None:
    w = Workload(np.array([5, 6, 5]))
    assert w.times.tolist() == [0.0, 1.0, 2.0]
    assert w.ops.tolist() == [OP_GET] * 3
    assert w.sizes.tolist() == [1, 1, 1]
    assert w.n_unique == 2


def test_validation_rejects_bad_columns() -> None:
    with pytest.raises(ValueError, match="3 keys"):
        Workload(np.array([1, 2, 3]), time=np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="OP_GET"):
        Workload(np.array([1]), op=np.array([7]))
    with pytest.raises(TypeError, match="from_keys"):
        Workload(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="negative"):
        Workload(np.array([1]), size=np.array([-1]))


def test_string_keys_keep_names_and_never_collapse() -> None:
    w = Workload.from_keys(["user:1", "user:2", "user:1", "10", "010"])
    assert w.key.tolist() == [0, 1, 0, 2, 3]
    assert w.key_names is not None
    assert w.original_keys().tolist() == ["user:1", "user:2", "user:1", "10", "010"]
    assert w.n_unique == 4
    assert w.to_frame()["key"].tolist() == ["user:1", "user:2", "user:1", "10", "010"]


def test_from_keys_accepts_op_names() -> None:
    w = Workload.from_keys([1, 2, 1], op=["get", "set", "delete"])
    assert w.op is not None
    assert w.op.tolist() == [OP_GET, OP_SET, OP_DELETE]
    with pytest.raises(ValueError, match="unknown operation"):
        Workload.from_keys([1], op=["put-it"])


def test_slicing_and_masks_keep_columns_and_names() -> None:
    w = with_ttls(with_writes(zipf(50, 1000, seed=1), 0.2), [10.0, 20.0])
    part = w[100:200]
    assert len(part) == 100
    assert part.op is not None and part.ttl is not None
    assert np.array_equal(part.key, w.key[100:200])
    named = Workload.from_keys(["a", "b", "c", "a"])
    sub = named[np.array([True, False, False, True])]
    assert sub.original_keys().tolist() == ["a", "a"]
    with pytest.raises(TypeError):
        w[3]  # type: ignore[call-overload]


def test_summary_counts() -> None:
    w = Workload(np.array([1, 2, 1, 3, 1, 2]))
    s = w.summary()
    assert s["requests"] == 6
    assert s["unique_keys"] == 3
    assert s["one_hit_wonders"] == 1  # key 3
    assert s["max_hit_ratio"] == pytest.approx(0.5)
    # distances: key 1 at index 2 -> {2} = 1; index 4 -> {3} = 1; key 2 at 5 -> {1, 3} = 2
    assert s["reuse_distance_mean"] == pytest.approx(4 / 3)
    assert s["reuse_time_mean"] == pytest.approx((1 + 1 + 3) / 3)  # requests in between


def test_summary_fits_the_zipf_exponent() -> None:
    for alpha in (0.7, 1.0):
        fitted = zipf(20_000, 400_000, alpha, seed=3).summary()["zipf_alpha"]
        assert fitted == pytest.approx(alpha, abs=0.08)


def test_generators_are_reproducible_and_seeded() -> None:
    makers = [
        lambda s: zipf(1000, 5000, 0.8, seed=s),
        lambda s: zipf(1000, 5000, 0.99, seed=s, scrambled=True),
        lambda s: uniform(1000, 5000, seed=s),
        lambda s: hotspot(1000, 5000, seed=s),
        lambda s: scan(1000, 5000, scan_length=100, scan_every=500, seed=s),
        lambda s: shifting_hotset(1000, 5000, hot_keys=50, seed=s),
    ]
    for make in makers:
        assert make(1) == make(1)
        assert make(1) != make(2)


def test_zipf_frequencies_follow_the_distribution() -> None:
    n_keys, n = 100, 500_000
    w = zipf(n_keys, n, 1.0, seed=5)
    freq = np.bincount(w.key, minlength=n_keys) / n
    p = zipf_probabilities(n_keys, 1.0)
    assert np.abs(freq - p).max() < 0.003
    assert freq[0] > freq[1] > freq[10]


def test_scrambled_zipf_matches_ycsb_fnv_hashing() -> None:
    w = zipf(1000, 50_000, 0.99, seed=1, scrambled=True)
    assert w.key.min() >= 0 and w.key.max() < 1000
    counts = np.bincount(w.key, minlength=1000)
    # YCSB's rank 0 maps to fnvhash64(0) % 1000, the most requested key
    from cachesim.sim.workload import _fnvhash64

    assert int(_fnvhash64(np.array([0]))[0] % 1000) == int(np.argmax(counts))
    assert int(np.argmax(counts)) != 0  # popularity is scrambled over the key space


def test_hotspot_and_loop_and_scan_shapes() -> None:
    w = hotspot(1000, 100_000, hot_fraction=0.1, hot_probability=0.9, seed=2)
    assert np.mean(w.key < 100) == pytest.approx(0.9, abs=0.01)
    assert loop(3, 7).key.tolist() == [0, 1, 2, 0, 1, 2, 0]
    s = scan(100, 1200, scan_length=100, scan_every=500)
    scanned = s.key[500:600]
    assert scanned.tolist() == list(range(100, 200))  # fresh keys, each once
    assert s.key[:500].max() < 100


def test_shifting_hotset_moves() -> None:
    w = shifting_hotset(10_000, 40_000, hot_keys=100, phases=4, hot_probability=1.0, seed=3)
    phases = [set(w.key[i * 10_000 : (i + 1) * 10_000].tolist()) for i in range(4)]
    assert all(len(p) <= 100 for p in phases)
    assert not phases[0] & phases[1]


def test_with_writes_turns_requests_into_invalidations_or_updates() -> None:
    base = uniform(100, 100_000, seed=1)
    w = with_writes(base, write_ratio=0.2, delete_ratio=0.05, seed=2)
    assert w.op is not None
    assert np.mean(w.op == OP_DELETE) == pytest.approx(0.25, abs=0.01)
    assert not np.any(w.op == OP_SET)
    u = with_writes(base, write_ratio=0.2, mode="update", seed=2)
    assert u.op is not None
    assert np.mean(u.op == OP_SET) == pytest.approx(0.2, abs=0.01)
    assert np.array_equal(w.key, base.key)
    with pytest.raises(ValueError):
        with_writes(base, write_ratio=0.8, delete_ratio=0.5)


def test_with_ttls_assigns_one_class_per_key() -> None:
    w = with_ttls(zipf(500, 20_000, seed=1), [60.0, math.inf], weights=[3, 1], seed=4)
    assert w.ttl is not None
    codes, _ = w.dense_keys()
    for k in np.unique(codes)[:50]:
        assert len(np.unique(w.ttl[codes == k])) == 1
    share_inf = np.mean(np.isinf(w.ttl[np.unique(codes, return_index=True)[1]]))
    assert share_inf == pytest.approx(0.25, abs=0.06)
    with pytest.raises(ValueError):
        with_ttls(w, [0.0])


def test_with_sizes_is_per_key() -> None:
    w = with_sizes(zipf(200, 5000, seed=1), mean=1000.0)
    assert w.size is not None and w.size.min() >= 1
    codes, _ = w.dense_keys()
    assert len(np.unique(w.size[codes == codes[0]])) == 1


def test_with_rate_gives_a_poisson_process() -> None:
    w = with_rate(uniform(10, 200_000, seed=1), rate=100.0, seed=2)
    assert w.time is not None
    assert np.all(np.diff(w.time) >= 0)
    assert len(w) / w.time[-1] == pytest.approx(100.0, rel=0.02)


def test_diurnal_rate_peaks_at_the_chosen_hour() -> None:
    w = diurnal(uniform(10, 400_000, seed=1), rate=5.0, amplitude=0.8, peak=12 * 3600.0)
    assert w.time is not None and np.all(np.diff(w.time) >= 0)
    hour = (w.time % 86_400) // 3600
    per_hour = np.bincount(hour.astype(int), minlength=24)
    assert per_hour[12] > 3 * per_hour[0]


def test_concat_shifts_time_and_merges_names() -> None:
    a = Workload.from_keys(["x", "y"])
    b = Workload.from_keys(["y", "z"], op=["set", "get"])
    c = concat(a, b)
    assert c.original_keys().tolist() == ["x", "y", "y", "z"]
    assert c.times.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert c.op is not None and c.op.tolist() == [OP_GET, OP_GET, OP_SET, OP_GET]


def test_che_approximation_bounds() -> None:
    p = zipf_probabilities(1000, 0.8)
    assert che_hit_ratio(p, 0) == 0.0
    assert che_hit_ratio(p, 1000) == 1.0
    assert che_hit_ratio(p, 10) < che_hit_ratio(p, 100) < che_hit_ratio(p, 500)
