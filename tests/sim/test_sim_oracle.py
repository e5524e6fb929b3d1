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
    with_sizes,
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
    miss_ratio, _ = policy(cache_size=capacity, hashpower=16).process_trace(reader)
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


#: our policy -> libcachesim class; every one must give the same hit and byte hit ratios
ORACLES = {
    "lru": "LRU",
    "fifo": "FIFO",
    "lfu": "LFU",
    "clock": "Clock",
    "sieve": "Sieve",
    "s3fifo": "S3FIFO",
    "arc": "ARC",
    "opt": "Belady",
    "slru": "SLRU",
    "2q": "TwoQ",
    "lru-k": "LRUK",
    "gdsf": "GDSF",
}


def _lcs_ratios(path: Path, oracle: str, capacity: int, by_bytes: bool) -> tuple[float, float]:
    """libcachesim's (hit ratio, byte hit ratio) on an oracleGeneral file."""
    from libcachesim.libcachesim_python import ReaderInitParam, TraceType

    reader = lcs.TraceReader(
        trace=str(path),
        trace_type=TraceType.ORACLE_GENERAL_TRACE,
        reader_init_params=ReaderInitParam(ignore_obj_size=not by_bytes),
    )
    cache = getattr(lcs, oracle)(cache_size=capacity, hashpower=16)  # small table: fast start
    miss, byte_miss = cache.process_trace(reader)
    return 1.0 - float(miss), 1.0 - float(byte_miss)


@pytest.fixture(scope="module")
def sized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Workload, Path]]:
    """Traces with object sizes, written as oracleGeneral files.

    ``zipf-sized``: one log-normal size per key.  ``resized``: a tenth of the
    requests carry another size, so a hit keeps the cached size while the
    request's size counts for the byte ratio (as in CloudPhysics).
    """
    directory = tmp_path_factory.mktemp("sized")
    rng = np.random.default_rng(21)
    base = with_sizes(zipf(4_000, 60_000, 0.9, seed=21), mean=3_000.0, seed=21)
    base = Workload(base.key + 1, size=base.size, name="zipf-sized")
    sizes = base.size.copy()
    other = rng.random(len(sizes)) < 0.1
    sizes[other] = rng.integers(1, 20_000, size=int(other.sum()))
    scans = scan(3_000, 60_000, scan_length=400, scan_every=5_000, seed=22)
    out = {}
    for w in (
        base,
        base.with_columns(size=sizes, name="resized"),
        with_sizes(Workload(scans.key + 1, name="scan-sized"), mean=500.0, seed=3),
    ):
        out[w.name] = (w, write_trace(w, directory / f"{w.name}.oracleGeneral.bin"))
    return out


def _byte_capacities(w: Workload) -> list[int]:
    codes, uniques = w.dense_keys()
    per_key = np.zeros(len(uniques), dtype=np.int64)
    np.maximum.at(per_key, codes, w.sizes)
    total = int(per_key.sum())
    return [total // 1_000, total // 100, total // 20, total // 5, total // 2]


@pytest.mark.parametrize("policy", sorted(ORACLES))
def test_every_policy_equals_libcachesim_in_entries_and_bytes(
    sized: dict[str, tuple[Workload, Path]], policy: str
) -> None:
    worst = 0.0
    for w, path in sized.values():
        runs = [("objects", c) for c in (10, 50, 400, 2_000)]  # S3FIFO aborts below 10
        runs += [("bytes", c) for c in _byte_capacities(w)]
        for unit, capacity in runs:
            hit, byte_hit = _lcs_ratios(path, ORACLES[policy], capacity, unit == "bytes")
            got = simulate(w, capacity, policy, unit=unit)  # type: ignore[arg-type]
            where = (w.name, unit, capacity)
            assert got.hit_ratio == pytest.approx(hit, abs=1e-12), where
            if unit == "bytes":
                assert got.byte_hit_ratio == pytest.approx(byte_hit, abs=1e-12), where
            worst = max(worst, abs(got.hit_ratio - hit), abs(got.byte_hit_ratio - byte_hit))
    assert worst < 1e-12


def test_random_matches_libcachesim_on_average(sized: dict[str, tuple[Workload, Path]]) -> None:
    # different generators: equal in distribution, not draw for draw
    w, path = sized["zipf-sized"]
    for unit, capacity in (("objects", 400), ("bytes", _byte_capacities(w)[2])):
        hit, _ = _lcs_ratios(path, "Random", capacity, unit == "bytes")
        ours = [simulate(w, capacity, "random", unit=unit, seed=s).hit_ratio for s in range(3)]  # type: ignore[arg-type]
        assert float(np.mean(ours)) == pytest.approx(hit, abs=0.01), unit


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
