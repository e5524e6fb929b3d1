"""LRU-K kernel: the compiled mirror of :class:`cachesim.policies.LRUKStore` (K <= 4).

Entries with fewer than K requests wait in a FIFO list, oldest first; the
others sit in a min-heap on the time of their K-th most recent request.  The
last K request times of an entry are kept newest first in ``t1``..``t4``.
The clock ticks once per request as the store's does: on a hit, an overwrite
and each new entry (a fill shares the tick of its read miss).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import heap_del, heap_set, jit
from cachesim.sim.kernels._state import Array
from cachesim.sim.kernels.lists import COUNT, OLDEST, q_push, q_unlink, queues

STATE = (
    Array("older", np.int32, -1),
    Array("newer", np.int32, -1),
    Array("where", np.uint8, 0),  # 0 none, 1 fewer than K requests, 2 ranked
    Array("n", np.int8, 0),  # requests remembered (at most K)
    Array("t1", np.int64, 0),
    Array("t2", np.int64, 0),
    Array("t3", np.int64, 0),
    Array("t4", np.int64, 0),
    Array("ht", np.float64, 0.0),  # heap of ranked entries: K-th request time
    Array("hk", np.int64, -1),
    Array("hpos", np.int64, -1),
    Array("q", np.int64, -1, per_key=False, length=4),
    Array("conf", np.int64, 0, per_key=False, length=3),  # K, clock, heap size
)

_K, _CLOCK, _HEAP = 0, 1, 2
MAX_K = 4


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """K from the reference store; no entries yet."""
    if store.k > MAX_K:
        raise ValueError(
            f"the compiled LRU-K keeps at most {MAX_K} request times; "
            f"use engine='python' for k={store.k}"
        )
    state["q"][:] = queues(1)
    state["conf"][:] = (store.k, 0, 0)


@jit
def _remember(ps: Any, k: int) -> int:
    # record a request of k now; return its K-th most recent request time (or -1)
    _o, _w, _where, n, t1, t2, t3, t4, _ht, _hk, _hpos, _q, conf = ps
    now = conf[_CLOCK]
    t4[k] = t3[k]
    t3[k] = t2[k]
    t2[k] = t1[k]
    t1[k] = now
    kk = conf[_K]
    if n[k] < kk:
        n[k] += 1
    if n[k] < kk:
        return -1
    if kk == 1:
        return int(t1[k])
    if kk == 2:
        return int(t2[k])
    if kk == 3:
        return int(t3[k])
    return int(t4[k])


@jit
def admit(ps: Any, osize: Any, k: int, s: int) -> bool:
    ps[12][_CLOCK] += 1
    return True


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    older, newer, where, n, _t1, _t2, _t3, _t4, ht, hk, hpos, q, conf = ps
    n[k] = 0
    kth = _remember(ps, k)
    if kth >= 0:
        where[k] = 2
        conf[_HEAP] = heap_set(ht, hk, hpos, conf[_HEAP], k, float(kth))
    else:
        where[k] = 1
        q_push(older, newer, q, 0, k, s)
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    older, newer, where, _n, _t1, _t2, _t3, _t4, ht, hk, hpos, q, conf = ps
    conf[_CLOCK] += 1
    kth = _remember(ps, k)
    if kth < 0:
        return
    if where[k] == 1:
        q_unlink(older, newer, q, 0, k, osize[k])
        where[k] = 2
    conf[_HEAP] = heap_set(ht, hk, hpos, conf[_HEAP], k, float(kth))


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    older, newer, where, n, _t1, _t2, _t3, _t4, ht, hk, hpos, q, conf = ps
    if where[k] == 1:
        q_unlink(older, newer, q, 0, k, osize[k])
    elif where[k] == 2:
        conf[_HEAP] = heap_del(ht, hk, hpos, conf[_HEAP], k)
    where[k] = 0
    n[k] = 0


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    q, hk = ps[11], ps[9]
    if q[COUNT] > 0:
        return int(q[OLDEST])
    return int(hk[0])
