"""Miss-ratio curves: hit ratio as a function of cache capacity.

``method="exact"``: LRU has the inclusion property (Mattson et al., 1970), so
one pass computing every read's stack distance gives the hit ratio at every
capacity at once (Fenwick tree, O(n log n)).  With ``unit="bytes"`` the
distance is counted in bytes (the sizes of the distinct keys used since the
key's previous access, plus its own), which gives the byte-capacity LRU curve
in one pass too.  Writes count as accesses.  A delete frees a slot in every
cache size, which breaks inclusion, so a workload with deletes is replayed once
per size instead (still exact).

``method="shards"``: SHARDS (Waldspurger et al., FAST'15) keeps only the keys
whose hash falls below a threshold, scales their stack distances by
``1 / rate`` and adds the shortfall of sampled reads against the expected count
to the first bucket (SHARDS_adj).  By default the sample is bounded
(``max_samples=16384`` keys, fixed-size SHARDS: the threshold is lowered as the
sample fills), so small traces are sampled densely and large ones cheaply;
``sample_rate=`` alone gives fixed-rate SHARDS.

``method="minisim"``: miniature simulation (Waldspurger et al., ATC'17) for
any policy, inclusion or not: the spatially sampled trace is replayed against a
cache scaled down by the same rate.  Each size uses at least ``min_scaled``
sampled entries (a higher rate for small caches, the full trace when needed).

Sampled curves average ``replicates`` independent samples (hash salts ``seed``,
``seed+1`` ...) and report their standard error in an ``error`` column.

``method="simulate"``: one :func:`~cachesim.sim.engine.simulate` run per
capacity, for any policy, TTL or byte capacity.

Every method also accepts a trace path or an iterable of Workload chunks and
then streams: memory is bounded by the distinct keys (or the sample, or the
caches), not by the trace length.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from cachesim.sim import _kernels
from cachesim.sim._profile import DistinctKeys, LruProfile, ShardsProfile, splitmix64
from cachesim.sim.engine import resolve_capacity, simulate
from cachesim.sim.stream import ChunkReplay, Source, chunks_of, source_name
from cachesim.sim.workload import OP_DELETE, OP_GET, Workload

__all__ = [
    "DEFAULT_FRACTIONS",
    "DEFAULT_MAX_SAMPLES",
    "DEFAULT_MIN_SCALED",
    "DEFAULT_REPLICATES",
    "default_sizes",
    "miss_ratio_curve",
    "shards_sample",
]

#: Default capacity ladder, as shares of the working set (the S3-FIFO artifact's ladder).
DEFAULT_FRACTIONS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.4, 0.8)
#: Keys kept by fixed-size SHARDS unless ``max_samples=`` says otherwise.
DEFAULT_MAX_SAMPLES = 16_384
#: Smallest scaled-down cache (in entries) a miniature simulation runs.
DEFAULT_MIN_SCALED = 4_000
#: Independent samples behind a sampled curve (their spread is the ``error`` column).
DEFAULT_REPLICATES = 4

Method = Literal["exact", "shards", "minisim", "simulate"]


def default_sizes(workload: Workload) -> list[int]:
    """Capacities at :data:`DEFAULT_FRACTIONS` of the workload's distinct keys."""
    return _ladder(workload.n_unique)


def _ladder(n_unique: int) -> list[int]:
    n = max(1, n_unique)
    return sorted({max(1, int(n * f)) for f in DEFAULT_FRACTIONS})


