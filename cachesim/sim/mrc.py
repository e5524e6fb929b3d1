"""Miss-ratio curves: hit ratio as a function of cache capacity.

``method="exact"``: LRU has the inclusion property (Mattson et al., 1970), so
one pass computing every read's stack distance gives the hit ratio at every
capacity at once (Fenwick tree, O(n log n)).  Writes count as accesses.  A
delete frees a slot in every cache size, which breaks inclusion, so a
workload with deletes is replayed once per size instead (still exact).

``method="shards"``: SHARDS (Waldspurger et al., FAST'15) keeps only the keys
whose hash falls below ``sample_rate``, computes their stack distances and
scales them by ``1 / sample_rate``, with the paper's first-bucket correction
(the shortfall of sampled reads against the expected count is added to the
smallest distance).  ``max_samples`` picks the rate so that about that many
distinct keys are sampled (the trace is known in advance, so this is the
fixed-size variant's final sample).

``method="simulate"``: one :func:`~cachesim.sim.engine.simulate` run per
capacity, for any policy, TTL or byte capacity.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from cachesim.sim import _kernels
from cachesim.sim.engine import resolve_capacity, simulate
from cachesim.sim.workload import OP_DELETE, OP_GET, Workload

__all__ = ["DEFAULT_FRACTIONS", "default_sizes", "miss_ratio_curve", "shards_sample"]

#: Default capacity ladder, as shares of the working set (the S3-FIFO artifact's ladder).
DEFAULT_FRACTIONS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.4, 0.8)

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def default_sizes(workload: Workload) -> list[int]:
    """Capacities at :data:`DEFAULT_FRACTIONS` of the workload's distinct keys."""
    n = max(1, workload.n_unique)
    return sorted({max(1, int(n * f)) for f in DEFAULT_FRACTIONS})


def _splitmix64(values: np.ndarray, seed: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15) * np.uint64(seed + 1)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        hashed: np.ndarray = z ^ (z >> np.uint64(31))
    return hashed


