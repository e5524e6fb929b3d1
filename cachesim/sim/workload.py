"""Workloads: request sequences as columns of numpy arrays, and seeded generators.

A :class:`Workload` holds one array per request attribute.  Only ``key`` is
required; every other column may be ``None`` and then takes its documented
default, so a key-only trace costs 8 bytes per request.

Generators are reproducible (same arguments and seed, same requests) and
compose: ``with_writes(zipf(...), write_ratio=0.1)`` turns a read-only stream
into a cache-aside application's mix, ``with_ttls`` assigns per-key-class TTLs
and ``diurnal`` gives the requests timestamps whose rate follows the day.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "GENERATORS",
    "OP_DELETE",
    "OP_GET",
    "OP_NAMES",
    "OP_SET",
    "Workload",
    "che_hit_ratio",
    "concat",
    "diurnal",
    "hotspot",
    "loop",
    "scan",
    "shifting_hotset",
    "uniform",
    "with_rate",
    "with_sizes",
    "with_ttls",
    "with_writes",
    "zipf",
    "zipf_probabilities",
]

#: A read; on a miss the application loads the value and fills the cache.
OP_GET = 0
#: A write of the key's value into the cache (write-through / refresh).
OP_SET = 1
#: Removal of the key from the cache (invalidation after a database write).
OP_DELETE = 2
#: Operation names, indexed by code (the names used in CSV traces).
OP_NAMES: tuple[str, str, str] = ("get", "set", "delete")

_CHUNK = 1 << 20


def _column(
    values: Any, dtype: npt.DTypeLike, n: int, name: str, *, integer: bool = False
) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"Workload.{name} must be one-dimensional, got shape {arr.shape}")
    if len(arr) != n:
        raise ValueError(f"Workload.{name} has {len(arr)} values for {n} keys")
    if integer and arr.dtype.kind in "iu":
        return arr
    if integer and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"Workload.{name} holds non-finite values")
    return arr.astype(dtype, copy=False)


@dataclass(frozen=True)
class Workload:
    """A sequence of cache requests, one numpy array per attribute.

    ``key``: int64 key ids (dense ``0..n_unique-1`` when the source had
    non-integer keys, whose originals are kept in ``key_names``).
    ``time``: float64 seconds; ``None`` means request *i* happens at *i*.
    ``op``: uint8 :data:`OP_GET` / :data:`OP_SET` / :data:`OP_DELETE`; ``None``
    means every request is a get (a miss is filled by the application).
    ``size``: object size in bytes; ``None`` means 1.
    ``ttl``: float32 seconds for the entry a write or fill stores; ``None`` or
    NaN means the engine's default, ``inf`` means no expiry.
    """

    key: np.ndarray
    time: np.ndarray | None = None
    op: np.ndarray | None = None
    size: np.ndarray | None = None
    ttl: np.ndarray | None = None
    key_names: np.ndarray | None = None
    name: str = "workload"
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = np.asarray(self.key)
        if key.ndim != 1:
            raise ValueError(f"Workload.key must be one-dimensional, got shape {key.shape}")
        if key.dtype.kind not in "iu":
            if (
                key.dtype.kind == "f" and np.all(np.isfinite(key)) and np.all(key == np.floor(key))
            ) or len(key) == 0:
                key = key.astype(np.int64)
            else:
                raise TypeError(
                    "Workload.key must hold integers; use Workload.from_keys() for string keys"
                )
        key = key.astype(np.int64, copy=False)
        n = len(key)
        set_ = object.__setattr__
        set_(self, "key", key)
        set_(self, "time", _column(self.time, np.float64, n, "time"))
        op = _column(self.op, np.uint8, n, "op", integer=True)
        if op is not None:
            if op.dtype != np.uint8:
                if n and (op.min() < 0 or op.max() > OP_DELETE):
                    raise ValueError("Workload.op values must be OP_GET, OP_SET or OP_DELETE")
                op = op.astype(np.uint8)
            elif n and op.max() > OP_DELETE:
                raise ValueError("Workload.op values must be OP_GET, OP_SET or OP_DELETE")
        set_(self, "op", op)
        size = _column(self.size, np.int64, n, "size", integer=True)
        if size is not None and n and size.min() < 0:
            raise ValueError("Workload.size must not be negative")
        set_(self, "size", size)
        set_(self, "ttl", _column(self.ttl, np.float32, n, "ttl"))
        if self.key_names is not None:
            names = np.asarray(self.key_names, dtype=object)
            if n and (key.min() < 0 or key.max() >= len(names)):
                raise ValueError("Workload.key ids must index key_names")
            set_(self, "key_names", names)

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_keys(
        cls,
        keys: Sequence[Any] | np.ndarray | pd.Series,
        *,
        time: Any = None,
        op: Any = None,
        size: Any = None,
        ttl: Any = None,
        name: str = "workload",
    ) -> Workload:
        """Build a workload from arbitrary hashable keys (strings are kept in ``key_names``).

        Integer keys are used as they are; anything else is mapped to dense ids in
        order of first appearance, so distinct keys never collapse.
        """
        arr = np.asarray(keys)
        if arr.dtype.kind in "iu":
            return cls(arr, time, _ops(op), size, ttl, name=name)
        codes, uniques = pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=False)
        names = np.asarray(uniques, dtype=object)
        return cls(codes.astype(np.int64), time, _ops(op), size, ttl, names, name=name)

    # -- sequence protocol ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self.key)

    def __getitem__(self, index: slice | np.ndarray) -> Workload:
        """Requests selected by a slice, a boolean mask or an index array (key ids are kept)."""
        if isinstance(index, int | np.integer):
            raise TypeError("index a Workload with a slice or an array; use to_frame() for rows")

        def pick(arr: np.ndarray | None) -> np.ndarray | None:
            return None if arr is None else arr[index]

        return Workload(
            self.key[index],
            pick(self.time),
            pick(self.op),
            pick(self.size),
            pick(self.ttl),
            self.key_names,
            self.name,
        )

    def __repr__(self) -> str:
        cols = [
            c for c in ("time", "op", "size", "ttl", "key_names") if getattr(self, c) is not None
        ]
        extra = f", columns=key+{'+'.join(cols)}" if cols else ""
        return f"Workload(name={self.name!r}, requests={len(self)}{extra})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Workload):
            return NotImplemented
        for attr in ("key", "time", "op", "size", "ttl", "key_names"):
            a, b = getattr(self, attr), getattr(other, attr)
            if (a is None) != (b is None):
                return False
            if a is not None and not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    # -- derived columns --------------------------------------------------------------
    @property
    def times(self) -> np.ndarray:
        """Request times (float64 seconds; the request index when ``time`` is None)."""
        return self.time if self.time is not None else np.arange(len(self), dtype=np.float64)

    @property
    def ops(self) -> np.ndarray:
        """Operation codes (all :data:`OP_GET` when ``op`` is None)."""
        return self.op if self.op is not None else np.zeros(len(self), dtype=np.uint8)

    @property
    def sizes(self) -> np.ndarray:
        """Object sizes (all 1 when ``size`` is None)."""
        return self.size if self.size is not None else np.ones(len(self), dtype=np.int64)

    @property
    def n_unique(self) -> int:
        """Number of distinct keys."""
        return len(self.dense_keys()[1])

    def dense_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, uniques)``: keys renumbered ``0..n_unique-1`` in first-seen order.

        Cached on the workload, since engines and summaries need it repeatedly.
        """
        cached = self._cache.get("dense")
        if cached is None:
            from cachesim.sim._kernels import dense_ids

            cached = dense_ids(self.key)
            self._cache["dense"] = cached
        codes, uniques = cached
        return codes, uniques

    def original_keys(self) -> np.ndarray:
        """The keys as the source had them (``key_names`` looked up, else the int ids)."""
        if self.key_names is None:
            return self.key
        names: np.ndarray = self.key_names[self.key]
        return names

    # -- reports -------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per request: ``time, key`` and whichever of ``op, size, ttl`` exist.

        ``key`` holds the original keys; ``op`` is categorical (``get``/``set``/``delete``).
        """
        data: dict[str, Any] = {"time": self.times, "key": self.original_keys()}
        if self.op is not None:
            data["op"] = pd.Categorical.from_codes(
                self.op.astype(np.int8), categories=pd.Index(list(OP_NAMES))
            )
        if self.size is not None:
            data["size"] = self.size
        if self.ttl is not None:
            data["ttl"] = self.ttl
        return pd.DataFrame(data)

    def summary(self) -> dict[str, Any]:
        """Trace statistics: requests, unique keys, one-hit wonders, reuse and a Zipf fit.

        ``reuse_distance_*`` are LRU stack distances (distinct keys between two
        requests of one key, i.e. the smallest LRU cache that would hit);
        ``reuse_time_*`` count requests in between.  ``zipf_alpha`` is the slope
        of log(frequency) against log(rank) over keys requested at least 5 times.
        """
        from cachesim.sim._kernels import stack_distances

        n = len(self)
        codes, uniques = self.dense_keys()
        counts = np.bincount(codes, minlength=len(uniques)) if n else np.zeros(0, np.int64)
        ops = self.ops
        out: dict[str, Any] = {
            "name": self.name,
            "requests": n,
            "unique_keys": len(uniques),
            "gets": int(np.count_nonzero(ops == OP_GET)),
            "sets": int(np.count_nonzero(ops == OP_SET)),
            "deletes": int(np.count_nonzero(ops == OP_DELETE)),
            "one_hit_wonders": int(np.count_nonzero(counts == 1)),
            "one_hit_wonder_ratio": float(np.mean(counts == 1)) if len(counts) else 0.0,
            "cold_miss_ratio": len(uniques) / n if n else 0.0,
            "max_hit_ratio": 1.0 - len(uniques) / n if n else 0.0,
            "duration": float(self.times[-1] - self.times[0]) if n else 0.0,
        }
        if self.size is not None and n:
            out["mean_size"] = float(self.size.mean())
            out["bytes"] = int(self.size.sum())
        dist = stack_distances(codes, len(uniques))
        reused = dist[dist >= 0]
        gaps = _reuse_times(codes)
        for label, values in (("reuse_distance", reused), ("reuse_time", gaps)):
            if len(values):
                out[f"{label}_mean"] = float(values.mean())
                out[f"{label}_median"] = float(np.median(values))
                out[f"{label}_p90"] = float(np.percentile(values, 90))
            else:
                out[f"{label}_mean"] = out[f"{label}_median"] = out[f"{label}_p90"] = math.nan
        out["zipf_alpha"] = _fit_zipf(counts)
        return out

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary` as a one-column DataFrame (handy in notebooks)."""
        return pd.DataFrame({"value": pd.Series(self.summary(), dtype=object)})

    def with_columns(self, **columns: Any) -> Workload:
        """A copy with some columns replaced (``time=..., ttl=..., name=...``)."""
        return replace(self, _cache={}, **columns)