def _splitmix64(values: np.ndarray, seed: int) -> np.ndarray:
    return splitmix64(values, seed)


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
    ``max_samples`` keeps the that many keys with the smallest hashes.
    """
    codes, uniques = workload.dense_keys()
    source = uniques if workload.key_names is None else np.arange(len(uniques))
    key_hash = splitmix64(source.astype(np.int64), seed)
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


def _check_sizes(sizes: Sequence[float] | None) -> None:
    if sizes is not None and any(s is None for s in sizes):
        raise ValueError("sizes must be numbers (use simulate() for an unbounded cache)")


def _frame(
    capacities: Sequence[int],
    hit_ratio: Any,
    *,
    byte_hit_ratio: Any = None,
    error: Any = None,
    **attrs: Any,
) -> pd.DataFrame:
    ratio = np.asarray(hit_ratio, dtype=np.float64)
    data: dict[str, Any] = {
        "capacity": np.asarray(capacities, dtype=np.int64),
        "hit_ratio": ratio,
        "miss_ratio": 1.0 - ratio,
    }
    if byte_hit_ratio is not None:
        data["byte_hit_ratio"] = np.asarray(byte_hit_ratio, dtype=np.float64)
    if error is not None:
        data["error"] = np.asarray(error, dtype=np.float64)
    frame = pd.DataFrame(data)
    frame.attrs.update(attrs)
    return frame


def miss_ratio_curve(
    workload: Workload | Source,
    sizes: Sequence[float] | None = None,
    method: Method = "exact",
    sample_rate: float | None = None,
    *,
    max_samples: int | None = None,
    replicates: int = DEFAULT_REPLICATES,
    min_scaled: int = DEFAULT_MIN_SCALED,
    policy: str = "lru",
    ttl: float | None = None,
    unit: Literal["objects", "bytes"] = "objects",
    warmup: int = 0,
    seed: int = 0,
    engine: Literal["auto", "numba", "python"] = "auto",
    read: Mapping[str, Any] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Hit and miss ratio per capacity: columns ``capacity, hit_ratio, miss_ratio`` (+ more).

    ``sizes`` are entries or bytes (``unit``); floats in (0, 1) are shares of
    the working set; default :data:`DEFAULT_FRACTIONS`.  Methods: ``exact``
    (one-pass LRU, objects or bytes), ``shards`` (sampled one-pass LRU),
    ``minisim`` (sampled replay, any policy), ``simulate`` (one replay per
    size, any policy).  ``unit="bytes"`` adds ``byte_hit_ratio``; sampled
    methods add ``error``, the standard error of the estimate over
    ``replicates`` independent samples.  ``workload`` may be a trace path
    (``read=`` options go to :func:`~cachesim.sim.traces.iter_trace`) or an
    iterable of chunks: the curve is then computed in one streaming pass.
    ``frame.attrs`` records the method, policy, sampling rate and sample size.
    """
    if unit not in ("objects", "bytes"):
        raise ValueError(f"unit must be 'objects' or 'bytes', got {unit!r}")
    if method not in ("exact", "shards", "minisim", "simulate"):
        raise ValueError(
            f"method must be 'exact', 'shards', 'minisim' or 'simulate', got {method!r}"
        )
    if replicates < 1:
        raise ValueError(f"replicates must be >= 1, got {replicates!r}")
    _check_sizes(sizes)
    if method in ("exact", "shards"):
        if policy.lower() != "lru":
            raise ValueError(f"method={method!r} computes LRU curves; use method='minisim'")
        if options:
            raise TypeError(f"unexpected options for method={method!r}: {sorted(options)}")
        if ttl is not None:
            raise ValueError(f"method={method!r} ignores TTLs; use method='simulate' with TTLs")
    if method == "shards" and unit != "objects":
        raise ValueError("method='shards' counts objects; use 'exact' or 'minisim' for bytes")
    if not isinstance(workload, Workload):
        return _streamed(
            workload,
            sizes,
            method,
            sample_rate=sample_rate,
            max_samples=max_samples,
            replicates=replicates,
            min_scaled=min_scaled,
            policy=policy,
            ttl=ttl,
            unit=unit,
            warmup=warmup,
            seed=seed,
            engine=engine,
            read=read,
            options=options,
        )
    if read:
        raise ValueError("read= options apply to a trace path")
    if sizes is None:
        capacities = default_sizes(workload) if unit == "objects" else _byte_ladder(workload)
    else:
        capacities = [int(resolve_capacity(workload, s, unit) or 0) for s in sizes]
    has_ttls = workload.ttl is not None and bool(np.isfinite(workload.ttl).any())
    deletes = workload.op is not None and bool(np.any(workload.op == OP_DELETE))
    if method in ("exact", "shards") and has_ttls:
        raise ValueError(f"method={method!r} ignores TTLs; use method='simulate' with TTLs")
    if method == "exact" and deletes:
        # a delete leaves a free slot in every cache size, which breaks LRU's
        # inclusion property: replay each size instead (still exact)
        frame = _per_size(workload, capacities, "lru", None, unit, warmup, engine, {})
        frame.attrs.update(method="exact", policy="lru")
        return frame
    if method == "simulate":
        return _per_size(workload, capacities, policy, ttl, unit, warmup, engine, options)
    if method == "minisim":
        return _minisim(
            workload,
            capacities,
            policy=policy,
            ttl=ttl,
            unit=unit,
            warmup=warmup,
            seed=seed,
            sample_rate=sample_rate,
            min_scaled=min_scaled,
            replicates=replicates,
            engine=engine,
            options=options,
        )
    if method == "shards":
        samplers = _shards_profiles(sample_rate, max_samples, replicates, seed, warmup, engine)
        for sampler in samplers:
            sampler.update(workload.key, workload.op)
        return _shards_frame(samplers, capacities)
    # exact LRU
    if unit == "bytes":
        profile = LruProfile("bytes", capacities, warmup=warmup, engine=engine)
        profile.update(workload.key, workload.size, workload.op)
        return _exact_frame(profile, capacities)
    if workload.op is not None:
        total_reads = int(np.count_nonzero(workload.op[warmup:] == OP_GET))
    else:
        total_reads = max(0, len(workload) - warmup)
    codes, uniques = workload.dense_keys()
    hist, _ = _kernels.stack_histogram(codes, len(uniques), workload.op, warmup, engine)
    hits = _hit_counts(hist, np.asarray(capacities, dtype=np.int64))
    ratio = hits / total_reads if total_reads else np.zeros(len(capacities))
    return _frame(
        capacities,
        ratio,
        method="exact",
        policy="lru",
        unit="objects",
        sample_rate=1.0,
        requests=total_reads,
        sampled_requests=total_reads,
    )


