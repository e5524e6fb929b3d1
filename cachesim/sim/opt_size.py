"""Size-aware offline optimum (Belady-Size): evict the largest ``size × time to next use``.

With objects of different sizes the optimal policy is NP-hard to compute;
Belady-Size is the standard offline reference (libCacheSim's ``BeladySize``,
the LRB paper's "Belady-Size"): when room is needed, evict the cached entry
with the largest product of its size and the number of requests until its next
read, and never store an entry that will not be read again (an entry read for
the last time is dropped on that hit).  With equal sizes it evicts the entry
read furthest in the future, like Belady's MIN.

libCacheSim samples 128 random entries per eviction.  Here entries are grouped
by size, each group keeps a heap on the next use, and an eviction compares the
head of each group (the group's entry read furthest in the future, scored with
its own size).  With at most ``size_classes`` distinct sizes (64 by default)
each group holds one size and the victim is the exact maximum; with more,
sizes are grouped into ``size_classes`` geometric classes, which is an
approximation (within a class, sizes differ by less than the class ratio).
TTLs, writes and deletes follow :func:`cachesim.sim.simulate`: an
entry that expires before its next read counts as never read again.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from cachesim.sim import _kernels

__all__ = ["belady_size"]


def belady_size(
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
    size_classes: int = 64,
) -> np.ndarray:
    """Replay with Belady-Size; returns the engine's nine counters."""
    if size_classes < 1:
        raise ValueError(f"size_classes must be >= 1, got {size_classes!r}")
    n = len(codes)
    distinct = np.unique(sizes) if sizes is not None else np.ones(1, dtype=np.int64)
    if len(distinct) <= size_classes:
        class_of = {int(v): int(v) for v in distinct}
    else:
        lo, hi = math.log(float(distinct[0])), math.log(float(distinct[-1]))
        width = (hi - lo) / size_classes or 1.0
        class_of = {
            int(v): min(size_classes - 1, int((math.log(float(v)) - lo) / width)) for v in distinct
        }
    nexts = _kernels.next_uses(np.ascontiguousarray(codes, dtype=np.int64), n_unique, ops)
    key_l = codes.tolist()
    next_l = nexts.tolist()
    time_l = times.tolist() if times is not None else None
    op_l = ops.tolist() if ops is not None else None
    size_l = sizes.tolist() if sizes is not None else None
    ttl_l = ttls.tolist() if ttls is not None else None
    cached: dict[int, tuple[int, float, int]] = {}  # key -> (size, expiry, next use)
    groups: dict[int, list[tuple[int, int]]] = {}  # size class -> heap of (-next use, key)
    used = 0
    c = [
        0
    ] * 9  # hits, misses, expirations, evictions, writes, deletes, bytes req, bytes hit, reads

    def push(key: int, size: int, nxt: int) -> None:
        cls = class_of[size]
        heap = groups.get(cls)
        if heap is None:
            heap = groups[cls] = []
        heapq.heappush(heap, (-nxt, key))
        if len(heap) > 64 and len(heap) > 4 * len(cached):
            live = [(-e[2], k) for k, e in cached.items() if class_of[e[0]] == cls]
            heapq.heapify(live)
            groups[cls] = live

    def victim(now_index: int) -> int:
        best_key, best_score = -1, -1
        for cls in list(groups):
            heap = groups[cls]
            while heap:
                neg, key = heap[0]
                entry = cached.get(key)
                if entry is not None and entry[2] == -neg:
                    break
                heapq.heappop(heap)
            if not heap:
                del groups[cls]
                continue
            score = cached[heap[0][1]][0] * (-heap[0][0] - now_index)
            if score > best_score:
                best_key, best_score = heap[0][1], score
        return best_key

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
                if flags is not None:
                    flags[i] = 1
                nxt = next_l[i]
                if nxt >= n or (time_l is not None and entry[1] <= time_l[nxt]):
                    del cached[k]  # never read again: drop it
                    used -= entry[0]
                else:
                    cached[k] = (entry[0], entry[1], nxt)
                    push(k, entry[0], nxt)
                continue
            if counted:
                c[1] += 1
            if flags is not None:
                flags[i] = 0
        elif op == 1:
            if counted:
                c[4] += 1
            if flags is not None:
                flags[i] = 2
        else:
            if counted:
                c[5] += 1
            if flags is not None:
                flags[i] = 2
            old = cached.pop(k, None)
            if old is not None:
                used -= old[0]
            continue
        ttl = default_ttl
        if ttl_l is not None and not math.isnan(ttl_l[i]):
            ttl = ttl_l[i]
        exp = now + ttl if ttl < math.inf else math.inf
        nxt = next_l[i]
        if nxt < n and time_l is not None and exp <= time_l[nxt]:
            nxt = n
        old = cached.pop(k, None)
        if old is not None:
            used -= old[0]
        if nxt >= n or s > capacity:
            continue  # never read again (or too large): not stored
        while used + s > capacity:
            v = victim(i)
            entry = cached.pop(v)
            used -= entry[0]
            if counted:
                if entry[1] <= now:
                    c[2] += 1
                else:
                    c[3] += 1
        cached[k] = (s, exp, nxt)
        used += s
        push(k, s, nxt)
    return np.array(c, dtype=np.int64)
