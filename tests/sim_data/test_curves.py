"""Byte curves, SHARDS with its error, MINISIM and streamed curves against exact replays."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cachesim.sim import (
    Workload,
    concat,
    miss_ratio_curve,
    scan,
    simulate,
    with_rate,
    with_sizes,
    with_ttls,
    with_writes,
    write_trace,
    zipf,
)
from cachesim.sim.stream import simulate_stream


def _sized(n_keys: int = 3_000, n: int = 30_000, seed: int = 1) -> Workload:
    w = with_writes(zipf(n_keys, n, 0.9, seed=seed), 0.05, mode="update", seed=seed + 1)
    return with_sizes(w, mean=400.0, seed=seed + 2)


def test_byte_curve_equals_a_byte_replay_per_size(tmp_path: Path) -> None:
    w = _sized()
    assert w.size is not None
    largest = int(w.size.max())
    # capacities below the largest object too: such objects never enter that cache
    sizes = [largest // 4, largest, 50_000, 300_000, 10**9]
    curve = miss_ratio_curve(w, sizes, unit="bytes", warmup=2_000)
    assert list(curve.columns) == ["capacity", "hit_ratio", "miss_ratio", "byte_hit_ratio"]
    for row in curve.itertuples():
        replay = simulate(w, int(row.capacity), "lru", unit="bytes", warmup=2_000)
        assert row.hit_ratio == replay.hit_ratio, row.capacity
        assert row.byte_hit_ratio == replay.byte_hit_ratio, row.capacity
    streamed = miss_ratio_curve(
        write_trace(w, tmp_path / "t.csv"),
        sizes,
        unit="bytes",
        warmup=2_000,
        read={"chunk_size": 4_999},
    )
    assert streamed["hit_ratio"].tolist() == curve["hit_ratio"].tolist()
    assert streamed["byte_hit_ratio"].tolist() == curve["byte_hit_ratio"].tolist()
    assert streamed.attrs["chunks"] == math.ceil(len(w) / 4_999)


def test_byte_curve_python_engine_agrees() -> None:
    w = _sized(300, 4_000, seed=5)
    sizes = [1_000, 10_000, 60_000]
    numba = miss_ratio_curve(w, sizes, unit="bytes")
    python = miss_ratio_curve(w, sizes, unit="bytes", engine="python")
    assert numba["hit_ratio"].tolist() == python["hit_ratio"].tolist()
    with pytest.raises(ValueError, match="absolute"):
        miss_ratio_curve(iter([w]), [0.5], unit="bytes")


def test_streamed_object_curve_equals_the_in_memory_one(tmp_path: Path) -> None:
    w = with_writes(zipf(5_000, 80_000, 0.8, seed=3), 0.1, mode="update", seed=4)
    path = write_trace(w, tmp_path / "t.csv.zst")
    exact = miss_ratio_curve(w, [1, 10, 100, 1_000, 4_999, 0.5], warmup=1_000)
    streamed = miss_ratio_curve(
        path, [1, 10, 100, 1_000, 4_999, 0.5], warmup=1_000, read={"chunk_size": 3_333}
    )
    assert streamed["capacity"].tolist() == exact["capacity"].tolist()
    assert streamed["hit_ratio"].tolist() == exact["hit_ratio"].tolist()
    chunks = (w[i : i + 10_000] for i in range(0, len(w), 10_000))  # any iterable of chunks
    assert miss_ratio_curve(chunks, [100], warmup=1_000)["hit_ratio"][0] == exact["hit_ratio"][2]


def test_fixed_size_shards_keeps_small_traces_accurate_and_reports_its_error() -> None:
    w = zipf(60_000, 250_000, 0.8, seed=11)
    sizes = [int(w.n_unique * f) for f in (0.01, 0.03, 0.1, 0.2, 0.4, 0.8)]
    exact = miss_ratio_curve(w, sizes)["hit_ratio"].to_numpy()
    fixed_rate = miss_ratio_curve(w, sizes, method="shards", sample_rate=0.01)
    fixed_size = miss_ratio_curve(w, sizes, method="shards")
    rate_err = np.abs(fixed_rate["hit_ratio"].to_numpy() - exact)
    size_err = np.abs(fixed_size["hit_ratio"].to_numpy() - exact)
    assert size_err.mean() <= 0.01 and size_err.max() <= 0.02, size_err
    assert size_err.mean() < rate_err.mean()  # 16 k keys beat a 1 % sample of 60 k
    assert fixed_size.attrs["fixed_size"] and fixed_size.attrs["replicates"] == 4
    assert 0.2 < fixed_size.attrs["sample_rate"] < 0.35  # ~16,384 of 60,000 keys
    error = fixed_size["error"].to_numpy()
    assert np.all(error > 0) and np.all(error < 0.02)
    assert np.mean(size_err) <= 3 * np.mean(error) + 0.002  # the estimate is not wildly low
    few = miss_ratio_curve(zipf(1_000, 20_000, seed=2), [10, 100], method="shards")
    assert few.attrs["sample_rate"] == 1.0  # fewer keys than the bound: every key is sampled
    assert np.allclose(few["error"], 0.0)


def test_streamed_shards_equals_the_in_memory_estimate(tmp_path: Path) -> None:
    w = zipf(40_000, 200_000, 0.7, seed=12)
    path = write_trace(w, tmp_path / "t.int64be", format="int64be")
    memory = miss_ratio_curve(w, [100, 1_000, 10_000], method="shards", max_samples=2_000)
    streamed = miss_ratio_curve(
        path,
        [100, 1_000, 10_000],
        method="shards",
        max_samples=2_000,
        read={"format": "int64be", "chunk_size": 7_777},
    )
    assert np.allclose(streamed["hit_ratio"], memory["hit_ratio"], rtol=0, atol=1e-12)
    assert np.allclose(streamed["error"], memory["error"], rtol=0, atol=1e-12)


MINISIM_CASES = {
    "zipf": lambda: zipf(50_000, 200_000, 0.9, seed=20),
    "zipf+scan": lambda: concat(
        zipf(50_000, 100_000, 0.9, seed=21),
        scan(50_000, 30_000, seed=22),
        zipf(50_000, 70_000, 0.7, seed=23),
    ),
}


@pytest.mark.parametrize(
    ("policy", "case"),
    [("fifo", "zipf"), ("fifo", "zipf+scan"), ("arc", "zipf"), ("s3fifo", "zipf+scan")],
)
def test_minisim_is_within_a_hundredth_of_exact_replays(policy: str, case: str) -> None:
    w = MINISIM_CASES[case]()
    sizes = [int(w.n_unique * f) for f in (0.15, 0.5)]
    exact = miss_ratio_curve(w, sizes, method="simulate", policy=policy)
    mini = miss_ratio_curve(w, sizes, method="minisim", policy=policy)
    error = np.abs(mini["hit_ratio"] - exact["hit_ratio"]).to_numpy()
    assert error.max() <= 0.01, (policy, case, error)
    assert mini["error"].notna().all() and mini["error"].max() < 0.01
    assert max(mini.attrs["sample_rates"]) < 1  # every size really was miniature


def test_minisim_streams_and_handles_bytes(tmp_path: Path) -> None:
    w = zipf(20_000, 150_000, 0.9, seed=30)
    path = write_trace(w, tmp_path / "t.txt")
    sizes = [2_000, 8_000]
    memory = miss_ratio_curve(w, sizes, method="minisim", policy="fifo", min_scaled=500)
    streamed = miss_ratio_curve(
        path, sizes, method="minisim", policy="fifo", min_scaled=500, read={"chunk_size": 10_000}
    )
    assert np.allclose(streamed["hit_ratio"], memory["hit_ratio"], atol=1e-12)
    sized = with_sizes(zipf(50_000, 200_000, 0.9, seed=32), mean=100.0, seed=31)
    caps = [1_000_000, 2_500_000]
    exact = miss_ratio_curve(sized, caps, method="simulate", policy="fifo", unit="bytes")
    mini = miss_ratio_curve(sized, caps, method="minisim", policy="fifo", unit="bytes")
    assert max(mini.attrs["sample_rates"]) < 1
    for column in ("hit_ratio", "byte_hit_ratio"):
        assert np.abs(mini[column] - exact[column]).max() <= 0.01, column


def test_simulate_stream_equals_simulate(tmp_path: Path) -> None:
    w = with_writes(zipf(2_000, 15_000, 0.9, seed=1), 0.1, 0.02, seed=2)  # with deletes
    w = with_sizes(with_rate(with_ttls(w, [5.0, 50.0], seed=3), 100.0, seed=4), 80.0, seed=5)
    path = write_trace(w, tmp_path / "w.csv")
    skip = {"seconds", "requests_per_second", "engine", "workload"}
    for policy in ("lru", "s3fifo", "arc"):
        for unit, capacity in (("objects", 300), ("bytes", 20_000)):
            a = simulate(w, capacity, policy, 20.0, warmup=1_000, unit=unit).as_dict()
            b = simulate_stream(
                path, capacity, policy, 20.0, warmup=1_000, unit=unit, read={"chunk_size": 777}
            ).as_dict()
            assert {k: v for k, v in a.items() if k not in skip} == {
                k: v for k, v in b.items() if k not in skip
            }, (policy, unit)
    with pytest.raises(ValueError, match="opt"):
        simulate_stream(path, 10, "opt")
    deletes = miss_ratio_curve(path, [100, 1_000], method="simulate", read={"chunk_size": 999})
    assert deletes["hit_ratio"].tolist() == [simulate(w, c).hit_ratio for c in (100, 1_000)]
    with pytest.raises(ValueError, match="deletes"):
        miss_ratio_curve(path, [100], read={"chunk_size": 999})
