"""Every compiled kernel equals its reference store, request by request.

Random workloads mix reads, writes, deletes, TTL classes, irregular times and
per-key sizes (in entries and in bytes, with overwrites that change the size);
each policy is replayed by its numba kernel and by its store class and every
counter and every per-request outcome must match.  The kernels are also
resumable: any split of a trace into chunks gives the counts of the whole.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from cachesim.policies import OFFLINE, POLICIES
from cachesim.sim import Workload, kernels, simulate, with_rate, with_ttls, with_writes, zipf
from cachesim.sim.engine import Simulation

pytestmark = pytest.mark.skipif(
    not kernels.HAVE_NUMBA, reason="compiled kernels unavailable (no numba, or CACHESIM_NO_NUMBA)"
)

#: Policies whose compiled kernel is still to be written (they replay on their stores).
WITHOUT_KERNEL = {"opt-size"}
ALL = sorted(p for p in [*POLICIES, *OFFLINE] if p not in WITHOUT_KERNEL)
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
    "inserts",
    "rejections",
)


def _counts(result: Any) -> dict[str, int]:
    return {name: getattr(result, name) for name in COUNTS}


def _mixed(seed: int, n: int = 6_000) -> Workload:
    """Reads, writes and deletes of 300 keys with TTL classes, Poisson times and sizes.

    A fifth of the writes change the key's size, so overwrites both keep and
    replace entries.
    """
    rng = np.random.default_rng(seed)
    w = zipf(300, n, 0.9, seed=seed)
    w = with_writes(w, 0.12, 0.04, mode="update" if seed % 2 else "invalidate", seed=seed)
    w = with_ttls(w, [3.0, 25.0, math.inf], seed=seed)
    w = with_rate(w, rate=20.0, seed=seed)
    base = rng.integers(1, 120, size=300)
    size = base[w.key % 300]
    resized = (w.ops == 1) & (rng.random(len(w)) < 0.2)
    size = np.where(resized, rng.integers(1, 120, size=len(w)), size)
    return w.with_columns(size=size)


CONFIGS = (
    ("objects", 1, None),
    ("objects", 40, None),
    ("objects", 40, 6.0),
    ("bytes", 2_500, None),
    ("bytes", 2_500, 6.0),
    ("bytes", 150, 6.0),
)


@pytest.mark.parametrize("policy", ALL)
def test_kernel_equals_store(policy: str) -> None:
    for seed in (1, 2):
        w = _mixed(seed)
        for unit, capacity, ttl in CONFIGS:
            common: dict[str, Any] = {"unit": unit, "warmup": 300, "window": 1}
            fast = simulate(w, capacity, policy, ttl, engine="numba", **common)
            slow = simulate(w, capacity, policy, ttl, engine="python", **common)
            assert fast.engine == "numba" and slow.engine == "python"
            where = (seed, unit, capacity, ttl)
            assert _counts(fast) == _counts(slow), where
            assert fast.windows is not None and slow.windows is not None
            assert fast.windows["hits"].equals(slow.windows["hits"]), where  # every request


@pytest.mark.parametrize(
    ("policy", "options"),
    [
        ("lirs", {"strict": True}),
        ("slru", {"segments": (1, 4)}),
        ("2q", {"in_ratio": 0.1}),
        ("wtinylfu", {"adaptive": True}),
        ("wtinylfu", {"doorkeeper": True, "protected": 0.3}),
        ("wtinylfu", {"adaptive": True, "doorkeeper": True, "expected_entries": 30}),
        ("wtinylfu", {"sample_size": 97, "protected": 0.5}),
    ],
)
def test_kernel_equals_store_with_options(policy: str, options: dict[str, Any]) -> None:
    w = _mixed(4)
    for unit, capacity, ttl in CONFIGS:
        common: dict[str, Any] = {"unit": unit, "warmup": 300, "window": 1, **options}
        fast = simulate(w, capacity, policy, ttl, engine="numba", **common)
        slow = simulate(w, capacity, policy, ttl, engine="python", **common)
        where = (policy, options, unit, capacity, ttl)
        assert _counts(fast) == _counts(slow), where
        assert fast.windows is not None and slow.windows is not None
        assert fast.windows["hits"].equals(slow.windows["hits"]), where


def test_wtinylfu_kernel_equals_store_with_a_wide_sketch() -> None:
    # 20,000 entries: sketch rows of 131,072 counters index with two mixes (not 16-bit
    # slices), and the sketch is re-sized when the cache first fills
    w = zipf(60_000, 120_000, 0.8, seed=6)
    for options in ({}, {"adaptive": True, "doorkeeper": True}):
        fast = simulate(w, 20_000, "wtinylfu", engine="numba", **options)
        slow = simulate(w, 20_000, "wtinylfu", engine="python", **options)
        assert _counts(fast) == _counts(slow), options


def test_the_policies_without_a_kernel_are_the_listed_ones() -> None:
    missing = {p for p in [*POLICIES, *OFFLINE] if not kernels.has_kernel(p)}
    assert missing == WITHOUT_KERNEL
    w = _mixed(1, 500)
    for policy in WITHOUT_KERNEL - set(OFFLINE):
        assert simulate(w, 100, policy).engine == "python"  # auto falls back to the store
        with pytest.raises(ValueError, match="no compiled kernel"):
            simulate(w, 100, policy, engine="numba")


@pytest.mark.parametrize(
    ("policy", "engine"),
    [
        (policy, engine)
        for policy in sorted(POLICIES)
        for engine in ("numba", "python")
        if engine == "python" or policy not in WITHOUT_KERNEL
    ],
)
def test_chunks_resume_where_the_last_one_stopped(policy: str, engine: str) -> None:
    w = _mixed(3, 5_000)
    w = Workload(w.key * 1_000_003 - 7, w.time, w.op, w.size, w.ttl)  # sparse raw keys
    whole = simulate(w, 1_500, policy, 6.0, unit="bytes", engine=engine, warmup=200, window=250)  # type: ignore[arg-type]
    cuts = [0, 1, 700, 701, 2_222, 4_999, 5_000]
    chunks = [w[a:b] for a, b in itertools.pairwise(cuts)]
    chunked = simulate(
        iter(chunks),
        1_500,
        policy,
        6.0,
        unit="bytes",
        engine=engine,
        warmup=200,
        window=250,  # type: ignore[arg-type]
    )
    assert _counts(chunked) == _counts(whole)
    assert chunked.windows is not None and chunked.windows.equals(whole.windows)


def test_a_simulation_can_be_fed_and_read_at_any_point() -> None:
    w = zipf(500, 20_000, 0.8, seed=4)
    sim = Simulation("arc", 100)
    for start in range(0, len(w), 5_000):
        sim.feed(w[start : start + 5_000])
        assert sim.result().requests == start + 5_000
    assert _counts(sim.result()) == _counts(simulate(w, 100, "arc"))


def test_memory_follows_the_distinct_keys_not_the_trace() -> None:
    sim = Simulation("s3fifo", 1_000)
    w = zipf(2_000, 50_000, 0.9, seed=5)
    for _ in range(8):  # 400,000 requests over 2,000 keys
        sim.feed(w)
    assert sim._n_keys < 4_000
    held = sum(a.nbytes for a in sim._policy_state.values())
    assert held < 200 * 2_000


def test_each_kernel_compiles_once() -> None:
    for policy in ("lru", "s3fifo"):
        w = _mixed(7, 2_000)
        for unit in ("objects", "bytes"):
            simulate(w, 50, policy, 5.0, unit=unit)  # type: ignore[arg-type]
            simulate(w[:1_000], 50, policy, unit=unit, window=10)  # type: ignore[arg-type]
        replay = kernels.replay_for(kernels.kernel_module(policy))
        assert len(replay.signatures) == 1


def test_options_and_bad_input_are_checked_once_for_both_engines() -> None:
    w = zipf(100, 1_000, seed=1)
    for engine in ("numba", "python"):
        with pytest.raises(ValueError, match="small_ratio"):
            simulate(w, 100, "s3fifo", engine=engine, small_ratio=2.0)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="does not take"):
            simulate(w, 100, "lru", engine=engine, bogus=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="absolute capacity"):
        simulate(iter([w]), 0.5, "lru")
    with pytest.raises(ValueError, match="needs the future"):
        simulate(iter([w]), 10, "opt")


def test_an_admission_filter_runs_compiled_and_equals_its_store_side() -> None:
    from _second_read_filter import SecondRead

    w = _mixed(8)
    for unit, capacity in (("objects", 40), ("bytes", 2_000)):
        fast = simulate(w, capacity, "lru", 6.0, unit=unit, admission=SecondRead())  # type: ignore[arg-type]
        slow = simulate(w, capacity, "lru", 6.0, unit=unit, admission=SecondRead(), engine="python")  # type: ignore[arg-type]
        plain = simulate(w, capacity, "lru", 6.0, unit=unit)  # type: ignore[arg-type]
        assert fast.engine == "numba"
        assert _counts(fast) == _counts(slow)
        assert fast.rejections > plain.rejections  # first reads were refused


def _edge_traces() -> list[Workload]:
    """Byte-mode edge cases: sizes from 1 byte to 1e6, giants in a loop, one size per key."""
    rng = np.random.default_rng(7)
    n = 5_000
    keys = rng.zipf(1.2, n) % 800 + 1
    sizes = np.minimum((rng.pareto(1.1, n) + 1) * 100, 2_000_000).astype(np.int64)
    pareto = Workload(keys.astype(np.int64), size=sizes, name="pareto")  # sizes vary per request
    per_key = (10 ** rng.uniform(0, 6, 900)).astype(np.int64) + 1
    k2 = rng.integers(1, 900, n)
    span = Workload(k2.astype(np.int64), size=per_key[k2], name="span")  # one size per key
    k3 = np.concatenate([np.arange(1, 301)] * 17)
    s3 = np.full(len(k3), 1_000, dtype=np.int64)
    s3[::97] = 250_000  # larger than any segment / queue of the smaller caches
    loop = Workload(k3.astype(np.int64), size=s3, name="loop")
    return [pareto, span, loop]


def _edge_capacities(w: Workload) -> list[int]:
    biggest = int(w.sizes.max())
    codes, uniques = w.dense_keys()
    per_key = np.zeros(len(uniques), dtype=np.int64)
    np.maximum.at(per_key, codes, w.sizes)
    total = int(per_key.sum())
    shares = {max(1, int(total * f)) for f in (0.001, 0.01, 0.1, 0.3)}
    # just above the largest object; half of it (it does not fit at all); a few units
    return sorted(shares | {biggest + 1, biggest // 2, 3})


#: the policies whose hooks evict or demote entries themselves, and the size-aware ones
EDGE_POLICIES = ("slru", "2q", "lirs", "gdsf", "arc", "s3fifo", "wtinylfu")


@pytest.mark.parametrize("policy", EDGE_POLICIES)
def test_kernel_equals_store_on_byte_edge_traces(policy: str) -> None:
    for w in _edge_traces():
        for unit in ("bytes", "objects"):
            capacities = _edge_capacities(w) if unit == "bytes" else [1, 3, 40, 400]
            for capacity in capacities:
                common: dict[str, Any] = {"unit": unit, "window": 1}
                fast = simulate(w, capacity, policy, engine="numba", **common)
                slow = simulate(w, capacity, policy, engine="python", **common)
                where = f"{policy} on {w.name} at {capacity:,} {unit}"
                assert _counts(fast) == _counts(slow), (
                    f"{where}: the kernel must count as the store"
                )
                assert fast.windows is not None and slow.windows is not None
                assert fast.windows["hits"].equals(slow.windows["hits"]), (
                    f"{where}: the kernel must hit exactly where the store hits"
                )


_STALE_PROBE = """
import numpy as np
from cachesim.sim import Workload, simulate
rng = np.random.default_rng(3)
w = Workload(rng.integers(1, 60, 3_000), size=rng.integers(1, 50, 3_000))
print(simulate(w, 400, "slru", unit="bytes", engine="numba").hits)
"""


def test_a_cached_hook_recompiles_when_a_shared_helper_changes(tmp_path: Any) -> None:
    # Numba links a helper's code into each hook that calls it and caches the hook on
    # disk stamped by the hook's own file: unless the kernel sources are part of the
    # stamp, a hook compiled before an edit of lists.py keeps the old helper.
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import cachesim

    root = tmp_path / "pkg"
    shutil.copytree(
        Path(cachesim.__file__).parent,
        root / "cachesim",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(root)}
    env.pop("NUMBA_CACHE_DIR", None)

    def hits() -> int:
        done = subprocess.run(
            [sys.executable, "-c", _STALE_PROBE],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return int(done.stdout.split()[-1])

    before = hits()
    assert hits() == before  # now loaded from the disk cache
    lists = root / "cachesim" / "sim" / "kernels" / "lists.py"
    text = lists.read_text()
    # a hit in SLRU's top segment no longer refreshes recency: other hits follow
    changed = text.replace(
        '    """Make ``k`` (already in queue ``b``) its newest key."""\n',
        '    """Make ``k`` (already in queue ``b``) its newest key."""\n    return\n',
        1,
    )
    assert changed != text
    lists.write_text(changed)
    assert hits() != before, "slru's cached hooks must be rebuilt with the edited lists.py"
