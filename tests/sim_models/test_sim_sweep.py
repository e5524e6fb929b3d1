"""Sweeps: grid order, executors giving identical frames, provider estimates, errors."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from cachesim.sim import Workload, simulate, with_rate, zipf
from cachesim.sim.sweep import TIMING_COLUMNS, sweep, sweep_grid

CAPACITIES = [20, 80]
TTLS = [None, 5.0]


@pytest.fixture(scope="module")
def workload() -> Workload:
    return with_rate(zipf(400, 3000, alpha=0.9, seed=11), 20.0, seed=11)


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=list(TIMING_COLUMNS))


def test_grid_order_is_policy_capacity_ttl() -> None:
    grid = sweep_grid([1, 2], [None, 3.0], ["lru", "fifo"])
    assert grid[:3] == [
        {"policy": "lru", "capacity": 1, "ttl": None},
        {"policy": "lru", "capacity": 1, "ttl": 3.0},
        {"policy": "lru", "capacity": 2, "ttl": None},
    ]
    assert len(grid) == 8
    assert sweep_grid(5, None, "lru") == [{"policy": "lru", "capacity": 5, "ttl": None}]


def test_thread_pool_and_default_executor_give_identical_frames(workload: Workload) -> None:
    default = sweep(workload, capacity=CAPACITIES, ttl=TTLS, policy=["lru", "fifo"], progress=False)
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = sweep(
            workload,
            capacity=CAPACITIES,
            ttl=TTLS,
            policy=["lru", "fifo"],
            executor=pool,
            progress=False,
        )
    assert len(default) == 8
    pd.testing.assert_frame_equal(_stable(default), _stable(threaded))


def test_process_pool_gives_the_same_frame(workload: Workload) -> None:
    serial = sweep(workload, capacity=CAPACITIES, ttl=TTLS, executor="serial", progress=False)
    processes = sweep(
        workload, capacity=CAPACITIES, ttl=TTLS, executor="process", max_workers=2, progress=False
    )
    pd.testing.assert_frame_equal(_stable(serial), _stable(processes))


def test_rows_match_individual_simulations(workload: Workload) -> None:
    frame = sweep(workload, capacity=CAPACITIES, ttl=TTLS, warmup=300, progress=False)
    assert list(frame.columns[:3]) == ["policy", "capacity", "ttl"]
    for row in frame.itertuples():
        ttl = None if pd.isna(row.ttl) else row.ttl
        one = simulate(workload, capacity=row.capacity, policy="lru", ttl=ttl, warmup=300)
        assert (row.hits, row.misses) == (one.hits, one.misses)
        assert row.hit_ratio == pytest.approx(one.hit_ratio)
        assert row.warmup == 300


def test_providers_add_estimate_columns_per_row(workload: Workload) -> None:
    frame = sweep(
        workload,
        capacity=CAPACITIES,
        provider=["memory", "upstash"],
        request_rate=50.0,
        progress=False,
    )
    assert len(frame) == len(CAPACITIES) * 2
    assert list(frame["provider"]) == [
        "memory",
        "upstash-same-region",
        "memory",
        "upstash-same-region",
    ]
    assert {"cache_p99_ms", "monthly_cost_usd", "origin_reduction_pct"} <= set(frame.columns)
    assert (frame["request_rate"] == 50.0).all()
    bigger = frame[frame["capacity"] == 80]
    smaller = frame[frame["capacity"] == 20]
    assert (bigger["origin_rps_cache"].to_numpy() < smaller["origin_rps_cache"].to_numpy()).all()


def test_a_failing_point_is_named(workload: Workload) -> None:
    with pytest.raises(RuntimeError, match=r"sweep point .*'no-such-policy'"):
        sweep(workload, capacity=[10], policy=["lru", "no-such-policy"], progress=False)
    with pytest.raises(ValueError, match="executor must be"):
        sweep(workload, capacity=[10], executor="gpu", progress=False)  # type: ignore[arg-type]


def test_no_progress_bar_imports_no_tqdm(
    workload: Workload, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # tqdm.auto warns "IProgress not found" in a notebook without ipywidgets, bar shown or not
    monkeypatch.setitem(sys.modules, "tqdm", None)  # any import of tqdm now fails
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    frame = sweep(workload, capacity=CAPACITIES, executor="serial", progress=False)
    assert len(frame) == 2
    monkeypatch.undo()
    sweep(workload, capacity=CAPACITIES, executor="serial", progress=True)
    assert "sweep" in capsys.readouterr().err  # the bar still shows when asked for