def _byte_ladder(workload: Workload) -> list[int]:
    resolved = [resolve_capacity(workload, f, "bytes") for f in DEFAULT_FRACTIONS]
    return sorted({int(c) for c in resolved if c})


def _per_size(
    workload: Workload,
    capacities: Sequence[int],
    policy: str,
    ttl: float | None,
    unit: Literal["objects", "bytes"],
    warmup: int,
    engine: Literal["auto", "numba", "python"],
    options: dict[str, Any],
) -> pd.DataFrame:
    rows = [
        simulate(workload, c, policy, ttl, warmup=warmup, unit=unit, engine=engine, **options)
        for c in capacities
    ]
    extra = {"byte_hit_ratio": [r.byte_hit_ratio for r in rows]} if unit == "bytes" else {}
    return _frame(
        capacities,
        [r.hit_ratio for r in rows],
        **extra,
        method="simulate",
        policy=rows[0].policy if rows else policy,
        unit=unit,
    )


def _exact_frame(profile: LruProfile, capacities: Sequence[int]) -> pd.DataFrame:
    reads, bytes_read = profile.reads, profile.bytes_read
    hits, hit_bytes = profile.hits(capacities)
    ratio = hits / reads if reads else np.zeros(len(capacities))
    extra: dict[str, Any] = {}
    if profile.bytes_mode:
        extra["byte_hit_ratio"] = hit_bytes / bytes_read if bytes_read else ratio * 0
    return _frame(
        capacities,
        ratio,
        **extra,
        method="exact",
        policy="lru",
        unit="bytes" if profile.bytes_mode else "objects",
        sample_rate=1.0,
        requests=reads,
        sampled_requests=reads,
        distinct_keys=profile.distinct,
        chunks=profile.chunks,
        state_bytes=profile.nbytes(),
    )


# -- SHARDS --------------------------------------------------------------------------------


