"""Resumable one-pass LRU stack profilers (numba when available, else plain Python).

Both profilers keep their whole state in arrays sized by the distinct keys
seen (never by the trace length), so a trace can be fed chunk by chunk from
disk: :class:`LruProfile` gives exact LRU hit counts at every capacity in
objects or in bytes, :class:`ShardsProfile` the SHARDS estimate of the
object-count curve from a spatial sample of bounded size.

The LRU stack is a Fenwick tree over "timestamps": a key's latest access holds
a mark (its weight: 1, or its size in bytes) at its timestamp, so the objects
or bytes above a key in the stack are the marks after its previous access.
Timestamps are renumbered (compacted) when they run out, which keeps the tree
at about twice the number of distinct keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim._kernels import _jit, use_numba

__all__ = ["DistinctKeys", "LruProfile", "ShardsProfile", "splitmix64"]

_MULT = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64 (Fibonacci hashing)
_PIECE = 1 << 13  # requests handed to a kernel at once: bounds the per-call reservation


@_jit
def _fen_add(fen: Any, row: int, word: int, value: int) -> None:
    n = fen.shape[1]
    j = word + 1
    while j <= n:
        fen[row, j - 1] += value
        j += j & -j


@_jit
def _fen_prefix(fen: Any, row: int, word: int) -> Any:
    """Sum of words ``0..word`` (0 when ``word`` is -1)."""
    total = 0
    j = word + 1
    while j > 0:
        total += fen[row, j - 1]
        j -= j & -j
    return total


@_jit
def _after(fen: Any, w_at: Any, cls_at: Any, row: int, p: int, total: int, multi: bool) -> Any:
    """Weight of row ``row`` marked after slot ``p``.

    The Fenwick tree sums whole 64-slot words (it stays small and in cache);
    the slots of ``p``'s own word are added up directly.
    """
    word = p >> 6
    rest = total - _fen_prefix(fen, row, word - 1)
    for q in range(word << 6, p + 1):
        if not multi or cls_at[q] == row:
            rest -= w_at[q]
    return rest


@_jit
def _fen_build(fen: Any, key_at: Any, w_at: Any, cls_at: Any, upto: int) -> None:
    """Rebuild every Fenwick row from the marks in slots ``0..upto-1`` (linear time)."""
    rows, n = fen.shape
    for r in range(rows):
        for q in range(n):
            fen[r, q] = 0
    for q in range(upto):
        if key_at[q] >= 0:
            fen[cls_at[q], q >> 6] += w_at[q]
    for r in range(rows):
        for q in range(1, n + 1):
            parent = q + (q & -q)
            if parent <= n:
                fen[r, parent - 1] += fen[r, q - 1]


@_jit
def _compact(slot_of: Any, key_at: Any, w_at: Any, cls_at: Any, fen: Any, now: int) -> int:
    """Renumber the live marks ``0..marked-1`` in stack order; return the new clock."""
    m = 0
    for q in range(now):
        c = key_at[q]
        if c >= 0:
            key_at[m] = c
            w_at[m] = w_at[q]
            cls_at[m] = cls_at[q]
            slot_of[c] = m
            m += 1
    for q in range(m, len(key_at)):
        key_at[q] = -1
        w_at[q] = 0
    _fen_build(fen, key_at, w_at, cls_at, m)
    return m


@_jit
def _lookup(hkeys: Any, hids: Any, key: int, next_id: int) -> int:
    """The id of ``key`` in the open-addressing table; ``next_id`` is stored if it is new."""
    mask = len(hkeys) - 1
    shift = 64
    size = len(hkeys)
    while size > 1:
        size >>= 1
        shift -= 1
    h = ((int(key) * _MULT) >> shift) & mask  # Fibonacci hashing: the product's top bits
    while True:
        c = hids[h]
        if c < 0:
            hkeys[h] = key
            hids[h] = next_id
            return next_id
        if hkeys[h] == key:
            return int(c)
        h = (h + 1) & mask


@_jit
def _rehash(old_keys: Any, old_ids: Any, hkeys: Any, hids: Any) -> None:
    for i in range(len(old_ids)):
        if old_ids[i] >= 0:
            _lookup(hkeys, hids, old_keys[i], old_ids[i])


@_jit
def _size_class(caps: Any, size: int) -> int:
    """Index of the smallest capacity that holds ``size`` (len(caps) when none does)."""
    lo = 0
    hi = len(caps)
    while lo < hi:
        mid = (lo + hi) >> 1
        if caps[mid] >= size:
            hi = mid
        else:
            lo = mid + 1
    return lo


@_jit
def _profile_chunk(
    keys: Any,
    sizes: Any,
    has_sizes: bool,
    ops: Any,
    has_ops: bool,
    first: int,
    warmup: int,
    bytes_mode: bool,
    caps: Any,
    hkeys: Any,
    hids: Any,
    st: Any,
    slot_of: Any,
    key_at: Any,
    w_at: Any,
    cls_at: Any,
    fen: Any,
    tot: Any,
    hist: Any,
    hist_b: Any,
    cap_hits: Any,
    cap_bytes: Any,
    cnt: Any,
) -> None:
    # st: [distinct keys, clock, marked]; cnt: [reads, bytes read, cold reads, cold bytes]
    m = len(caps)
    n_slots = len(key_at)
    for i in range(len(keys)):
        c = _lookup(hkeys, hids, keys[i], st[0])
        if c == st[0]:
            st[0] += 1
            slot_of[c] = -1
        op = ops[i] if has_ops else 0
        s = sizes[i] if has_sizes else 1
        counted = op == 0 and first + i >= warmup
        if counted:
            cnt[0] += 1
            cnt[1] += s
        p = slot_of[c]
        if p >= 0:
            if counted:
                if bytes_mode:
                    own = _size_class(caps, s)
                    above = 0
                    for j in range(m):
                        if tot[j] > 0:
                            above += _after(fen, w_at, cls_at, j, p, tot[j], m > 1)
                        if j >= own and above + s <= caps[j]:
                            cap_hits[j] += 1
                            cap_bytes[j] += s
                else:
                    d = _after(fen, w_at, cls_at, 0, p, st[2], False)
                    hist[d] += 1
                    hist_b[d] += s
            row = cls_at[p]
            _fen_add(fen, row, p >> 6, -w_at[p])
            tot[row] -= w_at[p]
            w_at[p] = 0
            key_at[p] = -1
            slot_of[c] = -1
            st[2] -= 1
        elif counted:
            cnt[2] += 1
            cnt[3] += s
        if op == 2:
            continue
        now = st[1]
        if now == n_slots:
            now = _compact(slot_of, key_at, w_at, cls_at, fen, now)
        w = s if bytes_mode else 1
        row = _size_class(caps, s) if bytes_mode else 0
        slot_of[c] = now
        key_at[now] = c
        w_at[now] = w
        cls_at[now] = row
        _fen_add(fen, row, now >> 6, w)
        tot[row] += w
        st[2] += 1
        st[1] = now + 1


def _grow(arr: np.ndarray, size: int, fill: Any) -> np.ndarray:
    if len(arr) >= size:
        return arr
    grown = np.full(max(size, 2 * len(arr)), fill, dtype=arr.dtype)
    grown[: len(arr)] = arr
    return grown


class _StackState:
    """The arrays of one LRU stack over integer keys, grown between chunks."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.hkeys = np.zeros(1024, dtype=np.int64)
        self.hids = np.full(1024, -1, dtype=np.int64)
        self.st = np.zeros(3, dtype=np.int64)  # distinct keys, clock, marked
        self.slot_of = np.full(256, -1, dtype=np.int64)
        self.key_at = np.full(512, -1, dtype=np.int64)
        self.w_at = np.zeros(512, dtype=np.int64)
        self.cls_at = np.zeros(512, dtype=np.uint8)  # size class (bytes mode)
        self.fen = np.zeros((rows, 512 // 64), dtype=np.int64)
        self.tot = np.zeros(rows, dtype=np.int64)

    @property
    def distinct(self) -> int:
        return int(self.st[0])

    def reserve(self, incoming: int) -> None:
        """Room for ``incoming`` more requests (each possibly a new key)."""
        need = int(self.st[0]) + incoming
        self.slot_of = _grow(self.slot_of, need, -1)
        if 2 * need > len(self.hkeys):
            size = len(self.hkeys)
            while 2 * need > size:
                size *= 2
            keys, ids = self.hkeys, self.hids
            self.hkeys = np.zeros(size, dtype=np.int64)
            self.hids = np.full(size, -1, dtype=np.int64)
            _rehash(keys, ids, self.hkeys, self.hids)
        if len(self.key_at) < 2 * need:
            size = -(-max(2 * need, 2 * len(self.key_at)) // 64) * 64
            now = int(self.st[1])
            self.key_at = _grow(self.key_at, size, -1)
            self.w_at = _grow(self.w_at, size, 0)
            self.cls_at = _grow(self.cls_at, size, 0)
            self.fen = np.zeros((self.rows, len(self.key_at) // 64), dtype=np.int64)
            _fen_build(self.fen, self.key_at, self.w_at, self.cls_at, now)

    def nbytes(self) -> int:
        arrays = (self.hkeys, self.hids, self.slot_of, self.key_at, self.w_at, self.cls_at)
        return sum(a.nbytes for a in arrays) + self.fen.nbytes


def _python(func: Any, engine: str) -> Any:
    return func if use_numba(engine) else getattr(func, "py_func", func)


class LruProfile:
    """Exact LRU hit counts at every capacity, fed chunk by chunk.

    ``unit="objects"`` keeps a histogram of stack distances (any capacity can
    be asked for at the end).  ``unit="bytes"`` needs the ``capacities`` up
    front: a read hits a byte-capacity LRU cache of C bytes exactly when its
    size plus the sizes of the distinct keys used since its previous access is
    at most C (the cache always holds the largest prefix of the LRU stack that
    fits); objects larger than C never enter that cache and are left out of its
    stack.  Writes move a key to the top, deletes remove it (which breaks the
    one-pass property: callers replay instead).
    """

    def __init__(
        self,
        unit: str = "objects",
        capacities: Any = None,
        *,
        warmup: int = 0,
        engine: str = "auto",
    ) -> None:
        if unit not in ("objects", "bytes"):
            raise ValueError(f"unit must be 'objects' or 'bytes', got {unit!r}")
        self.bytes_mode = unit == "bytes"
        if self.bytes_mode:
            if capacities is None:
                raise ValueError("a byte curve needs its capacities up front")
            caps = np.asarray(capacities, dtype=np.int64)
            if len(caps) > 250:
                raise ValueError("a one-pass byte curve takes at most 250 capacities")
            self.order = np.argsort(caps, kind="stable")
            self.caps = caps[self.order]
        else:
            self.order = np.zeros(0, dtype=np.int64)
            self.caps = np.zeros(1, dtype=np.int64)
        rows = len(self.caps) + 1 if self.bytes_mode else 1
        self.state = _StackState(rows)
        self.warmup = int(warmup)
        self.seen = 0
        self.hist = np.zeros(256, dtype=np.int64)
        self.hist_b = np.zeros(256, dtype=np.int64)
        self.cap_hits = np.zeros(len(self.caps), dtype=np.int64)
        self.cap_bytes = np.zeros(len(self.caps), dtype=np.int64)
        self.cnt = np.zeros(4, dtype=np.int64)  # reads, bytes read, cold reads, cold bytes
        self.chunks = 0
        self._kernel = _python(_profile_chunk, engine)
        self.has_sizes = False

    def update(
        self, keys: np.ndarray, sizes: np.ndarray | None = None, ops: np.ndarray | None = None
    ) -> None:
        """Feed the next requests (int64 keys; optional sizes and op codes)."""
        for start in range(0, len(keys), _PIECE):  # state grows by distinct keys, not input
            stop = start + _PIECE
            self._update(
                keys[start:stop],
                None if sizes is None else sizes[start:stop],
                None if ops is None else ops[start:stop],
            )
        self.chunks += 1

    def _update(self, keys: np.ndarray, sizes: np.ndarray | None, ops: np.ndarray | None) -> None:
        n = len(keys)
        if n == 0:
            return
        state = self.state
        state.reserve(n)
        if not self.bytes_mode:
            self.hist = _grow(self.hist, state.distinct + n + 1, 0)
            self.hist_b = _grow(self.hist_b, state.distinct + n + 1, 0)
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        self.has_sizes = self.has_sizes or sizes is not None
        size_arr = np.ascontiguousarray(sizes, dtype=np.int64) if sizes is not None else keys[:1]
        no_ops = np.zeros(1, np.uint8)
        op_arr = np.ascontiguousarray(ops, dtype=np.uint8) if ops is not None else no_ops
        self._kernel(
            keys,
            size_arr,
            sizes is not None,
            op_arr,
            ops is not None,
            self.seen,
            self.warmup,
            self.bytes_mode,
            self.caps,
            state.hkeys,
            state.hids,
            state.st,
            state.slot_of,
            state.key_at,
            state.w_at,
            state.cls_at,
            state.fen,
            state.tot,
            self.hist,
            self.hist_b,
            self.cap_hits,
            self.cap_bytes,
            self.cnt,
        )
        self.seen += n

    @property
    def reads(self) -> int:
        return int(self.cnt[0])

    @property
    def bytes_read(self) -> int:
        return int(self.cnt[1])

    @property
    def distinct(self) -> int:
        return self.state.distinct

    def hits(self, capacities: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(hits, bytes hit)`` at each capacity (objects: any; bytes: the ones given)."""
        if self.bytes_mode:
            hits = np.empty(len(self.caps), dtype=np.int64)
            hit_bytes = np.empty(len(self.caps), dtype=np.int64)
            hits[self.order] = self.cap_hits
            hit_bytes[self.order] = self.cap_bytes
            return hits, hit_bytes
        caps = np.asarray(capacities, dtype=np.int64)
        cum = np.concatenate(([0], np.cumsum(self.hist)))
        cum_b = np.concatenate(([0], np.cumsum(self.hist_b)))
        index = np.clip(caps, 0, len(cum) - 1)
        return cum[index], cum_b[index]

    def nbytes(self) -> int:
        """Memory held by the profile (grows with distinct keys, not with requests)."""
        return self.state.nbytes() + self.hist.nbytes + self.hist_b.nbytes


@_jit
def _count_new(keys: Any, hkeys: Any, hids: Any, st: Any) -> None:
    for i in range(len(keys)):
        if _lookup(hkeys, hids, keys[i], st[0]) == st[0]:
            st[0] += 1


class DistinctKeys:
    """Counts the distinct keys of a stream (memory: a hash table of the keys)."""

    def __init__(self, engine: str = "auto") -> None:
        self.state = _StackState(1)
        self._kernel = _python(_count_new, engine)

    def update(self, keys: np.ndarray) -> None:
        for start in range(0, len(keys), _PIECE):
            piece = np.ascontiguousarray(keys[start : start + _PIECE], dtype=np.int64)
            self.state.reserve(len(piece))
            self._kernel(piece, self.state.hkeys, self.state.hids, self.state.st)

    @property
    def count(self) -> int:
        return self.state.distinct


# -- SHARDS ------------------------------------------------------------------------------


@_jit
def _heap_push(hh: Any, hk: Any, n: int, h: Any, k: int) -> None:
    # max-heap on hash values
    i = n
    hh[i] = h
    hk[i] = k
    while i > 0:
        parent = (i - 1) >> 1
        if hh[parent] >= hh[i]:
            break
        hh[parent], hh[i] = hh[i], hh[parent]
        hk[parent], hk[i] = hk[i], hk[parent]
        i = parent


@_jit
def _heap_pop(hh: Any, hk: Any, n: int) -> int:
    # removes the root (largest hash); returns its key id
    top = hk[0]
    n -= 1
    hh[0] = hh[n]
    hk[0] = hk[n]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        big = left
        if left + 1 < n and hh[left + 1] > hh[left]:
            big = left + 1
        if hh[i] >= hh[big]:
            break
        hh[i], hh[big] = hh[big], hh[i]
        hk[i], hk[big] = hk[big], hk[i]
        i = big
    return int(top)


@_jit
def _shards_chunk(
    keys: Any,
    hashes: Any,
    positions: Any,
    ops: Any,
    has_ops: bool,
    warmup: int,
    s_max: int,
    fs: Any,
    heap_h: Any,
    heap_k: Any,
    hn: Any,
    hkeys: Any,
    hids: Any,
    st: Any,
    slot_of: Any,
    key_at: Any,
    w_at: Any,
    cls_at: Any,
    fen: Any,
    tot: Any,
    hist: Any,
) -> int:
    # fs: [threshold as float (hash units), rate, scale, cold (stored units)].  Counts
    # are stored in units of 1/scale so lowering the rate rescales them in O(1).
    # Returns how many requests were processed (stops early when hist is too short).
    for i in range(len(keys)):
        h = hashes[i]
        if np.float64(h) >= fs[0]:
            continue
        c = _lookup(hkeys, hids, keys[i], st[0])
        if c == st[0]:
            st[0] += 1
            slot_of[c] = -1
            _heap_push(heap_h, heap_k, hn[0], h, c)
            hn[0] += 1
            if hn[0] > s_max:  # the sample is full: drop its largest hash, lower the rate
                top_hash = np.float64(heap_h[0])
                gone = _heap_pop(heap_h, heap_k, hn[0])
                hn[0] -= 1
                p = slot_of[gone]
                if p >= 0:
                    _fen_add(fen, 0, p >> 6, -1)
                    tot[0] -= 1
                    w_at[p] = 0
                    key_at[p] = -1
                    st[2] -= 1
                slot_of[gone] = -2  # never sampled again: its hash is at the threshold
                new_rate = fs[1] * top_hash / fs[0]
                fs[2] *= top_hash / fs[0]
                fs[0] = top_hash
                fs[1] = new_rate
                if gone == c:
                    continue
        p = slot_of[c]
        if p == -2:
            continue
        op = ops[i] if has_ops else 0
        counted = op == 0 and positions[i] >= warmup
        if p >= 0:
            if counted:
                d = np.int64(np.float64(_after(fen, w_at, cls_at, 0, p, st[2], False)) / fs[1])
                if d >= len(hist):
                    return i
                hist[d] += 1.0 / fs[2]
            _fen_add(fen, 0, p >> 6, -1)
            tot[0] -= 1
            w_at[p] = 0
            key_at[p] = -1
            slot_of[c] = -1
            st[2] -= 1
        elif counted:
            fs[3] += 1.0 / fs[2]
        if op == 2:
            continue
        now = st[1]
        if now == len(key_at):
            now = _compact(slot_of, key_at, w_at, cls_at, fen, now)
        slot_of[c] = now
        key_at[now] = c
        w_at[now] = 1
        cls_at[now] = 0
        _fen_add(fen, 0, now >> 6, 1)
        tot[0] += 1
        st[2] += 1
        st[1] = now + 1
    return len(keys)


def splitmix64(values: np.ndarray, seed: int) -> np.ndarray:
    """A salted 64-bit hash of int64 keys (uint64), uniform enough for spatial sampling."""
    with np.errstate(over="ignore"):
        z = values.astype(np.int64).view(np.uint64) + np.uint64(0x9E3779B97F4A7C15) * np.uint64(
            seed + 1
        )
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        hashed: np.ndarray = z ^ (z >> np.uint64(31))
    return hashed


class ShardsProfile:
    """SHARDS (Waldspurger et al., FAST'15) over a stream, fixed-rate or fixed-size.

    A key is sampled when its salted hash is below the threshold ``T`` (rate
    ``R = T / 2**64``).  With ``max_samples`` the sample holds at most that many
    keys: a new key beyond it evicts the key with the largest hash, whose hash
    becomes the new threshold, and counts taken at the old rate are rescaled by
    ``R_new / R_old`` (fixed-size SHARDS).  Sampled stack distances are scaled
    by ``1 / R``.  :meth:`hits` applies SHARDS_adj: the difference between the
    expected number of sampled reads (``R * reads``) and the sampled count is
    added to the first bucket.
    """

    def __init__(
        self,
        sample_rate: float = 1.0,
        max_samples: int | None = None,
        *,
        seed: int = 0,
        warmup: int = 0,
        engine: str = "auto",
    ) -> None:
        if not 0 < sample_rate <= 1:
            raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
        if max_samples is not None and max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {max_samples!r}")
        self.seed = seed
        self.warmup = int(warmup)
        self.s_max = int(max_samples) if max_samples is not None else np.iinfo(np.int64).max
        bound = 1024 if max_samples is None else int(max_samples) + 1
        self.heap_h = np.zeros(bound, dtype=np.uint64)
        self.heap_k = np.zeros(bound, dtype=np.int64)
        self.hn = np.zeros(1, dtype=np.int64)
        self.fs = np.array([sample_rate * 2.0**64, sample_rate, 1.0, 0.0], dtype=np.float64)
        self.state = _StackState(1)
        self.hist = np.zeros(1024, dtype=np.float64)
        self.seen = 0
        self.reads = 0
        self.chunks = 0
        self._kernel = _python(_shards_chunk, engine)
        self.fixed_size = max_samples is not None

    @property
    def rate(self) -> float:
        return float(self.fs[1])

    def update(self, keys: np.ndarray, ops: np.ndarray | None = None) -> None:
        """Feed the next requests (int64 keys; optional op codes)."""
        for start in range(0, len(keys), _PIECE):  # the threshold drops between pieces
            stop = start + _PIECE
            self._update(keys[start:stop], None if ops is None else ops[start:stop])
        self.chunks += 1

    def _update(self, keys: np.ndarray, ops: np.ndarray | None) -> None:
        n = len(keys)
        if n == 0:
            return
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        positions = np.arange(self.seen, self.seen + n, dtype=np.int64)
        counted = positions >= self.warmup
        if ops is not None:
            counted &= np.asarray(ops) == 0
        self.reads += int(np.count_nonzero(counted))
        hashes = splitmix64(keys, self.seed)
        keep = hashes.astype(np.float64) < self.fs[0]  # the threshold only goes down
        sub_keys = keys[keep]
        sub_hashes = hashes[keep]
        sub_pos = positions[keep]
        sub_ops = np.ascontiguousarray(ops[keep], dtype=np.uint8) if ops is not None else None
        done = 0
        while done < len(sub_keys):
            state = self.state
            state.reserve(len(sub_keys) - done)
            room = state.distinct + len(sub_keys) + 1
            if not self.fixed_size and len(self.heap_h) < room:  # fixed rate: no bound
                self.heap_h = _grow(self.heap_h, room, 0)
                self.heap_k = _grow(self.heap_k, room, 0)
            op_arr = sub_ops[done:] if sub_ops is not None else np.zeros(1, np.uint8)
            step = self._kernel(
                sub_keys[done:],
                sub_hashes[done:],
                sub_pos[done:],
                op_arr,
                sub_ops is not None,
                self.warmup,
                self.s_max,
                self.fs,
                self.heap_h,
                self.heap_k,
                self.hn,
                state.hkeys,
                state.hids,
                state.st,
                state.slot_of,
                state.key_at,
                state.w_at,
                state.cls_at,
                state.fen,
                state.tot,
                self.hist,
            )
            done += int(step)
            if done < len(sub_keys):  # a scaled distance beyond the histogram: grow it
                self.hist = _grow(self.hist, 2 * len(self.hist), 0.0)
        self.seen += n

    def hits(self, capacities: Any) -> tuple[np.ndarray, float]:
        """Estimated hits at each capacity (SHARDS_adj applied) and the expected sample size.

        Returns ``(hits, expected)``: ``hits / expected`` is the hit ratio.
        """
        scale = float(self.fs[2])
        hist = self.hist * scale
        cold = float(self.fs[3]) * scale
        expected = self.rate * self.reads
        sampled = float(hist.sum()) + cold
        cum = np.concatenate(([0.0], np.cumsum(hist)))
        caps = np.asarray(capacities, dtype=np.int64)
        hits = cum[np.clip(caps, 0, len(cum) - 1)] + (expected - sampled)
        hits[caps <= 0] = 0.0
        return hits, expected

    def nbytes(self) -> int:
        """Memory held (bounded by the sample, not the trace)."""
        return self.state.nbytes() + self.hist.nbytes + self.heap_h.nbytes + self.heap_k.nbytes
