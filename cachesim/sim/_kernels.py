"""Compiled inner loops of the simulator (numba), with pure-Python fallbacks.

Every kernel here is plain Python over arrays.  When numba is installed (the
``cachesim[fast]`` extra) it is compiled with ``numba.njit``; without numba the
same source runs as ordinary Python over lists, so both paths give identical
results (the tests run both).  Set ``CACHESIM_NO_NUMBA=1`` to force the
fallback.

The LRU/FIFO replay kernel re-implements :class:`cachesim.policies.EntryStore`
semantics (lazy expiry, purge of expired entries before evicting, overwrite
rules) over arrays; ``tests/sim`` checks it against the store request by request.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

__all__ = [
    "HAVE_NUMBA",
    "belady",
    "dense_ids",
    "next_uses",
    "plain_list",
    "replay_list",
    "sample_cdf",
    "stack_distances",
    "stack_histogram",
    "use_numba",
]

logger = logging.getLogger("cachesim.sim")

F = TypeVar("F", bound=Callable[..., Any])

try:
    if os.environ.get("CACHESIM_NO_NUMBA", "").lower() in ("1", "true", "yes"):
        raise ImportError("disabled by CACHESIM_NO_NUMBA")
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_NUMBA = False


def _jit(func: F) -> F:
    """Compile ``func`` with numba (cached on disk) when available; keep the Python original."""
    if not HAVE_NUMBA:
        return func
    compiled: Any = numba.njit(cache=True, nogil=True)(func)
    return cast(F, compiled)


def use_numba(engine: str) -> bool:
    """Whether ``engine`` (``auto``, ``numba`` or ``python``) runs compiled kernels."""
    if engine == "python":
        return False
    if engine == "numba":
        if not HAVE_NUMBA:
            raise RuntimeError("engine='numba' needs numba: pip install 'cachesim[fast]'")
        return True
    if engine == "auto":
        return HAVE_NUMBA
    raise ValueError(f"engine must be 'auto', 'numba' or 'python', got {engine!r}")


# -- dense key ids -------------------------------------------------------------------


@_jit
def _dense_direct(keys: Any, table: Any, codes: Any, uniques: Any) -> int:
    n_unique = 0
    for i in range(len(keys)):
        k = keys[i]
        c = table[k]
        if c < 0:
            c = n_unique
            table[k] = c
            uniques[c] = k
            n_unique += 1
        codes[i] = c
    return n_unique


@_jit
def _dense_hash(keys: Any, codes: Any, uniques: Any) -> int:
    # open addressing; slot s holds (key, code) at t[2s], t[2s+1]; code -1 = empty
    mult = -7046029254386353131
    bits = 16
    mask = (1 << bits) - 1
    t = np.full(2 << bits, -1, dtype=np.int64)
    n_unique = 0
    for i in range(len(keys)):
        k = keys[i]
        h = ((k * mult) >> (64 - bits)) & mask
        while True:
            c = t[2 * h + 1]
            if c < 0:
                c = n_unique
                t[2 * h] = k
                t[2 * h + 1] = c
                uniques[c] = k
                n_unique += 1
                if 2 * n_unique > mask:  # grow and rehash
                    bits += 1
                    mask = (1 << bits) - 1
                    t = np.full(2 << bits, -1, dtype=np.int64)
                    for j in range(n_unique):
                        u = uniques[j]
                        g = ((u * mult) >> (64 - bits)) & mask
                        while t[2 * g + 1] >= 0:
                            g = (g + 1) & mask
                        t[2 * g] = u
                        t[2 * g + 1] = j
                break
            if t[2 * h] == k:
                break
            h = (h + 1) & mask
        codes[i] = c
    return n_unique


def dense_ids(keys: np.ndarray, engine: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Renumber keys ``0..n_unique-1`` in order of first appearance: ``(codes, uniques)``."""
    keys = np.asarray(keys, dtype=np.int64)
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if not use_numba(engine):
        codes, uniques = pd.factorize(keys, sort=False)
        return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=np.int64)
    codes = np.empty(n, dtype=np.int64)
    uniques = np.empty(n, dtype=np.int64)
    lo, hi = int(keys.min()), int(keys.max())
    if lo >= 0 and hi < max(4 * n, 1 << 20):
        table = np.full(hi + 1, -1, dtype=np.int64)
        n_unique = _dense_direct(keys, table, codes, uniques)
    else:
        n_unique = _dense_hash(keys, codes, uniques)
    return codes, uniques[:n_unique].copy()


# -- sampling from a discrete distribution --------------------------------------------