def _shards_profiles(
    sample_rate: float | None,
    max_samples: int | None,
    replicates: int,
    seed: int,
    warmup: int,
    engine: Literal["auto", "numba", "python"],
) -> list[ShardsProfile]:
    if sample_rate is not None and not 0 < sample_rate <= 1:
        raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
    if max_samples is None and sample_rate is None:
        max_samples = DEFAULT_MAX_SAMPLES
    return [
        ShardsProfile(
            1.0 if sample_rate is None else sample_rate,
            max_samples,
            seed=seed + r,
            warmup=warmup,
            engine=engine,
        )
        for r in range(replicates)
    ]


def _standard_error(values: np.ndarray) -> np.ndarray:
    """Standard error of the mean over axis 0 (0 with a single replicate: unknown)."""
    k = values.shape[0]
    if k < 2:
        return np.full(values.shape[1:], np.nan)
    result: np.ndarray = values.std(axis=0, ddof=1) / math.sqrt(k)
    return result


def _shards_frame(profiles: list[ShardsProfile], capacities: Sequence[int]) -> pd.DataFrame:
    caps = np.asarray(capacities, dtype=np.int64)
    curves = []
    for profile in profiles:
        hits, expected = profile.hits(caps)
        curves.append(np.clip(hits / expected, 0.0, 1.0) if expected > 0 else hits * 0.0)
    stack = np.asarray(curves)
    rates = [p.rate for p in profiles]
    return _frame(
        capacities,
        stack.mean(axis=0),
        error=_standard_error(stack),
        method="shards",
        policy="lru",
        unit="objects",
        sample_rate=float(np.mean(rates)),
        fixed_size=profiles[0].fixed_size,
        replicates=len(profiles),
        requests=profiles[0].reads,
        sampled_requests=round(float(np.mean([p.rate * p.reads for p in profiles]))),
        state_bytes=max(p.nbytes() for p in profiles),
    )


# -- MINISIM ---------------------------------------------------------------------------------


def _scaled_rates(capacities: Sequence[int], sample_rate: float, min_scaled: float) -> list[float]:
    """Per capacity, the sampling rate that keeps at least ``min_scaled`` of it (capped at 1)."""
    return [min(1.0, max(sample_rate, min_scaled / c)) if c > 0 else 1.0 for c in capacities]


def _minisim_rate(sample_rate: float | None) -> float:
    rate = 0.01 if sample_rate is None else float(sample_rate)
    if not 0 < rate <= 1:
        raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
    return rate


def _adjusted(result: Any, rate: float, reads: int, read_bytes: int) -> tuple[float, float]:
    """A miniature run's hit and byte hit ratio with the SHARDS_adj correction.

    The sample holds more or fewer reads than ``rate * reads`` mostly because
    it caught more or fewer of the very frequent keys, which hit at any size:
    the difference is counted as hits (Waldspurger et al., FAST'15).
    """
    expected = rate * reads
    expected_bytes = rate * read_bytes
    hits = result.hits + expected - result.requests
    hit_bytes = result.bytes_hit + expected_bytes - result.bytes_requested
    ratio = min(1.0, max(0.0, hits / expected)) if expected > 0 else 0.0
    byte_ratio = min(1.0, max(0.0, hit_bytes / expected_bytes)) if expected_bytes > 0 else 0.0
    return ratio, byte_ratio


def _mean_size(workload: Workload) -> float:
    if workload.size is None or len(workload) == 0:
        return 1.0
    return max(1.0, float(workload.size.mean()))


