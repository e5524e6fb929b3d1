"""New policies, admission and penalty metrics: libcachesim and Caffeine-style checks,
properties and hand counts (the exact libcachesim equalities are in test_sim_oracle.py)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cachesim.policies import MISSING, POLICIES, make_store, resolve_policy
from cachesim.policies.admission import (
    ADMISSIONS,
    BloomAdmission,
    SizeAdmission,
    make_admission,
    with_admission,
)
from cachesim.sim import Workload, scan, simulate, with_sizes, write_trace, zipf

lcs = pytest.importorskip("libcachesim")

NEW = ("slru", "2q", "lru-k", "gdsf", "lirs", "wtinylfu")
# SLRU, 2Q, LRU-K and GDSF equal libcachesim exactly: tests/sim/test_sim_oracle.py


def _traces() -> dict[str, Workload]:
    z = zipf(2_000, 20_000, 0.9, seed=3)
    s = scan(1_500, 20_000, scan_length=400, scan_every=3_000, seed=4)
    zipf_keys = Workload(z.key + 1, name="zipf")
    return {
        "zipf": zipf_keys,
        "scan": Workload(s.key + 1, name="scan"),
        "zipf-sized": with_sizes(zipf_keys, mean=4_000, seed=5),
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Workload, Path]]:
    directory = tmp_path_factory.mktemp("breadth")
    return {
        name: (w, write_trace(w, directory / f"{name}.oracleGeneral.bin"))
        for name, w in _traces().items()
    }


def _capacities(w: Workload) -> tuple[list[int], str]:
    if w.size is None:
        return [10, 100, 1_000], "objects"
    per_key = dict(zip(w.key.tolist(), w.size.tolist(), strict=True))
    total = sum(per_key.values())
    return [int(total * f) for f in (0.01, 0.1, 0.5)], "bytes"


def _lcs(path: Path, cache: Any, capacity: int, unit: str) -> tuple[float, float]:
    from libcachesim.libcachesim_python import ReaderInitParam, TraceType

    reader = lcs.TraceReader(
        trace=str(path),
        trace_type=TraceType.ORACLE_GENERAL_TRACE,
        reader_init_params=ReaderInitParam(ignore_obj_size=unit == "objects"),
    )
    miss, byte_miss = cache(capacity).process_trace(reader)
    return 1.0 - float(miss), 1.0 - float(byte_miss)


@pytest.mark.parametrize("trace", ["zipf", "scan", "zipf-sized"])
def test_lirs_is_within_a_few_hits_of_libcachesim(
    written: dict[str, tuple[Workload, Path]], trace: str
) -> None:
    # equal except where libCacheSim keeps serving a block it dropped from Q (docs)
    workload, path = written[trace]
    capacities, unit = _capacities(workload)
    for capacity in capacities:
        hit, byte_hit = _lcs(path, lambda c: lcs.LIRS(cache_size=c, hashpower=16), capacity, unit)
        got = simulate(workload, capacity, "lirs", unit=unit)  # type: ignore[arg-type]
        assert got.hit_ratio == pytest.approx(hit, abs=1e-3), capacity
        assert got.byte_hit_ratio == pytest.approx(byte_hit, abs=1e-3), capacity


def test_bloom_and_size_admission_equal_libcachesim(
    written: dict[str, tuple[Workload, Path]],
) -> None:
    workload, path = written["zipf-sized"]
    capacities, _ = _capacities(workload)
    for capacity in capacities[:2]:
        hit, byte_hit = _lcs(
            path,
            lambda c: lcs.LRU(cache_size=c, hashpower=16, admissioner=lcs.BloomFilterAdmissioner()),
            capacity,
            "bytes",
        )
        # a filter large enough to make no false positive is libcachesim's exact set
        got = simulate(
            workload,
            capacity,
            "lru",
            unit="bytes",
            admission="bloom",
            admission_options={"expected_items": 10**6, "fpp": 1e-9},
        )
        assert (got.hit_ratio, got.byte_hit_ratio) == pytest.approx((hit, byte_hit), abs=1e-9)
        # libcachesim admits sizes strictly below its threshold
        hit, byte_hit = _lcs(
            path,
            lambda c: lcs.FIFO(cache_size=c, hashpower=16, admissioner=lcs.SizeAdmissioner(4_001)),
            capacity,
            "bytes",
        )
        got = simulate(
            workload, capacity, "fifo", unit="bytes", admission="size",
            admission_options={"max_size": 4_000},
        )  # fmt: skip
        assert (got.hit_ratio, got.byte_hit_ratio) == pytest.approx((hit, byte_hit), abs=1e-9)
        assert got.rejected > 0
        assert got.admitted + got.rejected == got.misses


def test_belady_size_is_at_least_libcachesim_sampled_belady_size(
    written: dict[str, tuple[Workload, Path]],
) -> None:
    workload, path = written["zipf-sized"]
    capacities, _ = _capacities(workload)
    for capacity in capacities:
        hit, _ = _lcs(path, lambda c: lcs.BeladySize(cache_size=c, hashpower=16), capacity, "bytes")
        got = simulate(workload, capacity, "opt-size", unit="bytes")
        # libcachesim samples 128 entries per eviction; ours takes the best class head
        assert hit - 1e-3 <= got.hit_ratio <= hit + 0.01, capacity
        assert got.hit_ratio >= simulate(workload, capacity, "lru", unit="bytes").hit_ratio


def test_belady_size_with_equal_sizes_is_opt_that_skips_dead_entries() -> None:
    w = zipf(2_000, 20_000, 0.9, seed=7)
    for capacity in (10, 200, 1_000):
        opt = simulate(w, capacity, "opt").hit_ratio
        size_opt = simulate(w, capacity, "belady-size").hit_ratio
        # never storing an entry that is not read again can only help
        assert opt <= size_opt <= opt + 0.002


@pytest.mark.parametrize("policy", NEW)
def test_capacity_is_never_exceeded_and_accounting_holds(policy: str) -> None:
    rng = random.Random(policy)
    for capacity in (1, 7, 50):
        # LIRS by default may hold a block past its capacity, as libCacheSim's does
        store = make_store(policy, capacity, **({"strict": True} if policy == "lirs" else {}))
        now = 0.0
        for _ in range(1_500):
            now += 1.0
            key = rng.randrange(120)
            size = rng.choice((1, 1, 2, 3, 5))
            op = rng.random()
            if op < 0.7:
                if store.get(key, now) is MISSING:
                    store.put(key, key, now + rng.choice((5.0, 50.0, 1e9)), now, size)
            elif op < 0.9:
                store.put(key, key, None, now, size)
            else:
                store.delete(key)
            assert store.used <= capacity
            assert store.used == sum(store.size_of(k) for k in list(store.keys(-1.0)))
            assert len(store) == len(list(store.keys(-1.0)))


@pytest.mark.parametrize("policy", NEW)
def test_names_aliases_and_memory_provider_use(policy: str) -> None:
    assert resolve_policy(policy.upper()) == policy
    store = make_store(policy, 3)
    assert store.put("a", 1, None, 0.0)
    assert store.get("a", 0.0) == 1
    assert policy in POLICIES


def test_aliases_resolve() -> None:
    for alias, name in {
        "W-TinyLFU": "wtinylfu",
        "tinylfu": "wtinylfu",
        "segmented-lru": "slru",
        "twoq": "2q",
        "lru2": "lru-k",
    }.items():
        assert resolve_policy(alias) == name
    for alias in ("one-hit-wonder", "prob", "size-threshold", "tiny-lfu"):
        assert make_admission(alias, **({"max_size": 1} if "size" in alias else {}))
    with pytest.raises(ValueError, match="unknown admission"):
        make_admission("nope")


def test_wtinylfu_resists_scans_and_beats_lru_on_skewed_traffic() -> None:
    w = zipf(5_000, 30_000, 0.9, seed=11)
    lru = simulate(w, 500, "lru").hit_ratio
    assert simulate(w, 500, "wtinylfu").hit_ratio > lru + 0.03
    assert simulate(w, 500, "wtinylfu", doorkeeper=True).hit_ratio > lru + 0.03
    s = scan(2_000, 30_000, scan_length=2_000, scan_every=6_000, seed=12)
    assert simulate(s, 500, "wtinylfu").hit_ratio > simulate(s, 500, "lru").hit_ratio


def test_wtinylfu_hill_climber_moves_the_window() -> None:
    w = zipf(2_000, 40_000, 0.8, seed=13)
    store = make_store("wtinylfu", 200, adaptive=True)
    for k in w.key.tolist():
        if store.get(k, 0.0) is MISSING:
            store.put(k, True, None, 0.0)
    assert store.window_history  # type: ignore[attr-defined]
    assert len(set(store.window_history)) > 1  # type: ignore[attr-defined]
    assert store.used <= 200


def test_tinylfu_admission_helps_lru_and_needs_a_named_victim() -> None:
    w = zipf(5_000, 30_000, 0.9, seed=21)
    plain = simulate(w, 500, "lru")
    admitted = simulate(w, 500, "lru", admission="tinylfu")
    assert admitted.hit_ratio > plain.hit_ratio + 0.02
    assert 0 < admitted.admission_rate < 1
    assert admitted.admitted + admitted.rejected == admitted.misses
    for policy in ("slru", "2q", "lru-k", "gdsf", "lirs", "fifo"):
        simulate(w[:5_000], 100, policy, admission="tinylfu")
    with pytest.raises(ValueError, match="cannot name"):
        simulate(w[:100], 10, "arc", admission="tinylfu")


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_size_and_probabilistic_admission_work_with_every_policy(policy: str) -> None:
    w = with_sizes(zipf(500, 5_000, 0.9, seed=31), mean=100, seed=32)
    result = simulate(w, 5_000, policy, unit="bytes", admission="size",
                      admission_options={"max_size": 150})  # fmt: skip
    sizes = dict(zip(w.key.tolist(), w.size.tolist(), strict=True))
    store = with_admission(make_store(policy, 5_000), SizeAdmission(150))
    for k in w.key.tolist()[:2_000]:
        if store.get(k, 0.0) is MISSING:
            store.put(k, True, None, 0.0, sizes[k])
        assert all(store.size_of(key) <= 150 for key in store.keys(0.0))
    assert result.admitted is not None
    rate = simulate(w, 5_000, policy, unit="bytes", admission="probabilistic",
                    admission_options={"p": 0.25, "seed": 1}).admission_rate  # fmt: skip
    assert rate == pytest.approx(0.25, abs=0.05)


def test_bloom_admission_stores_from_the_second_miss() -> None:
    store = with_admission(make_store("lru", 10), BloomAdmission(expected_items=100))
    assert not store.put("a", 1, None, 0.0)
    assert store.get("a", 0.0) is MISSING
    assert store.put("a", 1, None, 0.0)
    assert store.get("a", 0.0) == 1
    assert store.admission.admitted == 1  # type: ignore[union-attr]
    assert store.admission.rejected == 1  # type: ignore[union-attr]
    assert set(ADMISSIONS) == {"always", "tinylfu", "bloom", "probabilistic", "size"}


def test_penalties_and_weighted_hit_ratio_by_hand() -> None:
    # keys: a b a c a b ; LRU of 2: miss miss hit miss hit miss
    w = Workload(np.array([1, 2, 1, 3, 1, 2]), size=np.array([10, 20, 10, 30, 10, 20]))
    r = simulate(w, 2, "lru", miss_penalty=np.array([1.0, 2, 3, 4, 5, 6]), hit_penalty=0.5)
    assert (r.hits, r.misses) == (2, 4)
    assert r.penalty_requested == 21.0
    assert r.penalty_missed == 1 + 2 + 4 + 6
    assert r.weighted_hit_ratio == pytest.approx(1 - 13 / 21)
    assert r.average_miss_penalty == pytest.approx(13 / 4)
    assert r.average_penalty == pytest.approx((13 + 2 * 0.5) / 6)
    by_size = simulate(w, 2, "lru", miss_penalty=lambda size: size / 10.0)
    assert by_size.weighted_hit_ratio == pytest.approx(20 / 100)  # two hits of a (10 each)
    frame = by_size.to_frame()
    for column in ("weighted_hit_ratio", "admission_rate", "average_miss_penalty"):
        assert column in frame.columns
    with pytest.raises(ValueError, match="one value per request"):
        simulate(w, 2, "lru", miss_penalty=np.ones(3))
    plain = simulate(w, 2, "lru")
    assert np.isnan(plain.weighted_hit_ratio)
    assert np.isnan(plain.admission_rate)
