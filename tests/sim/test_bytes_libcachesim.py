"""Byte-capacity caches against libcachesim 0.3.5: every shared policy, several sizes.

Capacities in bytes make every queue limit a byte limit (S3-FIFO's small and
ghost queues, ARC's target and ghost lists, SLRU's segments, 2Q's A1in/A1out,
LIRS' HIR share); a limit compared with an entry count instead gives other
hit ratios at once.  Each policy is replayed on the compiled kernel and on
its store, and both must give libcachesim's hit ratio and byte hit ratio.

Traces: a block-storage-like trace whose requests carry varying sizes for
the same key (as the CloudPhysics sample does: a hit keeps the cached size,
the byte ratio counts the request's size), a Zipf trace with one size per
key, and a scan-heavy one; plus the CloudPhysics sample when the package
ships it (:mod:`cachesim.sim.datasets`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cachesim.policies import MISSING, make_store
from cachesim.sim import Workload, scan, simulate, with_sizes, write_trace, zipf

lcs = pytest.importorskip("libcachesim")

#: our policy -> libcachesim class: every policy both have.  W-TinyLFU is left out on
#: purpose: ours is Caffeine's (count-min sketch, a TinyLFU duel on every eviction);
#: libcachesim's WTinyLFU is another design (a counting Bloom filter, window victims
#: admitted freely while the main cache has room), compared in docs/simulator.md.
#: LIRS follows libcachesim's accounting and is equal at most sizes; see its own test.
SHARED = {
    "lru": "LRU",
    "fifo": "FIFO",
    "lfu": "LFU",
    "clock": "Clock",
    "sieve": "Sieve",
    "s3fifo": "S3FIFO",
    "arc": "ARC",
    "slru": "SLRU",
    "2q": "TwoQ",
    "lru-k": "LRUK",
    "gdsf": "GDSF",
    "opt": "Belady",
}
#: shares of the working set (bytes) at which every policy is compared
SHARES = (0.002, 0.01, 0.05, 0.2, 0.5)


def _blocks(seed: int) -> Workload:
    """Block-storage-like: 512-byte multiples, a fifth of the requests resized."""
    rng = np.random.default_rng(seed)
    w = zipf(6_000, 50_000, 0.8, seed=seed)
    per_key = 512 * rng.integers(1, 65, size=6_000)
    size = per_key[w.key]
    resized = rng.random(len(w)) < 0.2
    size[resized] = 512 * rng.integers(1, 65, size=int(resized.sum()))
    return Workload(w.key + 1, size=size, name="blocks")


def _shipped() -> list[Workload]:
    """The CloudPhysics sample with its sizes, when :mod:`cachesim.sim.datasets` ships it."""
    try:
        from cachesim.sim import datasets
    except ImportError:
        return []
    out = []
    for name in datasets.names():
        if "cloud" not in name.lower():
            continue
        w = datasets.load(name)
        if w.size is None:
            continue
        codes, _ = w.dense_keys()
        out.append(Workload(codes + 1, size=w.size, name=name))
    return out


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Workload, Path, list[int]]]:
    """Each trace, its oracleGeneral copy for libcachesim and its byte capacities."""
    directory = tmp_path_factory.mktemp("bytes")
    scans = scan(3_000, 40_000, scan_length=400, scan_every=5_000, seed=5)
    workloads = [
        _blocks(3),
        with_sizes(zipf(4_000, 40_000, 1.0, seed=4).with_columns(name="zipf"), 2_000.0, seed=4),
        with_sizes(Workload(scans.key + 1, name="scan"), mean=800.0, seed=5),
        *_shipped(),
    ]
    out = []
    for w in workloads:
        if int(w.key.min()) < 1:
            w = Workload(w.key + 1, size=w.size, name=w.name)
        codes, uniques = w.dense_keys()
        per_key = np.zeros(len(uniques), dtype=np.int64)
        np.maximum.at(per_key, codes, w.sizes)
        total = int(per_key.sum())
        capacities = [int(total * share) for share in SHARES]
        out.append((w, write_trace(w, directory / f"{w.name}.oracleGeneral.bin"), capacities))
    return out


def _libcachesim(path: Path, oracle: str, capacity: int) -> tuple[float, float]:
    from libcachesim.libcachesim_python import ReaderInitParam, TraceType

    reader = lcs.TraceReader(
        trace=str(path),
        trace_type=TraceType.ORACLE_GENERAL_TRACE,
        reader_init_params=ReaderInitParam(ignore_obj_size=False),
    )
    cache: Any = getattr(lcs, oracle)(cache_size=capacity, hashpower=16)
    miss, byte_miss = cache.process_trace(reader)
    return 1.0 - float(miss), 1.0 - float(byte_miss)


@pytest.mark.parametrize("policy", sorted(SHARED))
def test_every_shared_policy_equals_libcachesim_in_bytes(
    traces: list[tuple[Workload, Path, list[int]]], policy: str
) -> None:
    for w, path, capacities in traces:
        for capacity in capacities:
            hit, byte_hit = _libcachesim(path, SHARED[policy], capacity)
            for engine in ("auto", "python"):
                got = simulate(w, capacity, policy, unit="bytes", engine=engine)  # type: ignore[arg-type]
                where = f"{policy} on {w.name} at {capacity:,} bytes ({got.engine})"
                assert got.hit_ratio == pytest.approx(hit, abs=1e-12), (
                    f"{where}: hit ratio {got.hit_ratio} must equal libcachesim's {hit}"
                )
                assert got.byte_hit_ratio == pytest.approx(byte_hit, abs=1e-12), (
                    f"{where}: byte hit ratio {got.byte_hit_ratio} must equal libcachesim's "
                    f"{byte_hit}"
                )


def test_the_fast_path_is_compiled_for_every_shared_policy(
    traces: list[tuple[Workload, Path, list[int]]],
) -> None:
    from cachesim.sim import kernels

    if not kernels.HAVE_NUMBA:
        pytest.skip("numba unavailable (CACHESIM_NO_NUMBA)")
    w, _, capacities = traces[0]
    for policy in SHARED:
        got = simulate(w[:2_000], capacities[1], policy, unit="bytes")
        assert got.engine == "numba", f"{policy} must replay on its compiled kernel by default"


@pytest.mark.parametrize("policy", ["s3fifo", "arc", "2q", "slru"])
def test_queue_limits_are_in_the_capacitys_unit(policy: str) -> None:
    # 1,000,000 bytes of 50,000-byte objects: 20 fit.  A queue limit taken as an entry
    # count (100,000 "entries" of S3-FIFO's small queue) would never fill, nothing would
    # move to the main queue and every object would stay in the small FIFO.
    store = make_store(policy, 1_000_000)
    if policy == "s3fifo":
        assert store.small_capacity == 100_000  # type: ignore[attr-defined]
        assert store.ghost_capacity == 900_000  # type: ignore[attr-defined]
    for key in range(40):
        store.put(key, key, None, float(key), size=50_000)
        assert store.used <= 1_000_000, f"{policy} must never hold more bytes than its capacity"
    assert len(store) == 20, f"{policy}: 20 objects of 50,000 bytes fill 1,000,000 bytes"
    if policy == "s3fifo":
        # the small queue holds at most 10 % of the bytes: two objects, not 20
        assert store.small_used <= 100_000  # type: ignore[attr-defined]
        assert store.main_used >= 900_000 - 50_000  # type: ignore[attr-defined]


def test_lirs_equals_libcachesim_at_most_sizes_and_stays_within_0_001(
    traces: list[tuple[Workload, Path, list[int]]],
) -> None:
    # LIRS reproduces libcachesim's accounting (uncounted blocks, the sizes a returning
    # block keeps); a difference remains at some sizes on small caches, up to 0.0006
    # seen, whose cause in libcachesim's state could not be observed from outside
    exact = total = 0
    for w, path, capacities in traces:
        for capacity in capacities + [int(c * 0.3) for c in capacities]:
            hit, byte_hit = _libcachesim(path, "LIRS", capacity)
            got = simulate(w, capacity, "lirs", unit="bytes")
            where = f"lirs on {w.name} at {capacity:,} bytes"
            assert abs(got.hit_ratio - hit) < 0.001, f"{where}: {got.hit_ratio} vs {hit}"
            assert abs(got.byte_hit_ratio - byte_hit) < 0.001, f"{where}: byte hit ratio"
            total += 1
            exact += abs(got.hit_ratio - hit) < 1e-12 and abs(got.byte_hit_ratio - byte_hit) < 1e-12
    assert exact >= 0.75 * total, f"LIRS must equal libcachesim at most sizes ({exact}/{total})"


def test_lirs_keeps_a_block_its_own_promotion_pushed_out_of_q_uncounted() -> None:
    # A hit on a resident HIR block that only Q holds demotes LIR blocks into Q; when
    # that pushes the requested block itself out of Q, libCacheSim keeps serving it from
    # S without counting it (so the cache briefly holds more than its capacity), and so
    # does the default store.  strict=True never exceeds the capacity.
    w = with_sizes(zipf(300, 20_000, 0.9, seed=1), mean=20.0, seed=1)
    keys, sizes = w.key.tolist(), w.sizes.tolist()
    for strict in (False, True):
        store: Any = make_store("lirs", 2_000, strict=strict)
        fired = served = 0
        for i, (key, size) in enumerate(zip(keys, sizes, strict=True)):
            uncounted_before = dict(store._uncounted)
            if store.get(key, float(i)) is MISSING:
                store.put(key, key, None, float(i), size)
            elif key in uncounted_before:
                served += 1
            fired += bool(store._uncounted)
            cached = sum(store.size_of(k) for k in list(store.keys(-1.0)))
            assert store.used + sum(store._uncounted.values()) == cached, (
                "every cached block is counted in used or held uncounted"
            )
            assert store.used <= 2_000
            if strict:
                assert cached <= 2_000, "strict LIRS never holds more than its capacity"
        if strict:
            assert fired == 0
        else:
            assert fired > 0 and served > 0, "the uncounted block is served from S"


@pytest.mark.parametrize("name", ["web07", "web12"])
def test_every_shared_policy_equals_libcachesim_on_the_shipped_traces(
    tmp_path: Path, name: str
) -> None:
    # the cache2k traces shipped with the package (key-only: entries)
    from libcachesim.libcachesim_python import ReaderInitParam, TraceType

    from cachesim.sim import datasets

    w = datasets.load(name)
    codes, uniques = w.dense_keys()
    w = Workload(codes + 1, name=name)
    path = write_trace(w, tmp_path / f"{name}.oracleGeneral.bin")
    for policy, oracle in {**SHARED, "lirs": "LIRS"}.items():
        for capacity in (len(uniques) // 100, len(uniques) // 10, len(uniques) // 3):
            reader = lcs.TraceReader(
                trace=str(path),
                trace_type=TraceType.ORACLE_GENERAL_TRACE,
                reader_init_params=ReaderInitParam(ignore_obj_size=True),
            )
            miss, _ = getattr(lcs, oracle)(cache_size=capacity, hashpower=16).process_trace(reader)
            got = simulate(w, capacity, policy).hit_ratio
            assert got == pytest.approx(1.0 - float(miss), abs=1e-12), (
                f"{policy} on {name} at {capacity} entries must equal libcachesim"
            )


def _edge_workloads() -> list[Workload]:
    """Sizes from 1 byte to 1e6 (varying per request, or one per key) and giants in a loop."""
    rng = np.random.default_rng(7)
    n = 20_000
    keys = rng.zipf(1.2, n) % 800 + 1
    sizes = np.minimum((rng.pareto(1.1, n) + 1) * 100, 2_000_000).astype(np.int64)
    pareto = Workload(keys.astype(np.int64), size=sizes, name="pareto")
    per_key = (10 ** rng.uniform(0, 6, 900)).astype(np.int64) + 1
    k2 = rng.integers(1, 900, n)
    span = Workload(k2.astype(np.int64), size=per_key[k2], name="span")
    k3 = np.concatenate([np.arange(1, 301)] * 60)
    s3 = np.full(len(k3), 1_000, dtype=np.int64)
    s3[::97] = 250_000
    loop = Workload(k3.astype(np.int64), size=s3, name="loop")
    return [pareto, span, loop]


@pytest.mark.parametrize("policy", ["slru", "2q"])
def test_segmented_policies_equal_libcachesim_on_byte_edge_traces(
    tmp_path: Path, policy: str
) -> None:
    # objects larger than a segment / A1in / the whole cache, capacities just above the
    # largest object; the compiled kernels (the default) once gave other ratios here
    for w in _edge_workloads():
        path = write_trace(w, tmp_path / f"{w.name}.oracleGeneral.bin")
        codes, uniques = w.dense_keys()
        per_key = np.zeros(len(uniques), dtype=np.int64)
        np.maximum.at(per_key, codes, w.sizes)
        total = int(per_key.sum())
        biggest = int(w.sizes.max())
        capacities = {max(1, int(total * f)) for f in (0.001, 0.01, 0.03, 0.1, 0.3)}
        for capacity in sorted(capacities | {biggest // 2, biggest + 1}):
            hit, byte_hit = _libcachesim(path, SHARED[policy], capacity)
            for engine in ("auto", "python"):
                got = simulate(w, capacity, policy, unit="bytes", engine=engine)  # type: ignore[arg-type]
                where = f"{policy} on {w.name} at {capacity:,} bytes ({got.engine})"
                assert got.hit_ratio == pytest.approx(hit, abs=1e-12), (
                    f"{where}: hit ratio {got.hit_ratio} must equal libcachesim's {hit}"
                )
                assert got.byte_hit_ratio == pytest.approx(byte_hit, abs=1e-12), (
                    f"{where}: byte hit ratio {got.byte_hit_ratio} must equal libcachesim's "
                    f"{byte_hit}"
                )


def test_lirs_a_miss_larger_than_the_cache_leaves_its_lists_alone(tmp_path: Path) -> None:
    # libCacheSim never hands LIRS an object larger than the cache; a returning
    # non-resident block requested at such a size once demoted every LIR block to
    # make room it could never have (0.7136 vs libcachesim's 0.7203 on this trace)
    pareto = _edge_workloads()[0]
    path = write_trace(pareto, tmp_path / "pareto.oracleGeneral.bin")
    capacity = 44_825
    assert int(pareto.sizes.max()) > capacity
    hit, byte_hit = _libcachesim(path, "LIRS", capacity)
    for engine in ("auto", "python"):
        got = simulate(pareto, capacity, "lirs", unit="bytes", engine=engine)  # type: ignore[arg-type]
        where = f"lirs ({got.engine}) on pareto at {capacity:,} bytes"
        assert abs(got.hit_ratio - hit) < 0.001, f"{where}: {got.hit_ratio} vs {hit}"
        assert abs(got.byte_hit_ratio - byte_hit) < 0.001, f"{where}: byte hit ratio"