def shards_sample(
    workload: Workload,
    sample_rate: float | None = 0.01,
    *,
    max_samples: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """Spatial sample of a workload: ``(mask of sampled requests, effective rate)``.

    A key is sampled when its 64-bit hash (salted by ``seed``) falls below
    ``rate * 2**64``, so either all of a key's requests are kept or none.
    """
    codes, uniques = workload.dense_keys()
    source = uniques if workload.key_names is None else np.arange(len(uniques))
    key_hash = _splitmix64(source.astype(np.int64).view(np.uint64), seed)
    if max_samples is not None:
        if max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {max_samples!r}")
        if max_samples >= len(key_hash):
            return np.ones(len(codes), dtype=bool), 1.0
        threshold = np.partition(key_hash, max_samples)[max_samples]
        rate = float(threshold) / 2.0**64
    else:
        if sample_rate is None or not 0 < sample_rate <= 1:
            raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
        if sample_rate >= 1:
            return np.ones(len(codes), dtype=bool), 1.0
        rate = float(sample_rate)
        threshold = np.uint64(min(rate * 2.0**64, 2.0**64 - 1))
    chosen = key_hash < threshold
    mask: np.ndarray = chosen[codes]
    return mask, rate


def _hit_counts(hist: np.ndarray, capacities: np.ndarray, rate: float = 1.0) -> np.ndarray:
    """Reads whose stack distance, scaled by ``1 / rate``, is below each capacity."""
    cum = np.concatenate(([0], np.cumsum(hist)))
    allowed = np.ceil(capacities.astype(np.float64) * rate - 1e-9).astype(np.int64)
    counts: np.ndarray = cum[np.clip(allowed, 0, len(cum) - 1)]
    return counts


def miss_ratio_curve(
    workload: Workload,
    sizes: Sequence[float] | None = None,
    method: Literal["exact", "shards", "simulate"] = "exact",
    sample_rate: float = 0.01,
    *,
    max_samples: int | None = None,
    policy: str = "lru",
    ttl: float | None = None,
    unit: Literal["objects", "bytes"] = "objects",
    warmup: int = 0,
    seed: int = 0,
    engine: Literal["auto", "numba", "python"] = "auto",
    **options: Any,
) -> pd.DataFrame:
    """Hit and miss ratio per capacity in ``sizes``: columns ``capacity, hit_ratio, miss_ratio``.

    ``sizes`` are entries (floats in (0, 1) are shares of the working set;
    default: :data:`DEFAULT_FRACTIONS`).  ``exact`` and ``shards`` are
    one-pass LRU methods over object counts without TTLs; ``simulate`` runs
    ``policy`` once per size and accepts ``ttl``, ``unit`` and policy
    ``options``.  ``frame.attrs`` records the method, policy and sampling rate.
    """
    if sizes is None:
        capacities = default_sizes(workload)
    else:
        resolved = [resolve_capacity(workload, s, unit) for s in sizes]
        if any(c is None for c in resolved):
            raise ValueError("sizes must be numbers (use simulate() for an unbounded cache)")
        capacities = [int(c) for c in resolved if c is not None]
    deletes = workload.op is not None and bool(np.any(workload.op == OP_DELETE))
    if method == "exact" and deletes:
        # a delete leaves a free slot in every cache size, which breaks LRU's
        # inclusion property: replay each size instead (still exact)
        if policy.lower() != "lru" or ttl is not None or unit != "objects" or options:
            raise ValueError("method='exact' computes LRU curves; use method='simulate'")
        frame = miss_ratio_curve(
            workload, capacities, "simulate", warmup=warmup, engine=engine, policy="lru"
        )
        frame.attrs.update(method="exact", policy="lru")
        return frame
    if method == "simulate":
        rows = [
            simulate(
                workload,
                c,
                policy,
                ttl,
                warmup=warmup,
                unit=unit,
                engine=engine,
                **options,
            )
            for c in capacities
        ]
        frame = pd.DataFrame(
            {
                "capacity": capacities,
                "hit_ratio": [r.hit_ratio for r in rows],
                "miss_ratio": [r.miss_ratio for r in rows],
            }
        )
        frame.attrs.update(method=method, policy=rows[0].policy if rows else policy)
        return frame
    if method not in ("exact", "shards"):
        raise ValueError(f"method must be 'exact', 'shards' or 'simulate', got {method!r}")
    if policy.lower() != "lru":
        raise ValueError(f"method={method!r} computes LRU curves; use method='simulate'")
    if ttl is not None or (workload.ttl is not None and np.isfinite(workload.ttl).any()):
        raise ValueError(f"method={method!r} ignores TTLs; use method='simulate' with TTLs")
    if unit != "objects":
        raise ValueError(f"method={method!r} counts objects; use method='simulate' for bytes")
    if options:
        raise TypeError(f"unexpected options for method={method!r}: {sorted(options)}")

    if workload.op is not None:
        total_reads = int(np.count_nonzero(workload.op[warmup:] == OP_GET))
    else:
        total_reads = max(0, len(workload) - warmup)
    caps = np.asarray(capacities, dtype=np.int64)
    if method == "exact":
        codes, uniques = workload.dense_keys()
        hist, _ = _kernels.stack_histogram(codes, len(uniques), workload.op, warmup, engine)
        hits = _hit_counts(hist, caps)
        rate, sampled = 1.0, total_reads
        ratio = hits / total_reads if total_reads else np.zeros(len(caps))
    else:
        mask, rate = shards_sample(workload, sample_rate, max_samples=max_samples, seed=seed)
        sub = workload[mask]
        codes, uniques = sub.dense_keys()
        sub_warmup = int(np.count_nonzero(mask[:warmup]))
        hist, cold = _kernels.stack_histogram(codes, len(uniques), sub.op, sub_warmup, engine)
        sampled = int(hist.sum()) + cold
        expected = rate * total_reads
        # first-bucket correction: the sampled-read shortfall goes to distance 0
        hits = _hit_counts(hist, caps, rate).astype(np.float64) + (expected - sampled)
        ratio = np.clip(hits / expected, 0.0, 1.0) if expected > 0 else np.zeros(len(caps))
    frame = pd.DataFrame(
        {"capacity": caps, "hit_ratio": ratio, "miss_ratio": 1.0 - np.asarray(ratio)}
    )
    frame.attrs.update(
        method=method,
        policy="lru",
        sample_rate=rate,
        requests=total_reads,
        sampled_requests=sampled,
    )
    return frame
