"""Compiled inner loops of the simulator (numba), with pure-Python fallbacks.

Every kernel here is plain Python over arrays.  When numba is installed (it
comes with the ``cachesim[sim]`` extra) it is compiled with ``numba.njit``; without numba the
same source runs as ordinary Python over lists, so both paths give identical
results (the tests run both).  Set ``CACHESIM_NO_NUMBA=1`` to force the
fallback.

The policy replay kernels live in :mod:`cachesim.sim.kernels`; this module
keeps the other loops: dense key ids, sampling, LRU stack distances, next
uses, and the plain LRU/FIFO loop over raw keys.
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
    "dense_ids",
    "next_uses",
    "plain_list",
    "plain_table",
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
            raise RuntimeError("engine='numba' needs numba: pip install 'cachesim[sim]'")
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


# -- argument helpers ------------------------------------------------------------------


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


# -- plain LRU / FIFO over raw keys ----------------------------------------------------
#
# Reads only, no TTL, unit sizes, bounded capacity: the common "hit ratio of a
# key trace" case.  The hash table holds only cached keys (so it stays small and
# cache-resident for caches up to ~10^5 entries) and carries the recency links
# itself: slot s is T[4s:4s+4] = key, older, newer, occupied.  Deletion uses
# backward shifting (no tombstones), fixing the links of moved entries.  The
# table and ``meta`` (entries, hits, misses, evictions) persist between chunks.


def plain_table(capacity: int) -> np.ndarray:
    """An empty table for :func:`plain_list` sized for ``capacity`` entries."""
    slots = 16  # a sparse table keeps probe and shift runs short (load factor <= 1/4)
    while slots < 4 * (capacity + 1):
        slots *= 2
    if slots <= 1 << 15:  # small tables stay in cache even at 1/8
        slots *= 2
    t = np.zeros(4 * (slots + 1), dtype=np.int64)
    t[4 * slots + 1] = slots  # sentinel slot: newest and oldest point to itself
    t[4 * slots + 2] = slots
    return t


@_jit
def _plain_list(
    keys: Any,
    capacity: int,
    fifo: bool,
    first: int,
    warmup: int,
    flags: Any,
    has_flags: bool,
    t: Any,
    meta: Any,
) -> None:
    slots = len(t) // 4 - 1
    mask = slots - 1
    head = slots  # sentinel slot: T[4*head+1] = newest, T[4*head+2] = oldest
    count = meta[0]
    hits = meta[1]
    misses = meta[2]
    evictions = meta[3]
    mult = -7046029254386353131
    for i in range(len(keys)):
        k = keys[i]
        h = ((k * mult) >> 20) & mask
        while t[4 * h + 3] != 0 and t[4 * h] != k:
            h = (h + 1) & mask
        counted = first + i >= warmup
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
                    front = t[4 * head + 1]
                    t[4 * h + 1] = front
                    t[4 * h + 2] = head
                    t[4 * front + 2] = h
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
        front = t[4 * head + 1]
        t[4 * h + 1] = front
        t[4 * h + 2] = head
        t[4 * front + 2] = h
        t[4 * head + 1] = h
        count += 1
    meta[0] = count
    meta[1] = hits
    meta[2] = misses
    meta[3] = evictions


def plain_list(
    keys: np.ndarray,
    capacity: int,
    *,
    fifo: bool,
    first: int,
    warmup: int,
    flags: np.ndarray | None,
    table: np.ndarray,
    meta: np.ndarray,
) -> None:
    """Compiled LRU or FIFO over raw int64 keys: reads only, no TTL, unit sizes.

    Resumable: ``table`` (from :func:`plain_table`) and ``meta`` (entries,
    hits, misses, evictions) carry the state from one chunk to the next;
    ``first`` is the index of the chunk's first request in the whole trace.
    """
    if not HAVE_NUMBA:  # pragma: no cover - callers check use_numba() first
        raise RuntimeError("the compiled replay needs numba")
    _plain_list(
        np.ascontiguousarray(keys, dtype=np.int64),
        int(capacity),
        fifo,
        int(first),
        int(warmup),
        *_flags_arg(flags),
        table,
        meta,
    )


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