@_jit
def _guided_search(cdf: Any, guide: Any, u: Any, out: Any) -> None:
    # out[i] = first index with cdf[index] > u[i] (np.searchsorted side="right"),
    # starting from a guide table over equal-width buckets of [0, 1).
    m = len(guide)
    last = len(cdf) - 1
    for i in range(len(u)):
        x = u[i]
        b = int(x * m)
        if b >= m:
            b = m - 1
        j = guide[b]
        while j > 0 and cdf[j - 1] > x:
            j -= 1
        while j < last and cdf[j] <= x:
            j += 1
        if j == last and cdf[j] <= x:
            j = last + 1
        out[i] = j


def sample_cdf(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cdf, u, side="right")``, in O(1) per draw when compiled."""
    if not HAVE_NUMBA or len(u) < 1024:
        found: np.ndarray = np.searchsorted(cdf, u, side="right").astype(np.int64)
        return found
    m = len(cdf)
    guide = np.searchsorted(cdf, np.arange(m, dtype=np.float64) / m, side="right")
    out = np.empty(len(u), dtype=np.int64)
    _guided_search(cdf, guide.astype(np.int64), u, out)
    return out


# -- LRU stack distances ---------------------------------------------------------------


@_jit
def _stack_distances(codes: Any, ops: Any, has_ops: bool, last: Any, tree: Any, out: Any) -> None:
    # ``tree`` is a Fenwick tree over request positions holding a 1 at the latest
    # access of every key currently on the LRU stack; the distinct keys touched
    # since key k's previous access are the marks after last[k].
    n = len(codes)
    size = len(tree)
    marked = 0
    for i in range(n):
        k = codes[i]
        op = ops[i] if has_ops else 0
        prev = last[k]
        if prev >= 0:
            if op == 0:
                j = prev + 1
                below = 0
                while j > 0:
                    below += tree[j - 1]
                    j -= j & -j
                out[i] = marked - below
            else:
                out[i] = -2
            j = prev + 1
            while j <= size:
                tree[j - 1] -= 1
                j += j & -j
            marked -= 1
        else:
            out[i] = -1 if op == 0 else -2
        if op == 2:
            last[k] = -1
            continue
        last[k] = i
        j = i + 1
        while j <= size:
            tree[j - 1] += 1
            j += j & -j
        marked += 1


def stack_distances(
    codes: np.ndarray,
    n_unique: int | None = None,
    ops: np.ndarray | None = None,
    engine: str = "auto",
) -> np.ndarray:
    """LRU stack distance of every request (dense key ids ``codes``).

    The distance of a read is the number of distinct other keys requested since
    the previous request of the same key; an LRU cache of capacity C hits
    exactly the reads with distance < C.  ``-1`` marks a first request (a
    compulsory miss), ``-2`` a write or delete (``ops``), which moves the key to
    the top of the stack (set) or removes it (delete) without being counted.
    """
    codes = np.asarray(codes, dtype=np.int64)
    n = len(codes)
    if n_unique is None:
        n_unique = int(codes.max()) + 1 if n else 0
    has_ops = ops is not None
    op_arr = np.asarray(ops, dtype=np.uint8) if ops is not None else np.zeros(1, np.uint8)
    if use_numba(engine):
        out = np.empty(n, dtype=np.int64)
        _stack_distances(
            codes,
            op_arr,
            has_ops,
            np.full(n_unique, -1, dtype=np.int64),
            np.zeros(n, dtype=np.int32),
            out,
        )
        return out
    py_out = [0] * n
    func = getattr(_stack_distances, "py_func", _stack_distances)
    func(codes.tolist(), op_arr.tolist(), has_ops, [-1] * n_unique, [0] * n, py_out)
    return np.asarray(py_out, dtype=np.int64)


@_jit
def _popcount(x: Any) -> Any:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@_jit
def _stack_histogram(
    codes: Any,
    ops: Any,
    has_ops: bool,
    warmup: int,
    ts_of: Any,
    key_at: Any,
    bits: Any,
    fenwick: Any,
    hist: Any,
) -> int:
    # Counts stack distances into ``hist`` (compiled only).  Each key's latest
    # access holds a mark at its timestamp: a bit in ``bits`` (64 per word) and
    # a count in a Fenwick tree over the words.  The distance of a read is the
    # number of marks after the key's previous one.  Timestamps are renumbered
    # when they run out, so the structures stay at ~2 bits per distinct key and
    # the Fenwick tree stays in cache.  Returns the number of counted cold reads.
    size = len(bits) * 64
    n_words = len(fenwick)
    one = np.uint64(1)
    now = 0
    marked = 0
    cold = 0
    for i in range(len(codes)):
        k = codes[i]
        op = ops[i] if has_ops else 0
        counted = i >= warmup
        p = ts_of[k]
        if p >= 0:
            w = p >> 6
            b = np.uint64(p & 63)
            if op == 0 and counted:
                after = np.int64(_popcount(bits[w] >> b >> one))
                j = w + 1
                upto = 0
                while j > 0:
                    upto += fenwick[j - 1]
                    j -= j & -j
                hist[marked - upto + after] += 1
            bits[w] &= ~(one << b)
            j = w + 1
            while j <= n_words:
                fenwick[j - 1] -= 1
                j += j & -j
            marked -= 1
            ts_of[k] = -1
        elif op == 0 and counted:
            cold += 1
        if op == 2:
            continue
        if now == size:  # renumber the live marks 0..marked-1 and rebuild
            m = 0
            for q in range(size):
                owner = key_at[q]
                if owner >= 0 and ts_of[owner] == q:
                    key_at[m] = owner
                    ts_of[owner] = m
                    m += 1
            for q in range(m, size):
                key_at[q] = -1
            for q in range(len(bits)):
                bits[q] = np.uint64(0)
            for q in range(n_words):
                fenwick[q] = 0
            for q in range(m):
                bits[q >> 6] |= one << np.uint64(q & 63)
                fenwick[q >> 6] += 1
            for q in range(1, n_words + 1):  # linear-time Fenwick construction
                parent = q + (q & -q)
                if parent <= n_words:
                    fenwick[parent - 1] += fenwick[q - 1]
            now = m
        ts_of[k] = now
        key_at[now] = k
        bits[now >> 6] |= one << np.uint64(now & 63)
        j = (now >> 6) + 1
        while j <= n_words:
            fenwick[j - 1] += 1
            j += j & -j
        marked += 1
        now += 1
    return cold


def stack_histogram(
    codes: np.ndarray,
    n_unique: int,
    ops: np.ndarray | None = None,
    warmup: int = 0,
    engine: str = "auto",
) -> tuple[np.ndarray, int]:
    """Histogram of LRU stack distances of the reads from ``warmup`` on: ``(hist, cold)``.

    ``hist[d]`` counts reads at distance ``d`` (hits for every capacity > d);
    ``cold`` counts first reads of a key (misses at every capacity).  Without
    numba this is :func:`stack_distances` followed by a bincount.
    """
    codes = np.asarray(codes, dtype=np.int64)
    if not use_numba(engine):
        dist = stack_distances(codes, n_unique, ops, engine="python")[warmup:]
        hist = np.bincount(dist[dist >= 0], minlength=n_unique + 1).astype(np.int64)
        return hist, int(np.count_nonzero(dist == -1))
    has_ops = ops is not None
    op_arr = np.asarray(ops, dtype=np.uint8) if ops is not None else np.zeros(1, np.uint8)
    words = max(16, (2 * n_unique + 63) // 64)
    hist = np.zeros(n_unique + 1, dtype=np.int64)
    cold = _stack_histogram(
        codes,
        op_arr,
        has_ops,
        int(warmup),
        np.full(n_unique, -1, dtype=np.int64),
        np.full(64 * words, -1, dtype=np.int64),
        np.zeros(words, dtype=np.uint64),
        np.zeros(words, dtype=np.int32),
        hist,
    )
    return hist, int(cold)


# -- LRU / FIFO replay -----------------------------------------------------------------
#
# counters: 0 hits, 1 misses, 2 expirations, 3 evictions, 4 writes, 5 deletes,
#           6 bytes requested, 7 bytes hit, 8 reads (counted)


@_jit
def _heap_push(ht: Any, hk: Any, n: int, t: float, k: int) -> int:
    i = n
    ht[i] = t
    hk[i] = k
    while i > 0:
        p = (i - 1) >> 1
        if ht[p] < t or (ht[p] == t and hk[p] <= k):
            break
        ht[i] = ht[p]
        hk[i] = hk[p]
        i = p
    ht[i] = t
    hk[i] = k
    return n + 1


@_jit
def _heap_sift_down(ht: Any, hk: Any, n: int, i: int) -> None:
    t = ht[i]
    k = hk[i]
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and (ht[c + 1] < ht[c] or (ht[c + 1] == ht[c] and hk[c + 1] < hk[c])):
            c += 1
        if ht[c] > t or (ht[c] == t and hk[c] >= k):
            break
        ht[i] = ht[c]
        hk[i] = hk[c]
        i = c
    ht[i] = t
    hk[i] = k


@_jit
def _heap_pop(ht: Any, hk: Any, n: int) -> int:
    n -= 1
    if n > 0:
        ht[0] = ht[n]
        hk[0] = hk[n]
        _heap_sift_down(ht, hk, n, 0)
    return n


@_jit
def _heap_grow(ht: Any, hk: Any) -> tuple[Any, Any]:
    # the heap arrays at twice the length, holding the same items
    n = len(ht)
    ht2 = np.empty(2 * n, dtype=np.float64)
    hk2 = np.empty(2 * n, dtype=np.int64)
    ht2[:n] = ht
    hk2[:n] = hk
    return ht2, hk2


@_jit
def _expiry_heap(ht: Any, hk: Any, nxt: Any, head: int, expire: Any) -> int:
    # rebuild the expiry heap from the listed entries with a finite expiry; returns its size
    n = 0
    j = nxt[head]
    while j != head:
        if expire[j] < np.inf:
            n = _heap_push(ht, hk, n, expire[j], j)
        j = nxt[j]
    return n


@_jit
def _next_use_heap(hp: Any, hk: Any, present: Any, nu: Any) -> int:
    # rebuild the next-use heap (priority -next use) from the cached entries; returns its size
    n = 0
    for j in range(len(present)):
        if present[j]:
            n = _heap_push(hp, hk, n, -float(nu[j]), j)
    return n


@_jit
def _replay_list(
    codes: Any,
    n_unique: int,
    times: Any,
    has_times: bool,
    ops: Any,
    has_ops: bool,
    sizes: Any,
    has_sizes: bool,
    ttls: Any,
    has_ttls: bool,
    default_ttl: float,
    capacity: int,
    fifo: bool,
    warmup: int,
    flags: Any,
    has_flags: bool,
    counters: Any,
) -> None:
    inf = np.inf
    head = n_unique  # sentinel: nxt[head] = most recent / newest, prv[head] = victim
    nxt = np.empty(n_unique + 1, dtype=np.int64)
    prv = np.empty(n_unique + 1, dtype=np.int64)
    nxt[head] = head
    prv[head] = head
    present = np.zeros(n_unique, dtype=np.bool_)
    osize = np.zeros(n_unique, dtype=np.int64)
    expire = np.full(n_unique, inf, dtype=np.float64)
    ht = np.empty(64, dtype=np.float64)
    hk = np.empty(64, dtype=np.int64)
    hn = 0
    n_exp = 0  # present entries with a finite expiry
    used = 0
    hits = misses = expirations = evictions = writes = deletes = 0
    bytes_req = bytes_hit = reads = 0
    bounded = capacity >= 0
    for i in range(len(codes)):
        k = codes[i]
        now = times[i] if has_times else float(i)
        op = ops[i] if has_ops else 0
        s = sizes[i] if has_sizes else 1
        counted = i >= warmup
        # ---- read -------------------------------------------------------------
        if op == 0:
            if counted:
                reads += 1
                bytes_req += s
            if present[k]:
                if expire[k] <= now:  # lazily expired: remove, then miss
                    present[k] = False
                    nxt[prv[k]] = nxt[k]
                    prv[nxt[k]] = prv[k]
                    used -= osize[k]
                    n_exp -= 1
                    expire[k] = inf
                    if counted:
                        expirations += 1
                else:
                    if not fifo:  # move to the young end
                        nxt[prv[k]] = nxt[k]
                        prv[nxt[k]] = prv[k]
                        f = nxt[head]
                        nxt[k] = f
                        prv[k] = head
                        prv[f] = k
                        nxt[head] = k
                    if counted:
                        hits += 1
                        bytes_hit += s
                    if has_flags:
                        flags[i] = 1
                    continue
            if counted:
                misses += 1
            if has_flags:
                flags[i] = 0
        elif op == 1:
            if counted:
                writes += 1
            if has_flags:
                flags[i] = 2
        else:
            if counted:
                deletes += 1
            if has_flags:
                flags[i] = 2
            if present[k]:
                present[k] = False
                nxt[prv[k]] = nxt[k]
                prv[nxt[k]] = prv[k]
                used -= osize[k]
                if expire[k] < inf:
                    n_exp -= 1
                expire[k] = inf
            continue
        # ---- store (fill after a read miss, or a write) ------------------------
        ttl = default_ttl
        if has_ttls:
            t32 = ttls[i]
            if t32 == t32:  # not NaN
                ttl = t32
        exp = now + ttl if ttl < inf else inf
        if present[k]:  # overwrite (possibly of an expired, unpurged entry)
            if bounded and s > capacity:
                present[k] = False
                nxt[prv[k]] = nxt[k]
                prv[nxt[k]] = prv[k]
                used -= osize[k]
                if expire[k] < inf:
                    n_exp -= 1
                expire[k] = inf
                continue
            used += s - osize[k]
            osize[k] = s
            if expire[k] < inf:
                n_exp -= 1
            expire[k] = exp
            if exp < inf:
                n_exp += 1
                if hn == len(ht):
                    ht, hk = _heap_grow(ht, hk)
                hn = _heap_push(ht, hk, hn, exp, k)
                if hn > 2 * n_exp + 64:
                    hn = _expiry_heap(ht, hk, nxt, head, expire)
            if not fifo:
                nxt[prv[k]] = nxt[k]
                prv[nxt[k]] = prv[k]
                f = nxt[head]
                nxt[k] = f
                prv[k] = head
                prv[f] = k
                nxt[head] = k
            if bounded and used > capacity:
                if hn > 0:
                    while hn > 0 and ht[0] <= now:
                        t0 = ht[0]
                        k0 = hk[0]
                        hn = _heap_pop(ht, hk, hn)
                        if present[k0] and expire[k0] == t0:
                            present[k0] = False
                            nxt[prv[k0]] = nxt[k0]
                            prv[nxt[k0]] = prv[k0]
                            used -= osize[k0]
                            n_exp -= 1
                            expire[k0] = inf
                            if counted:
                                expirations += 1
                while used > capacity:
                    v = prv[head]
                    if v == k:
                        v = prv[k]
                        if v == head:
                            break
                    present[v] = False
                    nxt[prv[v]] = nxt[v]
                    prv[nxt[v]] = prv[v]
                    used -= osize[v]
                    if expire[v] < inf:
                        n_exp -= 1
                    expire[v] = inf
                    if counted:
                        evictions += 1
            continue
        if bounded:
            if s > capacity:
                continue
            if used + s > capacity:
                if hn > 0:
                    while hn > 0 and ht[0] <= now:
                        t0 = ht[0]
                        k0 = hk[0]
                        hn = _heap_pop(ht, hk, hn)
                        if present[k0] and expire[k0] == t0:
                            present[k0] = False
                            nxt[prv[k0]] = nxt[k0]
                            prv[nxt[k0]] = prv[k0]
                            used -= osize[k0]
                            n_exp -= 1
                            expire[k0] = inf
                            if counted:
                                expirations += 1
                while used + s > capacity:
                    v = prv[head]
                    present[v] = False
                    nxt[prv[v]] = nxt[v]
                    prv[nxt[v]] = prv[v]
                    used -= osize[v]
                    if expire[v] < inf:
                        n_exp -= 1
                    expire[v] = inf
                    if counted:
                        evictions += 1
        present[k] = True
        f = nxt[head]
        nxt[k] = f
        prv[k] = head
        prv[f] = k
        nxt[head] = k
        used += s
        osize[k] = s
        expire[k] = exp
        if exp < inf:
            n_exp += 1
            if hn == len(ht):
                ht, hk = _heap_grow(ht, hk)
            hn = _heap_push(ht, hk, hn, exp, k)
            if hn > 2 * n_exp + 64:
                hn = _expiry_heap(ht, hk, nxt, head, expire)
    counters[0] = hits
    counters[1] = misses
    counters[2] = expirations
    counters[3] = evictions
    counters[4] = writes
    counters[5] = deletes
    counters[6] = bytes_req
    counters[7] = bytes_hit
    counters[8] = reads


def _arg(arr: np.ndarray | None, dtype: Any) -> tuple[np.ndarray, bool]:
    if arr is None:
        return np.zeros(1, dtype=dtype), False
    return np.ascontiguousarray(arr, dtype=dtype), True


def _request_columns(
    times: np.ndarray | None,
    ops: np.ndarray | None,
    sizes: np.ndarray | None,
    ttls: np.ndarray | None,
) -> tuple[np.ndarray, bool, np.ndarray, bool, np.ndarray, bool, np.ndarray, bool]:
    """The optional request columns as the kernels take them: ``(array, present)`` each."""
    return (
        *_arg(times, np.float64),
        *_arg(ops, np.uint8),
        *_arg(sizes, np.int64),
        *_arg(ttls, np.float32),
    )


def _flags_arg(flags: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """``flags`` as the kernels take it (written in place, so never copied)."""
    return (flags, True) if flags is not None else (np.zeros(1, np.uint8), False)


def replay_list(
    codes: np.ndarray,
    n_unique: int,
    *,
    times: np.ndarray | None,
    ops: np.ndarray | None,
    sizes: np.ndarray | None,
    ttls: np.ndarray | None,
    default_ttl: float,
    capacity: int | None,
    fifo: bool,
    warmup: int,
    flags: np.ndarray | None,
) -> np.ndarray:
    """Compiled LRU (``fifo=False``) or FIFO replay; returns the counters array.

    Counters: hits, misses, expirations, evictions, writes, deletes, bytes
    requested, bytes hit, reads.  ``flags`` (uint8, one per request) receives 1
    for a hit, 0 for a miss and 2 for a write or delete.
    """
    if not HAVE_NUMBA:  # pragma: no cover - callers check use_numba() first
        raise RuntimeError("the compiled replay needs numba")
    counters = np.zeros(9, dtype=np.int64)
    _replay_list(
        np.ascontiguousarray(codes, dtype=np.int64),
        n_unique,
        *_request_columns(times, ops, sizes, ttls),
        float(default_ttl),
        -1 if capacity is None else int(capacity),
        fifo,
        int(warmup),
        *_flags_arg(flags),
        counters,
    )
    return counters


# -- plain LRU / FIFO over raw keys ----------------------------------------------------
#
# Reads only, no TTL, unit sizes, bounded capacity: the common "hit ratio of a
# key trace" case.  The hash table holds only cached keys (so it stays small and
# cache-resident for caches up to ~10^5 entries) and carries the recency links
# itself: slot s is T[4s:4s+4] = key, older, newer, occupied.  Deletion uses
# backward shifting (no tombstones), fixing the links of moved entries.


@_jit
def _plain_list(
    keys: Any,
    capacity: int,
    fifo: bool,
    warmup: int,
    flags: Any,
    has_flags: bool,
    counters: Any,
) -> None:
    slots = 16  # a sparse table keeps probe and shift runs short (load factor <= 1/4)
    while slots < 4 * (capacity + 1):
        slots *= 2
    if slots <= 1 << 15:  # small tables stay in cache even at 1/8
        slots *= 2
    mask = slots - 1
    head = slots  # sentinel slot: T[4*head+1] = newest, T[4*head+2] = oldest
    t = np.zeros(4 * (slots + 1), dtype=np.int64)
    t[4 * head + 1] = head
    t[4 * head + 2] = head
    count = 0
    hits = misses = evictions = 0
    mult = -7046029254386353131
    for i in range(len(keys)):
        k = keys[i]
        h = ((k * mult) >> 20) & mask
        while t[4 * h + 3] != 0 and t[4 * h] != k:
            h = (h + 1) & mask
        counted = i >= warmup
        if t[4 * h + 3] != 0:  # hit
            if counted:
                hits += 1
            if has_flags:
                flags[i] = 1
            if not fifo:
                newer = t[4 * h + 2]
                if newer != head:  # not already the newest: unlink, push to the front
                    older = t[4 * h + 1]
                    t[4 * newer + 1] = older
                    t[4 * older + 2] = newer
                    first = t[4 * head + 1]
                    t[4 * h + 1] = first
                    t[4 * h + 2] = head
                    t[4 * first + 2] = h
                    t[4 * head + 1] = h
            continue
        if counted:
            misses += 1
        if has_flags:
            flags[i] = 0
        if capacity == 0:
            continue
        if count == capacity:  # evict the oldest, then delete its slot
            v = t[4 * head + 2]
            newer = t[4 * v + 2]
            t[4 * newer + 1] = head
            t[4 * head + 2] = newer
            count -= 1
            if counted:
                evictions += 1
            gap = v
            j = v
            while True:
                j = (j + 1) & mask
                if t[4 * j + 3] == 0:
                    break
                home = ((t[4 * j] * mult) >> 20) & mask
                if gap <= j:
                    if gap < home <= j:
                        continue
                elif home > gap or home <= j:
                    continue
                # move slot j into the gap and repoint its neighbours
                t[4 * gap] = t[4 * j]
                older = t[4 * j + 1]
                newer = t[4 * j + 2]
                t[4 * gap + 1] = older
                t[4 * gap + 2] = newer
                t[4 * gap + 3] = 1
                t[4 * older + 2] = gap
                t[4 * newer + 1] = gap
                gap = j
            t[4 * gap + 3] = 0
            h = ((k * mult) >> 20) & mask
            while t[4 * h + 3] != 0:
                h = (h + 1) & mask
        t[4 * h] = k
        t[4 * h + 3] = 1
        first = t[4 * head + 1]
        t[4 * h + 1] = first
        t[4 * h + 2] = head
        t[4 * first + 2] = h
        t[4 * head + 1] = h
        count += 1
    counters[0] = hits
    counters[1] = misses
    counters[3] = evictions
    reads = len(keys) - warmup if len(keys) > warmup else 0
    counters[6] = reads
    counters[7] = hits
    counters[8] = reads


def plain_list(
    keys: np.ndarray,
    capacity: int,
    *,
    fifo: bool,
    warmup: int,
    flags: np.ndarray | None,
) -> np.ndarray:
    """Compiled LRU or FIFO over raw int64 keys: reads only, no TTL, unit sizes.

    Same counters as :func:`replay_list`; needs no dense key ids.
    """
    if not HAVE_NUMBA:  # pragma: no cover - callers check use_numba() first
        raise RuntimeError("the compiled replay needs numba")
    counters = np.zeros(9, dtype=np.int64)
    _plain_list(
        np.ascontiguousarray(keys, dtype=np.int64),
        int(capacity),
        fifo,
        int(warmup),
        *_flags_arg(flags),
        counters,
    )
    return counters


# -- Belady (OPT) ----------------------------------------------------------------------


@_jit
def _next_uses(codes: Any, ops: Any, has_ops: bool, n_unique: int, out: Any) -> None:
    # out[i] = index of the next read of codes[i] that can be served by the entry
    # stored at i (no write or delete in between), or len(codes) for never.
    n = len(codes)
    upcoming = np.full(n_unique, n, dtype=np.int64)
    for i in range(n - 1, -1, -1):
        k = codes[i]
        out[i] = upcoming[k]
        op = ops[i] if has_ops else 0
        upcoming[k] = i if op == 0 else n


def next_uses(codes: np.ndarray, n_unique: int, ops: np.ndarray | None = None) -> np.ndarray:
    """Index of the next read each request's entry could serve (``len(codes)`` = never)."""
    n = len(codes)
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    o, has_o = _arg(ops, np.uint8)
    if HAVE_NUMBA:
        out = np.empty(n, dtype=np.int64)
        _next_uses(codes, o, has_o, n_unique, out)
        return out
    # vectorised fallback: next occurrence of the same key, then mask non-reads
    order = np.lexsort((np.arange(n), codes))
    nxt = np.full(n, n, dtype=np.int64)
    same = codes[order][1:] == codes[order][:-1]
    nxt[order[:-1][same]] = order[1:][same]
    if ops is not None:
        op = np.asarray(ops)
        follow = np.minimum(nxt, n - 1)
        nxt = np.where((nxt < n) & (op[follow] == 0), nxt, n)
    return nxt