def _minisim(
    workload: Workload,
    capacities: Sequence[int],
    *,
    policy: str,
    ttl: float | None,
    unit: Literal["objects", "bytes"],
    warmup: int,
    seed: int,
    sample_rate: float | None,
    min_scaled: int,
    replicates: int,
    engine: Literal["auto", "numba", "python"],
    options: dict[str, Any],
) -> pd.DataFrame:
    base = _minisim_rate(sample_rate)
    per_entry = _mean_size(workload) if unit == "bytes" else 1.0
    rates = _scaled_rates(capacities, base, min_scaled * per_entry)
    hashes = [splitmix64(workload.key, seed + r) for r in range(replicates)]
    reads = workload.op[warmup:] == OP_GET if workload.op is not None else None
    total_reads = int(np.count_nonzero(reads)) if reads is not None else len(workload) - warmup
    read_sizes = workload.sizes[warmup:] if unit == "bytes" else None
    if read_sizes is not None and reads is not None:
        read_sizes = read_sizes[reads]
    total_bytes = int(read_sizes.sum()) if read_sizes is not None else total_reads
    hit, byte_hit, error, sampled = [], [], [], 0
    name = policy
    for capacity, rate in zip(capacities, rates, strict=True):
        if rate >= 1.0:  # the scaled cache would be the real one: replay exactly
            result = simulate(
                workload, capacity, policy, ttl, warmup=warmup, unit=unit, engine=engine, **options
            )
            name = result.policy
            hit.append(result.hit_ratio)
            byte_hit.append(result.byte_hit_ratio)
            error.append(0.0)
            continue
        threshold = rate * 2.0**64
        runs = []
        for key_hash in hashes:
            mask = key_hash.astype(np.float64) < threshold
            sub = workload[mask]
            sampled += len(sub)
            scaled = max(1, round(capacity * rate))
            result = simulate(
                sub,
                scaled,
                policy,
                ttl,
                warmup=int(np.count_nonzero(mask[:warmup])),
                unit=unit,
                engine=engine,
                **options,
            )
            name = result.policy
            runs.append(_adjusted(result, rate, max(0, total_reads), total_bytes))
        values = np.asarray(runs)
        hit.append(float(values[:, 0].mean()))
        byte_hit.append(float(values[:, 1].mean()))
        error.append(float(_standard_error(values[:, :1])[0]))
    extra = {"byte_hit_ratio": byte_hit} if unit == "bytes" else {}
    return _frame(
        capacities,
        hit,
        **extra,
        error=error,
        method="minisim",
        policy=name,
        unit=unit,
        sample_rate=base,
        sample_rates=rates,
        replicates=replicates,
        requests=len(workload),
        sampled_requests=sampled,
    )


# -- streaming -------------------------------------------------------------------------------


def _absolute(sizes: Sequence[float] | None, method: str, unit: str) -> list[int] | None:
    """Absolute capacities, or None when they depend on the working set (known at the end)."""
    if sizes is None:
        return None
    fractional = [s for s in sizes if isinstance(s, float) and not float(s).is_integer()]
    if not fractional:
        return [int(s) for s in sizes]
    if (method == "exact" and unit == "objects") or method == "shards":
        return None
    raise ValueError(
        f"a streamed {method} curve in {unit} needs absolute capacities: shares of the "
        "working set are known only after the whole trace (load it, or pass numbers)"
    )


def _resolve_at_end(sizes: Sequence[float] | None, distinct: int) -> list[int]:
    if sizes is None:
        return _ladder(distinct)
    out = []
    for s in sizes:
        if isinstance(s, float) and not s.is_integer():
            if not 0 < s < 1:
                raise ValueError(f"a fractional capacity must be in (0, 1), got {s!r}")
            out.append(max(1, int(distinct * s)))
        else:
            out.append(int(s))
    return out


