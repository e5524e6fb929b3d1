"""The virtual replay engine: ``simulate(workload, capacity, policy, ttl)``.

Semantics (the same on every path):

* a **get** looks the key up; a live entry is a hit, an absent or expired one
  a miss (an expired entry found this way counts as an expiration).  After a
  miss the application loads the value and **fills** the cache (cache-aside);
* a **set** writes the entry (insert or overwrite) and is counted in
  ``writes``, not in the hit ratio;
* a **delete** removes the entry and is counted in ``deletes``;
* a fill or write stores the entry with the request's TTL, else the ``ttl``
  argument, else no expiry; an entry expires at ``time + ttl`` and is invisible
  from then on.  Before evicting, expired entries are purged (counted as
  expirations), as :class:`cachesim.policies.EntryStore` does;
* ``capacity`` counts entries (``unit="objects"``, sizes ignored) or bytes
  (``unit="bytes"``, using the workload's ``size`` column).

Online policies run on the store classes of :mod:`cachesim.policies` (the ones
``MemoryProvider`` uses).  LRU and FIFO also have a compiled kernel (numba)
that implements the same semantics over arrays and is used when available
(``engine="auto"``); ``engine="python"`` forces the stores.  ``policy="opt"``
is Belady's offline optimum (evict the entry read furthest in the future).
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Literal

import numpy as np
import pandas as pd

from cachesim.policies import MISSING, make_store, resolve_policy
from cachesim.policies.admission import Admission, with_admission
from cachesim.sim import _kernels
from cachesim.sim.opt_size import belady_size
from cachesim.sim.penalty import Penalty, penalty_totals
from cachesim.sim.result import SimulationResult
from cachesim.sim.workload import OP_GET, OP_SET, Workload

__all__ = ["OFFLINE_POLICIES", "resolve_capacity", "simulate", "window_frame"]

logger = logging.getLogger("cachesim.sim")

#: Policies that need the whole future (not usable as a MemoryProvider policy).
OFFLINE_POLICIES = {
    "opt": "opt",
    "belady": "opt",
    "optimal": "opt",
    "clairvoyant": "opt",
    "opt-size": "opt-size",
    "belady-size": "opt-size",
    "beladysize": "opt-size",
    "size-opt": "opt-size",
}

_COMPILED = {"lru": False, "fifo": True}  # policy -> fifo flag of the compiled kernel


def resolve_capacity(
    workload: Workload, capacity: float | None, unit: Literal["objects", "bytes"] = "objects"
) -> int | None:
    """An absolute capacity: ints pass through; a float in (0, 1) is a share of the working set.

    The working set is the number of distinct keys (``unit="objects"``) or the
    sum of their sizes (``unit="bytes"``, each key counted at its largest size).
    """
    if capacity is None:
        return None
    if isinstance(capacity, bool):
        raise TypeError("capacity must be a number of entries (or bytes), not a bool")
    if isinstance(capacity, float) and not capacity.is_integer():
        if not 0 < capacity < 1:
            raise ValueError(f"a fractional capacity must be in (0, 1), got {capacity!r}")
        codes, uniques = workload.dense_keys()
        if unit == "bytes" and workload.size is not None:
            per_key = np.zeros(len(uniques), dtype=np.int64)
            np.maximum.at(per_key, codes, workload.size)
            total = int(per_key.sum())
        else:
            total = len(uniques)
        return max(1, int(total * capacity))
    value = int(capacity)
    if value < 0:
        raise ValueError(f"capacity must be >= 0 or None, got {capacity!r}")
    return value


def _warmup_count(warmup: float, n: int) -> int:
    if isinstance(warmup, bool):
        raise TypeError("warmup must be a number of requests or a fraction")
    if isinstance(warmup, float) and 0 < warmup < 1:
        return int(n * warmup)
    count = int(warmup)
    if count < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup!r}")
    return min(count, n)


def simulate(
    workload: Workload,
    capacity: float | None = None,
    policy: str = "lru",
    ttl: float | None = None,
    *,
    warmup: float = 0,
    window: int | None = None,
    window_seconds: float | None = None,
    unit: Literal["objects", "bytes"] = "objects",
    engine: Literal["auto", "numba", "python"] = "auto",
    admission: str | Admission | None = None,
    admission_options: dict[str, Any] | None = None,
    miss_penalty: Penalty | None = None,
    hit_penalty: Penalty | None = None,
    **options: Any,
) -> SimulationResult:
    """Replay ``workload`` against ``policy`` with ``capacity``; return the counts.

    ``capacity``: entries (or bytes with ``unit="bytes"``); ``None`` is
    unbounded; a float in (0, 1) is that share of the working set.  ``policy``:
    any name in :data:`cachesim.policies.POLICIES` (``lru``, ``fifo``, ``lfu``,
    ``clock``, ``sieve``, ``s3fifo``, ``arc``, ``redis-lru``, ``random``,
    ``ttl``) or ``opt`` (Belady).  ``ttl``: default seconds for entries whose
    request carries no TTL (``None`` = never expire).  ``warmup``: leading
    requests replayed but not counted (an int, or a float in (0, 1) for a
    share).  ``window`` / ``window_seconds``: also report the hit ratio per
    window of that many requests / seconds of trace time.  ``options`` go to
    the policy (e.g. ``samples=10`` for ``redis-lru``).

    ``admission``: an admission policy (``tinylfu``, ``bloom``,
    ``probabilistic``, ``size`` or an :class:`~cachesim.policies.admission.Admission`)
    asked before each new entry is stored, with ``admission_options`` (e.g.
    ``{"p": 0.3}``); the result then counts ``admitted`` and ``rejected``.
    ``miss_penalty`` / ``hit_penalty``: the cost of a missed / hit read (a
    number, one value per request, or a function of the sizes); the result
    then has ``weighted_hit_ratio``, ``average_miss_penalty`` and
    ``average_penalty``.  ``policy="opt-size"`` is Belady-Size.
    """
    if unit not in ("objects", "bytes"):
        raise ValueError(f"unit must be 'objects' or 'bytes', got {unit!r}")
    if window is not None and window_seconds is not None:
        raise ValueError("pass window (requests) or window_seconds, not both")
    if window is not None and window < 1:
        raise ValueError(f"window must be >= 1 request, got {window!r}")
    if window_seconds is not None and not window_seconds > 0:
        raise ValueError(f"window_seconds must be > 0, got {window_seconds!r}")
    if ttl is not None and not ttl > 0:
        raise ValueError(f"ttl must be positive seconds or None, got {ttl!r}")
    lowered = policy.lower()
    name = OFFLINE_POLICIES.get(lowered) or resolve_policy(lowered)
    cap = resolve_capacity(workload, capacity, unit)
    n = len(workload)
    skip = _warmup_count(warmup, n)
    default_ttl = math.inf if ttl is None else float(ttl)
    sizes = workload.size if unit == "bytes" else None
    want_windows = window is not None or window_seconds is not None
    want_flags = want_windows or miss_penalty is not None or hit_penalty is not None
    flags = np.full(n, 2, dtype=np.uint8) if want_flags else None
    use_compiled = _kernels.use_numba(engine)
    plain = workload.op is None and workload.ttl is None and ttl is None and sizes is None

    if sizes is not None and name == "wtinylfu" and "expected_entries" not in options:
        options = {**options, "expected_entries": _expected_entries(workload, cap, sizes)}
    admitted = rejected = None
    started = time.perf_counter()
    if admission is not None and name in ("opt", "opt-size"):
        raise ValueError("admission policies apply to online policies, not to offline optima")
    if name == "opt-size" and cap is not None:
        codes, uniques = workload.dense_keys()
        counters = belady_size(
            codes,
            len(uniques),
            times=workload.time,
            ops=workload.op,
            sizes=sizes,
            ttls=workload.ttl,
            default_ttl=default_ttl,
            capacity=cap,
            warmup=skip,
            flags=flags,
            **options,
        )
        engine_used = "python"
    elif admission is not None:
        admitted_store = with_admission(
            make_store(name, cap, **options),
            admission,
            expected_entries=_expected_entries(workload, cap, sizes),
            **(admission_options or {}),
        )
        counters = _run_store(workload, admitted_store, sizes, default_ttl, skip, flags)
        assert isinstance(admitted_store.admission, Admission)
        admitted = admitted_store.admission.admitted
        rejected = admitted_store.admission.rejected
        engine_used = "python"
    elif name in ("opt", "opt-size"):
        if cap is None:  # unbounded: every policy is optimal
            counters = _run_store(
                workload, make_store("lru", None), sizes, default_ttl, skip, flags
            )
        else:
            codes, uniques = workload.dense_keys()
            counters = _kernels.belady(
                codes,
                len(uniques),
                times=workload.time,
                ops=workload.op,
                sizes=sizes,
                ttls=workload.ttl,
                default_ttl=default_ttl,
                capacity=cap,
                warmup=skip,
                flags=flags,
                engine=engine,
            )
        engine_used = "numba" if use_compiled else "python"
    elif name in _COMPILED and use_compiled and not options and plain and cap is not None:
        counters = _kernels.plain_list(
            workload.key, cap, fifo=_COMPILED[name], warmup=skip, flags=flags
        )
        engine_used = "numba"
    elif name in _COMPILED and use_compiled and not options:
        codes, uniques = workload.dense_keys()
        counters = _kernels.replay_list(
            codes,
            len(uniques),
            times=workload.time,
            ops=workload.op,
            sizes=sizes,
            ttls=workload.ttl,
            default_ttl=default_ttl,
            capacity=cap,
            fifo=_COMPILED[name],
            warmup=skip,
            flags=flags,
        )
        engine_used = "numba"
    else:
        store = make_store(name, cap, **options)
        counters = _run_store(workload, store, sizes, default_ttl, skip, flags)
        engine_used = "python"
    seconds = time.perf_counter() - started

    windows = None
    if flags is not None and want_windows:
        windows = window_frame(workload.times, flags, skip, window, window_seconds)
    penalties: tuple[float | None, float | None, float | None] = (None, None, None)
    if flags is not None and (miss_penalty is not None or hit_penalty is not None):
        requested, missed, hit = penalty_totals(
            flags, skip, miss_penalty, hit_penalty, workload.size
        )
        penalties = (
            requested if miss_penalty is not None else None,
            missed if miss_penalty is not None else None,
            hit if hit_penalty is not None else None,
        )
    hits, misses, expirations, evictions, writes, deletes, b_req, b_hit, reads = (
        int(c) for c in counters
    )
    result = SimulationResult(
        policy=name,
        capacity=cap,
        ttl=ttl,
        requests=reads,
        hits=hits,
        misses=misses,
        expirations=expirations,
        evictions=evictions,
        warmup=skip,
        seconds=seconds,
        windows=windows,
        writes=writes,
        deletes=deletes,
        bytes_requested=b_req,
        bytes_hit=b_hit,
        unit=unit,
        workload=workload.name,
        engine=engine_used,
        admitted=admitted,
        rejected=rejected,
        penalty_requested=penalties[0],
        penalty_missed=penalties[1],
        penalty_hit=penalties[2],
    )
    logger.debug("simulated %s", result)
    return result


def _expected_entries(workload: Workload, cap: int | None, sizes: np.ndarray | None) -> int | None:
    """About how many entries fit in ``cap`` (bytes divided by the mean object size)."""
    if cap is None or sizes is None or len(sizes) == 0:
        return cap
    codes, uniques = workload.dense_keys()
    per_key = np.zeros(len(uniques), dtype=np.int64)
    np.maximum.at(per_key, codes, sizes)
    mean = max(1.0, float(per_key.mean()))
    return max(1, int(cap / mean))


def _run_store(
    workload: Workload,
    store: Any,
    sizes: np.ndarray | None,
    default_ttl: float,
    skip: int,
    flags: np.ndarray | None,
) -> np.ndarray:
    """Replay through an :class:`~cachesim.policies.EntryStore`; returns the counters."""
    counters = np.zeros(9, dtype=np.int64)
    n = len(workload)
    codes, _ = workload.dense_keys()
    plain = (
        workload.op is None
        and sizes is None
        and workload.ttl is None
        and default_ttl == math.inf
        and flags is None
    )
    segments = [(0, skip, False), (skip, n, True)]
    for start, stop, counted in segments:
        if start >= stop:
            continue
        evictions0, expirations0 = store.evictions, store.expirations
        if plain:
            hits, reads = _loop_plain(store, codes[start:stop].tolist())
            c = np.array([hits, reads - hits, 0, 0, 0, 0, reads, hits, reads], dtype=np.int64)
        else:
            c = _loop_full(workload, store, sizes, default_ttl, start, stop, flags)
        if counted:
            counters += c
            counters[2] += store.expirations - expirations0
            counters[3] += store.evictions - evictions0
    return counters


def _loop_plain(store: Any, keys: list[int]) -> tuple[int, int]:
    """Gets only, no TTL, unit sizes: the tightest store loop."""
    get, put, missing = store.get, store.put, MISSING
    hits = 0
    for k in keys:
        if get(k, 0.0) is missing:
            put(k, True, None, 0.0)
        else:
            hits += 1
    return hits, len(keys)


def _loop_full(
    workload: Workload,
    store: Any,
    sizes: np.ndarray | None,
    default_ttl: float,
    start: int,
    stop: int,
    flags: np.ndarray | None,
) -> np.ndarray:
    codes, _ = workload.dense_keys()
    keys = codes[start:stop].tolist()
    count = stop - start
    times = workload.times[start:stop].tolist()
    ops = workload.op[start:stop].tolist() if workload.op is not None else [OP_GET] * count
    size_l = sizes[start:stop].tolist() if sizes is not None else [1] * count
    if workload.ttl is not None:
        ttl_l = [default_ttl if t != t else t for t in workload.ttl[start:stop].tolist()]
    else:
        ttl_l = [default_ttl] * count
    out = bytearray(b"\x02" * count) if flags is not None else None
    get, put, delete, missing, inf = store.get, store.put, store.delete, MISSING, math.inf
    hits = misses = writes = deletes = b_req = b_hit = 0
    for j in range(count):
        k = keys[j]
        op = ops[j]
        now = times[j]
        if op == OP_GET:
            s = size_l[j]
            b_req += s
            if get(k, now) is not missing:
                hits += 1
                b_hit += s
                if out is not None:
                    out[j] = 1
                continue
            misses += 1
            if out is not None:
                out[j] = 0
        elif op == OP_SET:
            writes += 1
        else:
            deletes += 1
            delete(k)
            continue
        t = ttl_l[j]
        put(k, True, now + t if t < inf else None, now, size_l[j])
    if flags is not None and out is not None:
        flags[start:stop] = np.frombuffer(bytes(out), dtype=np.uint8)
    reads = hits + misses
    return np.array([hits, misses, 0, 0, writes, deletes, b_req, b_hit, reads], dtype=np.int64)


def window_frame(
    times: np.ndarray,
    flags: np.ndarray,
    warmup: int,
    window: int | None,
    window_seconds: float | None,
) -> pd.DataFrame:
    """Hit ratio per window from per-request flags (1 hit, 0 miss, 2 not a read).

    ``window`` groups by request count, ``window_seconds`` by trace time; each
    row has ``start, end`` (times), ``requests`` (reads), ``hits``,
    ``hit_ratio`` and ``warmup`` (the window ends inside the warm-up).
    """
    n = len(flags)
    if n == 0:
        return pd.DataFrame(columns=["start", "end", "requests", "hits", "hit_ratio", "warmup"])
    if window_seconds is not None:
        t0 = float(times[0])
        bucket = ((times - t0) // window_seconds).astype(np.int64)
    else:
        assert window is not None
        bucket = np.arange(n, dtype=np.int64) // window
    n_buckets = int(bucket[-1]) + 1
    reads = np.bincount(bucket, weights=(flags != 2), minlength=n_buckets).astype(np.int64)
    hits = np.bincount(bucket, weights=(flags == 1), minlength=n_buckets).astype(np.int64)
    if window_seconds is not None:
        starts = t0 + np.arange(n_buckets) * window_seconds
        ends = starts + window_seconds
        last_index = np.searchsorted(bucket, np.arange(n_buckets), side="right") - 1
    else:
        assert window is not None
        first = np.arange(n_buckets) * window
        last_index = np.minimum(first + window, n) - 1
        starts = times[first]
        ends = times[last_index]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(reads > 0, hits / np.maximum(reads, 1), np.nan)
    return pd.DataFrame(
        {
            "start": starts,
            "end": ends,
            "requests": reads,
            "hits": hits,
            "hit_ratio": ratio,
            "warmup": last_index < warmup,
        }
    )