@_jit
def _belady(
    codes: Any,
    nexts: Any,
    n_unique: int,
    times: Any,
    has_times: bool,
    ops: Any,
    has_ops: bool,
    sizes: Any,
    has_sizes: bool,
    ttls: Any,
    has_ttls: bool,
    default_ttl: float,
    capacity: int,
    warmup: int,
    flags: Any,
    has_flags: bool,
    counters: Any,
) -> None:
    n = len(codes)
    inf = np.inf
    present = np.zeros(n_unique, dtype=np.bool_)
    osize = np.zeros(n_unique, dtype=np.int64)
    expire = np.full(n_unique, inf, dtype=np.float64)
    nu = np.zeros(n_unique, dtype=np.int64)  # next use of the cached entry
    hp = np.empty(64, dtype=np.float64)  # -next_use (a min-heap pops the furthest)
    hk = np.empty(64, dtype=np.int64)
    hn = 0
    count = 0
    used = 0
    hits = misses = expirations = evictions = writes = deletes = 0
    bytes_req = bytes_hit = reads = 0
    for i in range(n):
        k = codes[i]
        now = times[i] if has_times else float(i)
        op = ops[i] if has_ops else 0
        s = sizes[i] if has_sizes else 1
        counted = i >= warmup
        if op == 0:
            if counted:
                reads += 1
                bytes_req += s
            if present[k] and expire[k] <= now:
                present[k] = False
                used -= osize[k]
                count -= 1
                if counted:
                    expirations += 1
            if present[k]:
                if counted:
                    hits += 1
                    bytes_hit += s
                if has_flags:
                    flags[i] = 1
                nu[k] = nexts[i]
                if hn == len(hp):
                    hp, hk = _heap_grow(hp, hk)
                hn = _heap_push(hp, hk, hn, -float(nexts[i]), k)
                if hn > 2 * count + 64:
                    hn = _next_use_heap(hp, hk, present, nu)
                continue
            if counted:
                misses += 1
            if has_flags:
                flags[i] = 0
        elif op == 1:
            if counted:
                writes += 1
            if has_flags:
                flags[i] = 2
        else:
            if counted:
                deletes += 1
            if has_flags:
                flags[i] = 2
            if present[k]:
                present[k] = False
                used -= osize[k]
                count -= 1
            continue
        ttl = default_ttl
        if has_ttls:
            t32 = ttls[i]
            if t32 == t32:
                ttl = t32
        exp = now + ttl if ttl < inf else inf
        nx = nexts[i]
        if nx < n:  # the entry is useless if it expires before its next read
            t_next = times[nx] if has_times else float(nx)
            if exp <= t_next:
                nx = n
        if present[k]:
            used -= osize[k]
            present[k] = False
            count -= 1
        if s > capacity:
            continue
        while used + s > capacity:  # evict among the others (no bypass, as MIN)
            v = hk[0]
            p = hp[0]
            hn = _heap_pop(hp, hk, hn)
            if not present[v] or -float(nu[v]) != p:
                continue
            present[v] = False
            used -= osize[v]
            count -= 1
            if counted:
                if expire[v] <= now:
                    expirations += 1
                else:
                    evictions += 1
        present[k] = True
        osize[k] = s
        expire[k] = exp
        nu[k] = nx
        used += s
        count += 1
        if hn == len(hp):
            hp, hk = _heap_grow(hp, hk)
        hn = _heap_push(hp, hk, hn, -float(nx), k)
        if hn > 2 * count + 64:
            hn = _next_use_heap(hp, hk, present, nu)
    counters[0] = hits
    counters[1] = misses
    counters[2] = expirations
    counters[3] = evictions
    counters[4] = writes
    counters[5] = deletes
    counters[6] = bytes_req
    counters[7] = bytes_hit
    counters[8] = reads


