"""Sweeps over directories of traces: local processes and a real multi-process Dask cluster."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from cachesim.sim import simulate, with_sizes, write_trace, zipf
from cachesim.sim.sweep import TIMING_COLUMNS, find_traces, sweep

if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    import distributed  # CI installs the test extra: a missing package must fail, not skip
else:
    distributed = pytest.importorskip("distributed")

GRID = {"capacity": [50, 400], "policy": ["lru", "s3fifo"], "ttl": None}


@pytest.fixture(scope="module")
def trace_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("traces")
    (root / "nested").mkdir()
    write_trace(zipf(1_000, 20_000, 0.8, seed=1), root / "a.oracleGeneral.bin")
    write_trace(with_sizes(zipf(2_000, 20_000, 0.9, seed=2), 50.0), root / "b.csv.zst")
    write_trace(zipf(500, 10_000, 1.0, seed=3), root / "nested" / "c.txt.gz")
    (root / "README.md").write_text("not a trace\n")
    return root


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.Client]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def _stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=list(TIMING_COLUMNS)).reset_index(drop=True)


def test_directory_sweep_is_one_tidy_frame(trace_dir: Path) -> None:
    assert [p.name for p in find_traces(trace_dir)] == [
        "a.oracleGeneral.bin",
        "b.csv.zst",
        "c.txt.gz",
    ]
    frame = sweep(trace_dir, **GRID, executor="serial", progress=False)
    assert list(frame.columns[:4]) == ["trace", "policy", "capacity", "ttl"]
    assert {"hit_ratio", "byte_hit_ratio", "miss_ratio", "evictions"} <= set(frame.columns)
    assert (
        frame["trace"].tolist()
        == ["a.oracleGeneral.bin"] * 4 + ["b.csv.zst"] * 4 + ["nested/c.txt.gz"] * 4
    )
    from cachesim.sim import load_trace

    b = load_trace(trace_dir / "b.csv.zst")
    row = frame[(frame.trace == "b.csv.zst") & (frame.policy == "s3fifo") & (frame.capacity == 50)]
    assert row["hit_ratio"].item() == simulate(b, 50, "s3fifo").hit_ratio
    globbed = sweep(str(trace_dir / "*.csv.zst"), **GRID, executor="serial", progress=False)
    assert set(globbed["trace"]) == {"b.csv.zst"}
    streamed = sweep(trace_dir, **GRID, executor="serial", stream=True, progress=False)
    cols = ["trace", "policy", "capacity", "hits", "misses", "evictions"]
    pd.testing.assert_frame_equal(streamed[cols], frame[cols])


def test_local_processes_give_the_same_frame(trace_dir: Path) -> None:
    serial = sweep(trace_dir, **GRID, executor="serial", progress=False)
    pooled = sweep(trace_dir, **GRID, executor="processes", max_workers=2, progress=False)
    pd.testing.assert_frame_equal(_stable(serial), _stable(pooled))
    assert all(not p.endswith(f":{os.getpid()}") for p in pooled.attrs["processes"])


def test_dask_cluster_runs_the_sweep_in_its_worker_processes(
    trace_dir: Path, cluster: distributed.Client
) -> None:
    grid = {"capacity": [50, 400], "policy": "lru"}  # the workers load one kernel only
    serial = sweep(trace_dir, **grid, executor="serial", progress=False)
    on_dask = sweep(trace_dir, **grid, executor=cluster, progress=False)
    pd.testing.assert_frame_equal(_stable(serial), _stable(on_dask))
    worker_pids = set(cluster.run(os.getpid).values())
    used = {int(p.rsplit(":", 1)[1]) for p in on_dask.attrs["processes"]}
    assert used <= worker_pids and os.getpid() not in used
    # "dask" finds the current client; scatter ships the data instead of the paths
    shipped = sweep(trace_dir, **grid, executor="dask", scatter=True, progress=False)
    pd.testing.assert_frame_equal(_stable(serial), _stable(shipped))
    one = sweep(zipf(300, 5_000, seed=4), capacity=[10, 100], executor="dask", progress=False)
    assert one["hit_ratio"].tolist() == [
        simulate(zipf(300, 5_000, seed=4), c).hit_ratio for c in (10, 100)
    ]


def test_a_failing_trace_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("time,key\n0,a\n1\n")
    with pytest.raises(RuntimeError, match=r"bad\.csv.*line 3"):
        sweep(tmp_path, capacity=10, executor="serial", progress=False)
    with pytest.raises(FileNotFoundError):
        sweep(tmp_path / "none", capacity=10, progress=False)