def _ops(op: Any) -> Any:
    """Accept op codes or names (``get``/``set``/``delete``)."""
    if op is None:
        return None
    arr = np.asarray(op)
    if arr.dtype.kind in "iu":
        return arr
    codes = (
        pd.Series(arr, dtype=object)
        .str.lower()
        .map({"get": OP_GET, "set": OP_SET, "delete": OP_DELETE, "del": OP_DELETE})
    )
    if codes.isna().any():
        bad = arr[codes.isna().to_numpy()][0]
        raise ValueError(f"unknown operation {bad!r}; use get, set or delete")
    return codes.to_numpy(dtype=np.uint8)


def _reuse_times(codes: np.ndarray) -> np.ndarray:
    """Requests between consecutive requests of the same key (vectorised)."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    same = codes[order][1:] == codes[order][:-1]
    gaps: np.ndarray = (order[1:] - order[:-1])[same] - 1
    return gaps


def _fit_zipf(counts: np.ndarray) -> float:
    freq = np.sort(counts)[::-1]
    freq = freq[freq > 0]
    head = freq[freq >= 5]
    if len(head) >= 10:
        freq = head
    if len(freq) < 3 or freq[0] == freq[-1]:
        return 0.0
    ranks = np.arange(1, len(freq) + 1, dtype=np.float64)
    slope = np.polyfit(np.log(ranks), np.log(freq.astype(np.float64)), 1)[0]
    return float(-slope)


# -- generators --------------------------------------------------------------------


def zipf_probabilities(n_keys: int, alpha: float) -> np.ndarray:
    """Exact finite Zipf probabilities ``p_i ∝ (i+1)^-alpha`` (key 0 the most popular)."""
    _check_positive(n_keys=n_keys)
    weights = np.arange(1, n_keys + 1, dtype=np.float64) ** -float(alpha)
    probabilities: np.ndarray = weights / weights.sum()
    return probabilities


def _sample_cdf(cdf: np.ndarray, n_requests: int, rng: np.random.Generator) -> np.ndarray:
    from cachesim.sim._kernels import sample_cdf

    out = np.empty(n_requests, dtype=np.int64)
    for start in range(0, n_requests, _CHUNK):
        stop = min(n_requests, start + _CHUNK)
        out[start:stop] = sample_cdf(cdf, rng.random(stop - start))
    np.minimum(out, len(cdf) - 1, out=out)
    return out


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value!r}")


_YCSB_ITEM_COUNT = 10_000_000_000
_YCSB_ZETAN_099 = 26.46902820178302
_FNV_OFFSET_64 = np.uint64(0xCBF29CE484222325)
_FNV_PRIME_64 = np.uint64(1099511628211)


def _zeta(n: int, theta: float) -> float:
    """``sum(i^-theta for i in 1..n)``; Euler-Maclaurin tail beyond 10^6 terms."""
    m = min(n, 1_000_000)
    head = float(np.sum(np.arange(1, m + 1, dtype=np.float64) ** -theta))
    if n == m:
        return head
    a, b = float(m), float(n)
    if theta == 1.0:
        integral = math.log(b / a)
    else:
        integral = (b ** (1 - theta) - a ** (1 - theta)) / (1 - theta)
    return float(
        head
        + integral
        + (b**-theta - a**-theta) / 2
        - theta / 12 * (b ** (-theta - 1) - a ** (-theta - 1))
    )


def _fnvhash64(values: np.ndarray) -> np.ndarray:
    """YCSB ``Utils.fnvhash64`` (FNV-1 over the 8 little-endian bytes, then abs)."""
    val = values.astype(np.uint64)
    h = np.full(len(val), _FNV_OFFSET_64, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for _ in range(8):
            h ^= val & np.uint64(0xFF)
            val >>= np.uint64(8)
            h *= _FNV_PRIME_64
    return np.abs(h.view(np.int64))


def _ycsb_scrambled(
    n_keys: int, n_requests: int, theta: float, rng: np.random.Generator
) -> np.ndarray:
    items = _YCSB_ITEM_COUNT
    zetan = _YCSB_ZETAN_099 if theta == 0.99 else _zeta(items, theta)
    zeta2 = _zeta(2, theta)
    alpha = 1.0 / (1.0 - theta)
    eta = (1 - (2.0 / items) ** (1 - theta)) / (1 - zeta2 / zetan)
    out = np.empty(n_requests, dtype=np.int64)
    for start in range(0, n_requests, _CHUNK):
        stop = min(n_requests, start + _CHUNK)
        u = rng.random(stop - start)
        uz = u * zetan
        ranks = (items * np.power(eta * u - eta + 1.0, alpha)).astype(np.int64)
        ranks = np.where(uz < 1.0, 0, np.where(uz < 1.0 + 0.5**theta, 1, ranks))
        out[start:stop] = _fnvhash64(ranks) % n_keys
    return out


def zipf(
    n_keys: int,
    n_requests: int,
    alpha: float = 0.99,
    seed: int = 0,
    scrambled: bool = False,
) -> Workload:
    """Independent requests with Zipf popularity ``p(rank) ∝ rank^-alpha``.

    The default is an exact finite Zipf over ``n_keys`` with key 0 the most
    popular (as libCacheSim's synthetic reader).  ``scrambled=True`` follows
    YCSB's ScrambledZipfianGenerator instead: draw from a Zipf over 10^10 items
    (Gray et al.'s method) and hash the rank with FNV-64 modulo ``n_keys``, so
    popular keys are spread over the key space (and the result is not exactly
    Zipf over ``n_keys``, as in YCSB; ``alpha`` must be below 1).
    """
    _check_positive(n_keys=n_keys)
    if n_requests < 0:
        raise ValueError(f"n_requests must be >= 0, got {n_requests!r}")
    rng = np.random.default_rng(seed)
    if scrambled:
        if not 0 < alpha < 1:
            raise ValueError("scrambled Zipf needs 0 < alpha < 1 (YCSB uses 0.99)")
        keys = _ycsb_scrambled(n_keys, n_requests, float(alpha), rng)
    else:
        cdf = np.cumsum(zipf_probabilities(n_keys, alpha))
        keys = _sample_cdf(cdf, n_requests, rng)
    label = "scrambled-zipf" if scrambled else "zipf"
    return Workload(keys, name=f"{label}(alpha={alpha:g}, keys={n_keys})")


def uniform(n_keys: int, n_requests: int, seed: int = 0) -> Workload:
    """Independent requests, every key equally likely."""
    _check_positive(n_keys=n_keys)
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, n_keys, size=n_requests, dtype=np.int64)
    return Workload(keys, name=f"uniform(keys={n_keys})")


def hotspot(
    n_keys: int,
    n_requests: int,
    hot_fraction: float = 0.2,
    hot_probability: float = 0.8,
    seed: int = 0,
) -> Workload:
    """YCSB hotspot: ``hot_probability`` of requests go uniformly to the first ``hot_fraction``."""
    _check_positive(n_keys=n_keys)
    if not 0 < hot_fraction <= 1 or not 0 <= hot_probability <= 1:
        raise ValueError("hot_fraction must be in (0, 1] and hot_probability in [0, 1]")
    rng = np.random.default_rng(seed)
    n_hot = max(1, round(n_keys * hot_fraction))
    hot = rng.random(n_requests) < hot_probability
    keys = np.where(
        hot,
        rng.integers(0, n_hot, size=n_requests),
        rng.integers(n_hot, max(n_keys, n_hot + 1), size=n_requests),
    ).astype(np.int64)
    if n_hot >= n_keys:
        keys = rng.integers(0, n_keys, size=n_requests, dtype=np.int64)
    return Workload(keys, name=f"hotspot({hot_fraction:g}/{hot_probability:g}, keys={n_keys})")


def loop(n_keys: int, n_requests: int) -> Workload:
    """Keys ``0, 1, ..., n_keys-1`` over and over: LRU's worst case below ``n_keys``."""
    _check_positive(n_keys=n_keys)
    return Workload(np.arange(n_requests, dtype=np.int64) % n_keys, name=f"loop(keys={n_keys})")


def scan(
    n_keys: int,
    n_requests: int,
    *,
    alpha: float = 0.99,
    scan_length: int = 1000,
    scan_every: int = 10_000,
    seed: int = 0,
) -> Workload:
    """A Zipf workload interrupted by sequential scans of never-repeated keys.

    Every ``scan_every`` requests, ``scan_length`` requests read fresh keys
    (ids from ``n_keys`` upwards) once each, as a batch job or crawler would:
    the classic way to flush an LRU cache of its hot set.
    """
    _check_positive(scan_every=scan_every)
    base = zipf(n_keys, n_requests, alpha, seed).key
    idx = np.arange(n_requests)
    in_scan = (idx % (scan_every + scan_length)) >= scan_every
    keys = base.copy()
    keys[in_scan] = n_keys + np.arange(int(in_scan.sum()), dtype=np.int64)
    return Workload(keys, name=f"scan(alpha={alpha:g}, keys={n_keys}, scan={scan_length})")


def shifting_hotset(
    n_keys: int,
    n_requests: int,
    *,
    hot_keys: int = 1000,
    phases: int = 4,
    hot_probability: float = 0.9,
    seed: int = 0,
) -> Workload:
    """A hot set of ``hot_keys`` keys that moves to new keys ``phases`` times.

    Each phase sends ``hot_probability`` of its requests uniformly to its own hot
    set (disjoint from the previous one) and the rest uniformly to all keys:
    tests how fast a policy forgets yesterday's popular keys.
    """
    _check_positive(n_keys=n_keys, hot_keys=hot_keys, phases=phases)
    rng = np.random.default_rng(seed)
    phase = np.minimum(np.arange(n_requests) * phases // max(n_requests, 1), phases - 1)
    perm = rng.permutation(n_keys)
    offsets = (phase * hot_keys) % n_keys
    hot = rng.random(n_requests) < hot_probability
    hot_idx = (offsets + rng.integers(0, min(hot_keys, n_keys), size=n_requests)) % n_keys
    keys = np.where(hot, perm[hot_idx], rng.integers(0, n_keys, size=n_requests)).astype(np.int64)
    return Workload(keys, name=f"shifting-hotset(hot={hot_keys}, phases={phases})")


def with_writes(
    workload: Workload,
    write_ratio: float = 0.1,
    delete_ratio: float = 0.0,
    *,
    mode: Literal["invalidate", "update"] = "invalidate",
    seed: int = 0,
) -> Workload:
    """Turn a share of requests into writes and deletes, as a cache-aside application does.

    A write to the database (``write_ratio``) becomes :data:`OP_DELETE` in
    ``mode="invalidate"`` (the application drops the cached copy and the next
    read refills it) or :data:`OP_SET` in ``mode="update"`` (write-through).
    ``delete_ratio`` of requests delete the entity, hence the cache entry.
    """
    if write_ratio < 0 or delete_ratio < 0 or write_ratio + delete_ratio > 1:
        raise ValueError("write_ratio and delete_ratio must be >= 0 and sum to at most 1")
    if mode not in ("invalidate", "update"):
        raise ValueError(f"mode must be 'invalidate' or 'update', got {mode!r}")
    rng = np.random.default_rng(seed)
    u = rng.random(len(workload))
    op = workload.ops.copy()
    write = u < write_ratio
    op[write] = OP_DELETE if mode == "invalidate" else OP_SET
    op[(u >= write_ratio) & (u < write_ratio + delete_ratio)] = OP_DELETE
    return workload.with_columns(op=op, name=f"{workload.name}+writes({write_ratio:g},{mode})")


def with_ttls(
    workload: Workload,
    ttls: Sequence[float] | float,
    weights: Sequence[float] | None = None,
    *,
    seed: int = 0,
) -> Workload:
    """Give every key a TTL class: key *k* gets ``ttls[c]`` with class *c* drawn by ``weights``.

    ``weights`` are the fractions of keys in each class (equal by default); use
    ``math.inf`` for a class that never expires.  The assignment is per key,
    as an application configures TTLs per entity type.
    """
    values = np.atleast_1d(np.asarray(ttls, dtype=np.float64))
    if len(values) == 0 or np.any(~(values > 0)):
        raise ValueError("ttls must be positive seconds (math.inf for no expiry)")
    p = None
    if weights is not None:
        p = np.asarray(weights, dtype=np.float64)
        if len(p) != len(values) or np.any(p < 0) or p.sum() <= 0:
            raise ValueError("weights must be one non-negative number per TTL class")
        p = p / p.sum()
    codes, uniques = workload.dense_keys()
    rng = np.random.default_rng(seed)
    klass = rng.choice(len(values), size=len(uniques), p=p)
    ttl = values[klass][codes].astype(np.float32)
    return workload.with_columns(ttl=ttl)


def with_sizes(
    workload: Workload,
    mean: float = 4096.0,
    *,
    sigma: float = 1.0,
    seed: int = 0,
) -> Workload:
    """Give every key a fixed size in bytes, log-normally distributed around ``mean``."""
    _check_positive(mean=mean)
    codes, uniques = workload.dense_keys()
    rng = np.random.default_rng(seed)
    mu = math.log(mean) - sigma**2 / 2
    per_key = np.maximum(1, rng.lognormal(mu, sigma, size=len(uniques))).astype(np.int64)
    return workload.with_columns(size=per_key[codes])


def with_rate(
    workload: Workload,
    rate: float,
    *,
    amplitude: float = 0.0,
    period: float = 86_400.0,
    peak: float = 14 * 3600.0,
    start: float = 0.0,
    seed: int = 0,
) -> Workload:
    """Timestamp requests as a Poisson process of ``rate`` requests per second.

    With ``amplitude`` in (0, 1] the rate varies sinusoidally over ``period``:
    ``rate * (1 + amplitude * cos(2π (t - peak) / period))``, highest at
    ``peak`` seconds into the period (14:00 by default).
    """
    _check_positive(rate=rate, period=period)
    if not 0 <= amplitude <= 1:
        raise ValueError(f"amplitude must be in [0, 1], got {amplitude!r}")
    n = len(workload)
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0, size=n))  # unit-rate process
    if amplitude == 0 or n == 0:
        times = start + arrivals / rate
    else:
        omega = 2 * math.pi / period

        def cumulative(t: np.ndarray) -> np.ndarray:
            return rate * (
                t + amplitude / omega * (np.sin(omega * (t - peak)) - math.sin(-omega * peak))
            )

        horizon = arrivals[-1] / (rate * (1 - amplitude) + 1e-12 * rate) + period
        horizon = min(horizon, arrivals[-1] / rate * 4 + 2 * period)
        grid = np.linspace(0.0, horizon, max(4096, int(horizon / period * 4096)))
        lam = cumulative(grid)
        while lam[-1] < arrivals[-1]:
            horizon *= 2
            grid = np.linspace(0.0, horizon, max(4096, int(horizon / period * 4096)))
            lam = cumulative(grid)
        times = start + np.interp(arrivals, lam, grid)
    suffix = f"rate={rate:g}/s" + (f", diurnal {amplitude:g}" if amplitude else "")
    return workload.with_columns(time=times, name=f"{workload.name}@{suffix}")


def diurnal(
    workload: Workload,
    rate: float = 100.0,
    amplitude: float = 0.5,
    *,
    period: float = 86_400.0,
    peak: float = 14 * 3600.0,
    seed: int = 0,
) -> Workload:
    """Timestamp requests with a daily cycle (see :func:`with_rate`)."""
    return with_rate(workload, rate, amplitude=amplitude, period=period, peak=peak, seed=seed)


def concat(*workloads: Workload, name: str | None = None) -> Workload:
    """Requests of several workloads one after another (times shifted to follow on).

    Integer key ids are shared; workloads with ``key_names`` are merged by name.
    """
    if not workloads:
        raise ValueError("concat needs at least one workload")
    named = [w.key_names is not None for w in workloads]
    if any(named):
        keys = np.concatenate([np.asarray(w.original_keys(), dtype=object) for w in workloads])
        base = Workload.from_keys(keys)
        key, key_names = base.key, base.key_names
    else:
        key, key_names = np.concatenate([w.key for w in workloads]), None
    times: list[np.ndarray] = []
    offset = 0.0
    for w in workloads:
        t = w.times
        if len(t):
            shifted = t - t[0] + offset
            times.append(shifted)
            offset = float(shifted[-1]) + 1.0
    has = {c: any(getattr(w, c) is not None for w in workloads) for c in ("op", "size", "ttl")}
    ttl = (
        np.concatenate(
            [w.ttl if w.ttl is not None else np.full(len(w), np.nan, np.float32) for w in workloads]
        )
        if has["ttl"]
        else None
    )
    return Workload(
        key,
        np.concatenate(times) if times else np.zeros(0),
        np.concatenate([w.ops for w in workloads]) if has["op"] else None,
        np.concatenate([w.sizes for w in workloads]) if has["size"] else None,
        ttl,
        key_names,
        name or "+".join(w.name for w in workloads),
    )


def che_hit_ratio(probabilities: np.ndarray, capacity: int) -> float:
    """LRU hit ratio under independent requests by Che's approximation.

    Solves ``sum(1 - exp(-p_i T)) = capacity`` for the characteristic time T and
    returns ``sum(p_i (1 - exp(-p_i T)))``: an analytic oracle for Zipf tests.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if capacity >= len(p):
        return 1.0
    if capacity <= 0:
        return 0.0
    lo, hi = 0.0, 1.0
    while np.sum(-np.expm1(-p * hi)) < capacity:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.sum(-np.expm1(-p * mid)) < capacity:
            lo = mid
        else:
            hi = mid
    t = (lo + hi) / 2
    return float(np.sum(p * -np.expm1(-p * t)))


#: Named generators for the CLI: ``name -> f(n_keys, n_requests, alpha, seed)``.
GENERATORS: dict[str, Callable[[int, int, float, int], Workload]] = {
    "zipf": lambda n, r, a, s: zipf(n, r, a, s),
    "scrambled-zipf": lambda n, r, a, s: zipf(n, r, a, s, scrambled=True),
    "uniform": lambda n, r, a, s: uniform(n, r, s),
    "hotspot": lambda n, r, a, s: hotspot(n, r, seed=s),
    "loop": lambda n, r, a, s: loop(n, r),
    "scan": lambda n, r, a, s: scan(n, r, alpha=a, seed=s),
    "shifting-hotset": lambda n, r, a, s: shifting_hotset(n, r, hot_keys=max(1, n // 10), seed=s),
}
