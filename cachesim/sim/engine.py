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
  expirations), as :class:`cachesim.policies.EntryStore` does; ``evictions``
  counts only live entries the policy pushed out;
* ``capacity`` counts entries (``unit="objects"``, sizes ignored) or bytes
  (``unit="bytes"``, using the workload's ``size`` column).

Every policy has two implementations that give identical counts: the store
classes of :mod:`cachesim.policies` (the ones ``MemoryProvider`` uses; the
reference) and a compiled numba kernel (:mod:`cachesim.sim.kernels`), used by
default (``engine="auto"``); ``engine="python"`` forces the stores.

:class:`Simulation` is one simulated cache that keeps its state between
chunks of requests, so a trace far larger than memory can be replayed chunk
by chunk (``simulate(iter_trace(path), ...)``); memory follows the cache and
the number of distinct keys, never the number of requests.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Iterable
from typing import Any, Literal

import numpy as np
import pandas as pd

from cachesim.policies import MISSING, NEVER, OFFLINE, POLICIES, EntryStore, resolve_policy
from cachesim.policies.admission import Admission, make_admission
from cachesim.sim import _kernels, kernels
from cachesim.sim.penalty import Penalty, penalty_totals
from cachesim.sim.result import SimulationResult
from cachesim.sim.workload import OP_GET, OP_SET, Workload

__all__ = [
    "OFFLINE_POLICIES",
    "Simulation",
    "resolve_capacity",
    "resolve_policy_name",
    "simulate",
    "window_frame",
]

logger = logging.getLogger("cachesim.sim")

#: Policies that need the whole future (not usable as a MemoryProvider policy), by alias.
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

_PLAIN = {"lru": False, "fifo": True}  # policy -> fifo flag of the raw-key LRU/FIFO loop
_COUNTERS = (
    "hits",
    "misses",
    "expirations",
    "evictions",
    "writes",
    "deletes",
    "bytes_requested",
    "bytes_hit",
    "requests",
    "inserts",
    "rejections",
)


def resolve_policy_name(policy: str) -> str:
    """The registered name of an online or offline policy (aliases allowed) or ValueError."""
    lowered = policy.lower()
    if lowered in OFFLINE_POLICIES:
        return OFFLINE_POLICIES[lowered]
    if lowered in OFFLINE:
        return lowered
    return resolve_policy(lowered)


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


def _make_store(name: str, capacity: int | None, options: dict[str, Any]) -> EntryStore[Any, Any]:
    cls = OFFLINE.get(name) or POLICIES[name]
    try:
        return cls(capacity, **options)
    except TypeError as exc:
        raise TypeError(f"policy {name!r} does not take these options: {exc}") from None


class _Windows:
    """Hit ratio per window, accumulated chunk by chunk (the frame of :func:`window_frame`)."""

    def __init__(self, window: int | None, seconds: float | None) -> None:
        self.window, self.seconds = window, seconds
        self.reads = np.zeros(0, dtype=np.int64)
        self.hits = np.zeros(0, dtype=np.int64)
        self.first_time = np.zeros(0, dtype=np.float64)
        self.last_time = np.zeros(0, dtype=np.float64)
        self.last_index = np.full(0, -1, dtype=np.int64)
        self.t0: float | None = None

    def add(self, times: np.ndarray, flags: np.ndarray, first: int) -> None:
        n = len(flags)
        if n == 0:
            return
        index = np.arange(first, first + n, dtype=np.int64)
        if self.seconds is not None:
            if self.t0 is None:
                self.t0 = float(times[0])
            bucket = ((times - self.t0) // self.seconds).astype(np.int64)
        else:
            assert self.window is not None
            bucket = index // self.window
        size = int(bucket.max()) + 1
        if size > len(self.reads):
            grow = size - len(self.reads)
            self.reads = np.concatenate([self.reads, np.zeros(grow, np.int64)])
            self.hits = np.concatenate([self.hits, np.zeros(grow, np.int64)])
            self.first_time = np.concatenate([self.first_time, np.full(grow, np.nan)])
            self.last_time = np.concatenate([self.last_time, np.full(grow, np.nan)])
            self.last_index = np.concatenate([self.last_index, np.full(grow, -1, np.int64)])
        self.reads += np.bincount(bucket, weights=(flags != 2), minlength=size).astype(np.int64)
        self.hits += np.bincount(bucket, weights=(flags == 1), minlength=size).astype(np.int64)
        # first and last request of each bucket present in this chunk (buckets ascend)
        present = np.unique(bucket)
        lo = np.searchsorted(bucket, present, side="left")
        hi = np.searchsorted(bucket, present, side="right") - 1
        fresh = np.isnan(self.first_time[present])
        self.first_time[present[fresh]] = times[lo[fresh]]
        self.last_time[present] = times[hi]
        self.last_index[present] = index[hi]

    def frame(self, warmup: int) -> pd.DataFrame:
        n = len(self.reads)
        if n == 0:
            return pd.DataFrame(columns=["start", "end", "requests", "hits", "hit_ratio", "warmup"])
        last_index = np.maximum.accumulate(self.last_index)
        if self.seconds is not None:
            assert self.t0 is not None
            starts = self.t0 + np.arange(n) * self.seconds
            ends = starts + self.seconds
        else:
            starts, ends = self.first_time, self.last_time
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(self.reads > 0, self.hits / np.maximum(self.reads, 1), np.nan)
        return pd.DataFrame(
            {
                "start": starts,
                "end": ends,
                "requests": self.reads,
                "hits": self.hits,
                "hit_ratio": ratio,
                "warmup": last_index < warmup,
            }
        )


class _DictKeyMap:
    """Dense ids in first-seen order without numba (same numbering as ``KeyMap``)."""

    def __init__(self) -> None:
        self._ids: dict[int, int] = {}
        self.n_ids = 0

    def codes(self, keys: np.ndarray) -> np.ndarray:
        ids = self._ids
        out = np.empty(len(keys), dtype=np.int64)
        for j, k in enumerate(keys.tolist()):
            c = ids.get(k)
            if c is None:
                c = ids[k] = len(ids)
            out[j] = c
        self.n_ids = len(ids)
        return out


class Simulation:
    """One simulated cache, fed requests chunk by chunk; :meth:`result` gives the counts.

    ``policy``, ``capacity`` (an absolute number of entries or bytes, or None),
    ``ttl``, ``unit``, ``warmup`` (a number of requests), ``window`` /
    ``window_seconds`` and ``engine`` mean what they mean in :func:`simulate`;
    ``options`` go to the policy.  ``admission`` is an admission filter (an
    object with ``record(key, size)`` / ``admit(key, size)``, see
    :mod:`cachesim.sim.admission`); a compiled mirror is used when its class
    names one in ``kernel``.

    ``feed(chunk)`` replays a :class:`~cachesim.sim.Workload` and keeps the
    state, so consecutive chunks behave exactly as their concatenation.  Key
    ids must mean the same key in every chunk (as :func:`cachesim.sim.iter_trace`
    guarantees).  Memory: the cache state plus a few bytes per distinct key.
    """

    def __init__(
        self,
        policy: str = "lru",
        capacity: int | None = None,
        ttl: float | None = None,
        *,
        unit: Literal["objects", "bytes"] = "objects",
        warmup: int = 0,
        window: int | None = None,
        window_seconds: float | None = None,
        engine: Literal["auto", "numba", "python"] = "auto",
        admission: Any = None,
        admission_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if isinstance(admission, str):
            admission = make_admission(admission, **(admission_options or {}))
        elif admission_options:
            raise TypeError("admission_options apply to an admission policy given by name")
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
        if isinstance(capacity, bool) or (capacity is not None and int(capacity) != capacity):
            raise TypeError(f"capacity must be an int or None here, got {capacity!r}")
        if capacity is not None and capacity < 0:
            raise ValueError(f"capacity must be >= 0 or None, got {capacity!r}")
        self.policy = resolve_policy_name(policy)
        self.capacity = None if capacity is None else int(capacity)
        self.ttl = ttl
        self.unit = unit
        self.warmup = _warmup_count(warmup, 1 << 62)
        self.options = options
        self._default_ttl = math.inf if ttl is None else float(ttl)
        self._windows = _Windows(window, window_seconds) if window or window_seconds else None
        self._admission = copy.deepcopy(admission)
        if self._admission is not None and hasattr(self._admission, "attach"):
            self._admission.attach(self.capacity)
        self._store = _make_store(self.policy, self.capacity, options)  # checks the options
        self._store.admission = self._admission
        if isinstance(self._admission, Admission):  # a filter that compares with victims
            self._admission.bind(self._store)
        compiled = _kernels.use_numba(engine)
        filter_kernel = getattr(type(self._admission), "kernel", None) if admission else None
        has_kernel = kernels.has_kernel(self.policy) and (admission is None or bool(filter_kernel))
        if engine == "numba" and not has_kernel:
            raise ValueError(f"policy {self.policy!r} (with this admission) has no compiled kernel")
        self.engine = "numba" if compiled and has_kernel else "python"
        self.n = 0  # requests fed so far
        self.seconds = 0.0
        self.name = ""
        self._mode = ""  # "plain", "kernel" or "store", fixed by the first chunk
        self._keymap: Any = None
        self._counters = np.zeros(kernels.N_COUNTERS, dtype=np.int64)

    # -- feeding ----------------------------------------------------------------------
    def feed(
        self,
        chunk: Workload,
        *,
        codes: np.ndarray | None = None,
        n_keys: int | None = None,
        next_read: tuple[np.ndarray, np.ndarray] | None = None,
        outcomes: np.ndarray | None = None,
    ) -> None:
        """Replay ``chunk`` (continuing from earlier chunks).

        ``codes``/``n_keys`` pass dense key ids the caller already has (then
        every chunk must come with them); ``next_read`` is ``(index, time)`` of
        each request's next read, for offline policies (``NEVER``/``inf`` for
        none).  ``outcomes`` (uint8, one per request) receives 1 for a hit, 0
        for a miss and 2 for a write or delete.
        """
        n = len(chunk)
        if not self._mode:
            self._start(chunk, codes is not None)
        if self.policy in OFFLINE and next_read is None:
            raise ValueError(
                f"policy {self.policy!r} needs the future: pass the whole trace to simulate()"
            )
        if outcomes is not None and (len(outcomes) != n or outcomes.dtype != np.uint8):
            raise ValueError(f"outcomes must be a uint8 array of {n} values")
        self.name = self.name or chunk.name
        flags = outcomes
        if flags is None and self._windows is not None:
            flags = np.empty(n, dtype=np.uint8)
        if flags is not None:
            flags[:] = 2
        started = time.perf_counter()
        if self._mode == "plain":
            self._check_plain(chunk)
            _kernels.plain_list(
                chunk.key,
                int(self.capacity or 0),
                fifo=_PLAIN[self.policy],
                first=self.n,
                warmup=self.warmup,
                flags=flags,
                table=self._table,
                meta=self._meta,
            )
        else:
            if codes is None:
                if self._keymap is None:
                    raise ValueError("pass codes with every chunk, or with none")
                codes = self._keymap.codes(chunk.key)
                n_keys = self._keymap.n_ids
            elif n_keys is None:
                n_keys = int(codes.max()) + 1 if n else 0
            if self._mode == "kernel":
                self._feed_kernel(chunk, codes, n_keys, next_read, flags)
            else:
                self._feed_store(chunk, codes, next_read, flags)
        self.seconds += time.perf_counter() - started
        if self._windows is not None and flags is not None:
            if chunk.time is not None:
                times = chunk.time
            else:
                times = np.arange(self.n, self.n + n, dtype=np.float64)
            self._windows.add(times, flags, self.n)
        self.n += n

    def _plain_ok(self, chunk: Workload) -> bool:
        return (
            chunk.op is None
            and chunk.ttl is None
            and (chunk.size is None or self.unit == "objects")
            and self.ttl is None
        )

    def plain_path(self, chunk: Workload) -> bool:
        """Whether ``chunk`` (the first) runs on the raw-key LRU/FIFO loop (no key ids needed)."""
        return (
            self.engine == "numba"
            and self.policy in _PLAIN
            and not self.options
            and self._admission is None
            and self.capacity is not None
            and self._plain_ok(chunk)
        )

    def _start(self, chunk: Workload, coded: bool) -> None:
        """Choose the path on the first chunk and allocate its state."""
        if self.engine == "python":
            self._mode = "store"
        elif not coded and self.plain_path(chunk):
            self._mode = "plain"
            self._table = _kernels.plain_table(self.capacity or 0)
            self._meta = np.zeros(4, dtype=np.int64)
            return
        else:
            self._mode = "kernel"
            self._setup_kernel()
        if not coded:
            self._keymap = kernels.KeyMap() if kernels.HAVE_NUMBA else _DictKeyMap()

    def _check_plain(self, chunk: Workload) -> None:
        if not self._plain_ok(chunk):
            raise ValueError(
                "a later chunk has operations, TTLs or sizes that the first did not: "
                "give every chunk the same columns"
            )

    # -- the compiled path ------------------------------------------------------------
    def _setup_kernel(self) -> None:
        module = kernels.kernel_module(self.policy)
        filter_module = None
        if self._admission is not None:
            import importlib

            filter_module = importlib.import_module(type(self._admission).kernel)
        self._module, self._filter_module = module, filter_module
        self._replay = kernels.replay_for(module, filter_module)
        self._n_keys = 0
        self._common_spec = (
            kernels.Array("present", np.uint8, 0),
            kernels.Array("osize", np.int64, 0),
        )
        self._exp_spec = (
            kernels.Array("expire", np.float64, np.inf),
            kernels.Array("hpos", np.int64, -1),
            kernels.Array("ht", np.float64, np.inf),
            kernels.Array("hk", np.int64, -1),
        )
        self._has_exp = False
        self._common = kernels.allocate(self._common_spec, 0)
        self._exp = {a.name: np.zeros(1, dtype=a.dtype) for a in self._exp_spec}
        self._policy_state = kernels.allocate(module.STATE, 0)
        if hasattr(module, "setup"):
            module.setup(self._policy_state, self._store)
        self._filter_state: dict[str, np.ndarray] = {}
        if filter_module is not None:
            self._filter_state = kernels.allocate(filter_module.STATE, 0)
            if hasattr(filter_module, "setup"):
                filter_module.setup(self._filter_state, self._admission)
        cap = self._store.capacity
        self._sc = np.array([-1 if cap is None else cap, 0, 0, 0], dtype=np.int64)

    def _ensure(self, n_keys: int, need_exp: bool) -> None:
        """Grow the per-key arrays to hold ``n_keys`` ids; switch on expiry tracking."""
        if n_keys > self._n_keys:
            size = max(n_keys, self._n_keys + self._n_keys // 2) if self._keymap else n_keys
            kernels.grow(self._common_spec, self._common, size)
            kernels.grow(self._module.STATE, self._policy_state, size)
            if self._filter_module is not None:
                kernels.grow(self._filter_module.STATE, self._filter_state, size)
            if self._has_exp:
                kernels.grow(self._exp_spec, self._exp, size)
            self._n_keys = size
        if need_exp and not self._has_exp:
            self._has_exp = True
            self._exp = kernels.allocate(self._exp_spec, self._n_keys)

    def _feed_kernel(
        self,
        chunk: Workload,
        codes: np.ndarray,
        n_keys: int,
        next_read: tuple[np.ndarray, np.ndarray] | None,
        flags: np.ndarray | None,
    ) -> None:
        sizes = chunk.size if self.unit == "bytes" else None
        need_exp = self._default_ttl < math.inf or (
            chunk.ttl is not None and bool(np.any(np.isfinite(chunk.ttl)))
        )
        self._ensure(n_keys, need_exp)
        o_idx, o_time = next_read if next_read is not None else (None, None)
        self._replay(
            np.ascontiguousarray(codes, dtype=np.int64),
            *_kernels._arg(chunk.time, np.float64),
            *_kernels._arg(chunk.op, np.uint8),
            *_kernels._arg(sizes, np.int64),
            *_kernels._arg(chunk.ttl, np.float32),
            _kernels._arg(o_idx, np.int64)[0],
            *_kernels._arg(o_time, np.float64),
            *_kernels._flags_arg(flags),
            self.n,
            self.warmup,
            self._default_ttl,
            self._has_exp,
            self._common["present"],
            self._common["osize"],
            self._exp["expire"],
            self._exp["hpos"],
            self._exp["ht"],
            self._exp["hk"],
            self._sc,
            self._counters,
            tuple(self._policy_state[a.name] for a in self._module.STATE),
            tuple(self._filter_state[a.name] for a in getattr(self._filter_module, "STATE", ())),
        )

    # -- the reference path (the stores) -------------------------------------------------
    def _feed_store(
        self,
        chunk: Workload,
        codes: np.ndarray,
        next_read: tuple[np.ndarray, np.ndarray] | None,
        flags: np.ndarray | None,
    ) -> None:
        n = len(chunk)
        skip = min(n, max(0, self.warmup - self.n))
        store = self._store
        for start, stop, counted in ((0, skip, False), (skip, n, True)):
            if start >= stop:
                continue
            before = (store.evictions, store.expirations, store.inserts, store.rejections)
            c = self._store_loop(chunk, codes, start, stop, next_read, flags)
            if counted:
                self._counters[:9] += c
                self._counters[3] += store.evictions - before[0]
                self._counters[2] += store.expirations - before[1]
                self._counters[9] += store.inserts - before[2]
                self._counters[10] += store.rejections - before[3]

    def _store_loop(
        self,
        chunk: Workload,
        codes: np.ndarray,
        start: int,
        stop: int,
        next_read: tuple[np.ndarray, np.ndarray] | None,
        flags: np.ndarray | None,
    ) -> np.ndarray:
        """Replay ``chunk[start:stop]`` through the store; returns the first nine counters."""
        store = self._store
        count = stop - start
        keys = codes[start:stop].tolist()
        get, put, delete, missing, inf = store.get, store.put, store.delete, MISSING, math.inf
        plain = (
            chunk.op is None
            and (chunk.size is None or self.unit == "objects")
            and chunk.ttl is None
            and self._default_ttl == inf
            and flags is None
            and next_read is None
            and self._admission is None
        )
        if plain:  # gets only, no TTL, unit sizes: the tightest store loop
            hits = 0
            for k in keys:
                if get(k, 0.0) is missing:
                    put(k, True, None, 0.0)
                else:
                    hits += 1
            return np.array([hits, count - hits, 0, 0, 0, 0, count, hits, count], np.int64)
        first = self.n + start
        if chunk.time is not None:
            times = chunk.time[start:stop].tolist()
        else:
            times = [float(i) for i in range(first, first + count)]
        ops = chunk.op[start:stop].tolist() if chunk.op is not None else [OP_GET] * count
        if self.unit == "bytes" and chunk.size is not None:
            size_l = chunk.size[start:stop].tolist()
        else:
            size_l = [1] * count
        if chunk.ttl is not None:
            dflt = self._default_ttl
            ttl_l = [dflt if t != t else t for t in chunk.ttl[start:stop].tolist()]
        else:
            ttl_l = [self._default_ttl] * count
        if next_read is not None:
            o_idx = next_read[0][start:stop].tolist()
            o_time = next_read[1][start:stop].tolist()
        out = bytearray(b"\x02" * count) if flags is not None else None
        hits = misses = writes = deletes = b_req = b_hit = 0
        for j in range(count):
            k = keys[j]
            op = ops[j]
            now = times[j]
            s = size_l[j]
            if op == OP_GET:
                b_req += s
                if next_read is not None:
                    e = store.expires_at(k)
                    store.next_use = _useful(o_idx[j], o_time[j], inf if e is None else e)  # type: ignore[attr-defined]
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
            exp = now + t if t < inf else inf
            if next_read is not None:
                store.next_use = _useful(o_idx[j], o_time[j], exp)  # type: ignore[attr-defined]
            put(k, True, exp if exp < inf else None, now, s)
        if flags is not None and out is not None:
            flags[start:stop] = np.frombuffer(bytes(out), dtype=np.uint8)
        reads = hits + misses
        return np.array([hits, misses, 0, 0, writes, deletes, b_req, b_hit, reads], np.int64)

    # -- results ----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """The counters so far (after the warm-up): hits, misses, evictions ..."""
        if self._mode == "plain":
            _, hits, misses, evictions = (int(v) for v in self._meta)
            reads = hits + misses
            return dict.fromkeys(_COUNTERS, 0) | {
                "hits": hits,
                "misses": misses,
                "evictions": evictions,
                "bytes_requested": reads,
                "bytes_hit": hits,
                "requests": reads,
                "inserts": misses if self.capacity else 0,
                "rejections": 0 if self.capacity else misses,
            }
        return {name: int(v) for name, v in zip(_COUNTERS, self._counters, strict=True)}

    def result(self) -> SimulationResult:
        """A :class:`SimulationResult` of everything fed so far."""
        c = self.counts()
        windows = self._windows.frame(self.warmup) if self._windows is not None else None
        return SimulationResult(
            policy=self.policy,
            capacity=self.capacity,
            ttl=self.ttl,
            requests=c["requests"],
            hits=c["hits"],
            misses=c["misses"],
            expirations=c["expirations"],
            evictions=c["evictions"],
            warmup=min(self.warmup, self.n),
            seconds=self.seconds,
            windows=windows,
            writes=c["writes"],
            deletes=c["deletes"],
            bytes_requested=c["bytes_requested"],
            bytes_hit=c["bytes_hit"],
            unit=self.unit,
            workload=self.name,
            engine=self.engine,
            inserts=c["inserts"],
            rejections=c["rejections"],
            admitted=getattr(self._admission, "admitted", None),
            rejected=getattr(self._admission, "rejected", None),
        )


def _useful(idx: int, t_next: float, exp: float) -> int:
    """Next use of an entry expiring at ``exp``: NEVER if it is dead before ``idx``."""
    if idx >= NEVER or exp <= t_next:
        return NEVER
    return idx


def next_reads(workload: Workload) -> tuple[np.ndarray, np.ndarray]:
    """``(index, time)`` of the next read each request's entry could serve (offline policies).

    A later write or delete of the key ends the entry first (then ``NEVER`` /
    ``inf``).
    """
    codes, uniques = workload.dense_keys()
    n = len(workload)
    idx = _kernels.next_uses(codes, len(uniques), workload.op)
    none = idx >= n
    when = workload.times[np.minimum(idx, max(n - 1, 0))] if n else np.zeros(0)
    when = np.where(none, np.inf, when)
    return np.where(none, NEVER, idx).astype(np.int64), when.astype(np.float64)


def simulate(
    workload: Workload | Iterable[Workload],
    capacity: float | None = None,
    policy: str = "lru",
    ttl: float | None = None,
    *,
    warmup: float = 0,
    window: int | None = None,
    window_seconds: float | None = None,
    unit: Literal["objects", "bytes"] = "objects",
    engine: Literal["auto", "numba", "python"] = "auto",
    admission: Any = None,
    admission_options: dict[str, Any] | None = None,
    miss_penalty: Penalty | None = None,
    hit_penalty: Penalty | None = None,
    **options: Any,
) -> SimulationResult:
    """Replay ``workload`` against ``policy`` with ``capacity``; return the counts.

    ``workload``: a :class:`~cachesim.sim.Workload`, or an iterable of them
    (e.g. ``iter_trace(path)``) replayed chunk by chunk with memory bounded by
    the cache and the distinct keys, not the trace.  ``capacity``: entries (or
    bytes with ``unit="bytes"``); ``None`` is unbounded; a float in (0, 1) is
    that share of the working set (a whole Workload only).  ``policy``: any
    name in :data:`cachesim.policies.POLICIES` (``lru``, ``fifo``, ``lfu``,
    ``clock``, ``sieve``, ``s3fifo``, ``arc``, ``redis-lru``, ``random``,
    ``ttl``) or ``opt`` (Belady; a whole Workload only).  ``ttl``: default
    seconds for entries whose request carries no TTL (``None`` = never
    expire).  ``warmup``: leading requests replayed but not counted (an int,
    or a float in (0, 1) for a share of a whole Workload).  ``window`` /
    ``window_seconds``: also report the hit ratio per window of that many
    requests / seconds of trace time.  ``engine``: ``auto`` (compiled kernels
    when numba is installed), ``numba`` or ``python`` (the reference stores).
    ``admission``: an admission policy by name (``tinylfu``, ``bloom``,
    ``probabilistic``, ``size``; see :mod:`cachesim.policies.admission`) with
    ``admission_options``, or an admission filter (an object with
    ``record(key, size)`` and ``admit(key, size)``); the result then counts
    ``admitted`` and ``rejected``.  ``miss_penalty`` / ``hit_penalty``: the
    cost of a missed / hit read (a number, one value per request, or a
    function of the sizes; a whole Workload only); the result then has
    ``weighted_hit_ratio``, ``average_miss_penalty`` and ``average_penalty``.
    ``policy="opt-size"`` is Belady-Size.  ``options`` go to the policy (e.g.
    ``samples=10`` for ``redis-lru``).
    """
    name = resolve_policy_name(policy)
    if isinstance(workload, Workload):
        cap = resolve_capacity(workload, capacity, unit)
        n = len(workload)
        sim = Simulation(
            name,
            cap,
            ttl,
            unit=unit,
            warmup=_warmup_count(warmup, n),
            window=window,
            window_seconds=window_seconds,
            engine=engine,
            admission=admission,
            admission_options=admission_options,
            **options,
        )
        penalized = miss_penalty is not None or hit_penalty is not None
        outcomes = np.empty(n, dtype=np.uint8) if penalized else None
        if sim.plain_path(workload):
            sim.feed(workload, outcomes=outcomes)
        else:
            codes, uniques = workload.dense_keys()
            nxt = next_reads(workload) if name in OFFLINE else None
            sim.feed(workload, codes=codes, n_keys=len(uniques), next_read=nxt, outcomes=outcomes)
        result = sim.result()
        if outcomes is not None:
            requested, missed, hit = penalty_totals(
                outcomes, sim.warmup, miss_penalty, hit_penalty, workload.size
            )
            if miss_penalty is not None:
                result.penalty_requested, result.penalty_missed = requested, missed
            if hit_penalty is not None:
                result.penalty_hit = hit
        logger.debug("simulated %s", result)
        return result
    if isinstance(capacity, float) and not capacity.is_integer():
        raise ValueError(
            "a fractional capacity needs the whole trace: pass an absolute capacity "
            "(entries or bytes) when replaying chunks"
        )
    if isinstance(warmup, float) and 0 < warmup < 1:
        raise ValueError("a fractional warm-up needs the whole trace: pass a number of requests")
    if name in OFFLINE:
        raise ValueError(f"policy {name!r} needs the future: pass the whole trace as a Workload")
    if miss_penalty is not None or hit_penalty is not None:
        raise ValueError("penalties need the whole trace as a Workload (one value per request)")
    sim = Simulation(
        name,
        None if capacity is None else int(capacity),
        ttl,
        unit=unit,
        warmup=int(warmup),
        window=window,
        window_seconds=window_seconds,
        engine=engine,
        admission=admission,
        admission_options=admission_options,
        **options,
    )
    for chunk in workload:
        sim.feed(chunk)
    result = sim.result()
    logger.debug("simulated %s", result)
    return result


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
    acc = _Windows(window, window_seconds)
    acc.add(np.asarray(times, dtype=np.float64), np.asarray(flags), 0)
    return acc.frame(warmup)