def _streamed(
    source: Source,
    sizes: Sequence[float] | None,
    method: Method,
    *,
    sample_rate: float | None,
    max_samples: int | None,
    replicates: int,
    min_scaled: int,
    policy: str,
    ttl: float | None,
    unit: Literal["objects", "bytes"],
    warmup: int,
    seed: int,
    engine: Literal["auto", "numba", "python"],
    read: Mapping[str, Any] | None,
    options: dict[str, Any],
) -> pd.DataFrame:
    capacities = _absolute(sizes, method, unit)
    name = source_name(source)
    if method == "exact":
        if unit == "bytes" and capacities is None:
            raise ValueError("a streamed byte curve needs absolute capacities (bytes)")
        profile = LruProfile(unit, capacities, warmup=warmup, engine=engine)
        for chunk in chunks_of(source, read):
            if chunk.op is not None and np.any(chunk.op == OP_DELETE):
                raise ValueError(
                    "the trace has deletes, which break LRU's one-pass property; "
                    "use method='simulate' (one streamed replay per size)"
                )
            _no_ttls(chunk, method)
            profile.update(chunk.key, chunk.size, chunk.op)
        caps = capacities if capacities is not None else _resolve_at_end(sizes, profile.distinct)
        frame = _exact_frame(profile, caps)
        frame.attrs["workload"] = name
        return frame
    if method == "shards":
        samplers = _shards_profiles(sample_rate, max_samples, replicates, seed, warmup, engine)
        distinct = DistinctKeys(engine)
        for chunk in chunks_of(source, read):
            _no_ttls(chunk, method)
            if capacities is None:
                distinct.update(chunk.key)
            for sampler in samplers:
                sampler.update(chunk.key, chunk.op)
        caps = capacities if capacities is not None else _resolve_at_end(sizes, distinct.count)
        frame = _shards_frame(samplers, caps)
        frame.attrs["workload"] = name
        return frame
    assert capacities is not None
    # minisim and simulate: every store is fed in the same single pass
    base = _minisim_rate(sample_rate) if method == "minisim" else 1.0
    runs: list[tuple[int, float, int, ChunkReplay]] = []
    if method == "simulate":
        rates = [1.0] * len(capacities)
    else:
        if unit == "bytes":
            raise ValueError(
                "a streamed byte-capacity minisim needs the mean object size first; "
                "load the trace, or use method='exact' (LRU) / 'simulate'"
            )
        rates = _scaled_rates(capacities, base, min_scaled)
    for i, (capacity, rate) in enumerate(zip(capacities, rates, strict=True)):
        salts = [seed] if rate >= 1.0 else [seed + r for r in range(replicates)]
        for salt in salts:
            scaled = capacity if rate >= 1.0 else max(1, round(capacity * rate))
            replay = ChunkReplay(
                scaled, policy, ttl, unit=unit, warmup=warmup, engine=engine, **options
            )
            runs.append((i, rate, salt, replay))
    salts_used = sorted({salt for _, rate, salt, _ in runs if rate < 1.0})
    seen = total_reads = total_bytes = 0
    for chunk in chunks_of(source, read):
        counted = np.arange(seen, seen + len(chunk)) >= warmup
        if chunk.op is not None:
            counted &= chunk.op == OP_GET
        seen += len(chunk)
        total_reads += int(np.count_nonzero(counted))
        if unit == "bytes" and chunk.size is not None:
            total_bytes += int(chunk.size[counted].sum())
        else:
            total_bytes += int(np.count_nonzero(counted))
        hashes = {salt: splitmix64(chunk.key, salt).astype(np.float64) for salt in salts_used}
        for _, rate, salt, replay in runs:
            select = None if rate >= 1.0 else hashes[salt] < rate * 2.0**64
            replay.update(chunk, select)
    results: dict[int, list[tuple[float, float]]] = {}
    for i, rate, _, replay in runs:
        result = replay.result(name)
        pair = (
            (result.hit_ratio, result.byte_hit_ratio)
            if rate >= 1.0
            else _adjusted(result, rate, total_reads, total_bytes)
        )
        results.setdefault(i, []).append(pair)
    values = [np.asarray(results[i]) for i in range(len(capacities))]
    hit = [float(v[:, 0].mean()) for v in values]
    byte_hit = [float(v[:, 1].mean()) for v in values]
    extra: dict[str, Any] = {"byte_hit_ratio": byte_hit} if unit == "bytes" else {}
    if method == "minisim":
        extra["error"] = [
            float(_standard_error(v[:, :1])[0]) if rates[i] < 1.0 else 0.0
            for i, v in enumerate(values)
        ]
    policy_name = runs[0][3].policy if runs else policy
    return _frame(
        capacities,
        hit,
        **extra,
        method=method,
        policy=policy_name,
        unit=unit,
        sample_rate=base,
        workload=name,
        replicates=replicates if method == "minisim" else 1,
    )


def _no_ttls(chunk: Workload, method: str) -> None:
    if chunk.ttl is not None and np.isfinite(chunk.ttl).any():
        raise ValueError(f"method={method!r} ignores TTLs; use method='simulate' with TTLs")