def belady(
    codes: np.ndarray,
    n_unique: int,
    *,
    times: np.ndarray | None,
    ops: np.ndarray | None,
    sizes: np.ndarray | None,
    ttls: np.ndarray | None,
    default_ttl: float,
    capacity: int,
    warmup: int,
    flags: np.ndarray | None,
    engine: str = "auto",
) -> np.ndarray:
    """Belady's OPT replay (evict the entry read furthest in the future); returns counters."""
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    nexts = next_uses(codes, n_unique, ops)
    counters = np.zeros(9, dtype=np.int64)
    args = (
        codes,
        nexts,
        n_unique,
        *_request_columns(times, ops, sizes, ttls),
        float(default_ttl),
        int(capacity),
        int(warmup),
        *_flags_arg(flags),
        counters,
    )
    if use_numba(engine):
        _belady(*args)
    else:
        _belady_py(*args)
    return counters


def _belady_py(
    codes: np.ndarray,
    nexts: np.ndarray,
    n_unique: int,
    times: np.ndarray,
    has_times: bool,
    ops: np.ndarray,
    has_ops: bool,
    sizes: np.ndarray,
    has_sizes: bool,
    ttls: np.ndarray,
    has_ttls: bool,
    default_ttl: float,
    capacity: int,
    warmup: int,
    flags: np.ndarray,
    has_flags: bool,
    counters: np.ndarray,
) -> None:
    """Pure-Python Belady with the same semantics as :func:`_belady` (heapq, dicts)."""
    import heapq
    import math

    n = len(codes)
    key_l = codes.tolist()
    next_l = nexts.tolist()
    time_l = times.tolist() if has_times else None
    op_l = ops.tolist() if has_ops else None
    size_l = sizes.tolist() if has_sizes else None
    ttl_l = ttls.tolist() if has_ttls else None
    cached: dict[int, tuple[int, float, int]] = {}  # key -> (size, expiry, next use)
    heap: list[tuple[int, int]] = []  # (-next use, key)
    used = 0
    c = [0] * 9
    flag_out = flags if has_flags else None
    for i in range(n):
        k = key_l[i]
        now = time_l[i] if time_l is not None else float(i)
        op = op_l[i] if op_l is not None else 0
        s = size_l[i] if size_l is not None else 1
        counted = i >= warmup
        if op == 0:
            if counted:
                c[8] += 1
                c[6] += s
            entry = cached.get(k)
            if entry is not None and entry[1] <= now:
                del cached[k]
                used -= entry[0]
                entry = None
                if counted:
                    c[2] += 1
            if entry is not None:
                if counted:
                    c[0] += 1
                    c[7] += s
                if flag_out is not None:
                    flag_out[i] = 1
                cached[k] = (entry[0], entry[1], next_l[i])
                heapq.heappush(heap, (-next_l[i], k))
                if len(heap) > 2 * len(cached) + 64:
                    heap = [(-e[2], key) for key, e in cached.items()]
                    heapq.heapify(heap)
                continue
            if counted:
                c[1] += 1
            if flag_out is not None:
                flag_out[i] = 0
        elif op == 1:
            if counted:
                c[4] += 1
            if flag_out is not None:
                flag_out[i] = 2
        else:
            if counted:
                c[5] += 1
            if flag_out is not None:
                flag_out[i] = 2
            old = cached.pop(k, None)
            if old is not None:
                used -= old[0]
            continue
        ttl = default_ttl
        if ttl_l is not None and not math.isnan(ttl_l[i]):
            ttl = ttl_l[i]
        exp = now + ttl if ttl < math.inf else math.inf
        nx = next_l[i]
        if nx < n:
            t_next = time_l[nx] if time_l is not None else float(nx)
            if exp <= t_next:
                nx = n
        old = cached.pop(k, None)
        if old is not None:
            used -= old[0]
        if s > capacity:
            continue
        while used + s > capacity:  # evict among the others (no bypass, as MIN)
            p, v = heapq.heappop(heap)
            entry = cached.get(v)
            if entry is None or entry[2] != -p:
                continue
            del cached[v]
            used -= entry[0]
            if counted:
                if entry[1] <= now:
                    c[2] += 1
                else:
                    c[3] += 1
        cached[k] = (s, exp, nx)
        used += s
        heapq.heappush(heap, (-nx, k))
        if len(heap) > 2 * len(cached) + 64:
            heap = [(-e[2], key) for key, e in cached.items()]
            heapq.heapify(heap)
    counters[:] = c
