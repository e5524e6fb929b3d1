"""Hit ratios against live oracles: libcachesim on the same trace, and Che's approximation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cachesim.sim import (
    Workload,
    che_hit_ratio,
    hotspot,
    miss_ratio_curve,
    scan,
    shifting_hotset,
    simulate,
    write_trace,
    zipf,
    zipf_probabilities,
)

lcs = pytest.importorskip("libcachesim")

TRACES = {
    "zipf-0.9": lambda: zipf(5_000, 100_000, 0.9, seed=11),
    "zipf-1.1": lambda: zipf(20_000, 100_000, 1.1, seed=12),
    "hotspot": lambda: hotspot(3_000, 80_000, seed=13),
    "scan": lambda: scan(2_000, 80_000, scan_length=500, scan_every=4_000, seed=14),
    "shifting": lambda: shifting_hotset(8_000, 80_000, hot_keys=400, seed=15),
}
CAPACITIES = (1, 10, 100, 1_000, 4_000)


def _lcs_hit_ratio(path: Path, policy: Any, capacity: int) -> float:
    from libcachesim.libcachesim_python import ReaderInitParam, TraceType

    reader = lcs.TraceReader(
        trace=str(path),
        trace_type=TraceType.ORACLE_GENERAL_TRACE,
        reader_init_params=ReaderInitParam(ignore_obj_size=True),
    )
    miss_ratio, _ = policy(cache_size=capacity).process_trace(reader)
    return 1.0 - float(miss_ratio)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Workload, Path]]:
    """Each generated trace, also written as an oracleGeneral file for libcachesim."""
    out = {}
    directory = tmp_path_factory.mktemp("oracle")
    for name, make in TRACES.items():
        w = make()
        # libcachesim treats id 0 like any other id; shift anyway to avoid edge cases
        shifted = Workload(w.key + 1, name=w.name)
        out[name] = (shifted, write_trace(shifted, directory / f"{name}.oracleGeneral.bin"))
    return out


@pytest.mark.parametrize("trace", sorted(TRACES))
@pytest.mark.parametrize("policy", ["lru", "fifo"])
def test_lru_and_fifo_equal_libcachesim(
    written: dict[str, tuple[Workload, Path]], trace: str, policy: str
) -> None:
    workload, path = written[trace]
    oracle = {"lru": lcs.LRU, "fifo": lcs.FIFO}[policy]
    for capacity in CAPACITIES:
        expected = _lcs_hit_ratio(path, oracle, capacity)
        for engine in ("auto", "python"):
            got = simulate(workload, capacity, policy, engine=engine).hit_ratio
            assert got == pytest.approx(expected, abs=1e-9), (capacity, engine)


def test_exact_mrc_equals_libcachesim(written: dict[str, tuple[Workload, Path]]) -> None:
    workload, path = written["zipf-0.9"]
    frame = miss_ratio_curve(workload, list(CAPACITIES))
    for capacity, hit_ratio in zip(frame["capacity"], frame["hit_ratio"], strict=True):
        assert hit_ratio == pytest.approx(_lcs_hit_ratio(path, lcs.LRU, int(capacity)), abs=1e-9)


@pytest.mark.parametrize(
    ("policy", "oracle"),
    [("clock", "Clock"), ("sieve", "Sieve"), ("arc", "ARC"), ("s3fifo", "S3FIFO"), ("lfu", "LFU")],
)
def test_other_policies_equal_libcachesim(
    written: dict[str, tuple[Workload, Path]], policy: str, oracle: str
) -> None:
    workload, path = written["zipf-0.9"]
    # (libcachesim's S3-FIFO caches nothing when its small queue would hold one entry)
    for capacity in (100, 500, 2_000):
        expected = _lcs_hit_ratio(path, getattr(lcs, oracle), capacity)
        got = simulate(workload, capacity, policy).hit_ratio
        assert got == pytest.approx(expected, abs=1e-9), capacity


def test_opt_equals_libcachesim_belady(
    written: dict[str, tuple[Workload, Path]], tmp_path: Path
) -> None:
    workload, path = written["zipf-0.9"]
    for capacity in (10, 500, 2_000):
        expected = _lcs_hit_ratio(path, lcs.Belady, capacity)
        assert simulate(workload, capacity, "opt").hit_ratio == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("alpha", "capacity"), [(0.8, 100), (0.99, 1_000), (1.2, 100)])
def test_zipf_lru_matches_che_approximation(alpha: float, capacity: int) -> None:
    n_keys = 10_000
    w = zipf(n_keys, 2_000_000, alpha, seed=42)
    che = che_hit_ratio(zipf_probabilities(n_keys, alpha), capacity)
    got = simulate(w, capacity, "lru", warmup=100_000).hit_ratio
    assert got == pytest.approx(che, abs=0.003)


def test_redis_sampled_lru_is_close_to_lru_on_zipf() -> None:
    w = zipf(10_000, 400_000, 0.99, seed=42)
    lru = simulate(w, 1_000, "lru").hit_ratio
    for samples, band in ((5, 0.005), (10, 0.002)):
        redis = simulate(w, 1_000, "redis-lru", samples=samples, seed=1).hit_ratio
        assert redis < lru
        assert lru - redis < band, samples
    assert np.isclose(
        simulate(w[:100_000], 1_000, "redis-lru", seed=3).hit_ratio,
        simulate(w[:100_000], 1_000, "redis-lru", seed=3).hit_ratio,
    )
