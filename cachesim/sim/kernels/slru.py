"""SLRU kernel: the compiled mirror of :class:`cachesim.policies.SLRUStore`.

Segment ``i`` is queue ``4 * i`` of ``q`` (newest first); ``seg[k]`` says
which one holds key ``k`` (-1: none).  A hit promotes the entry one segment
up; a segment over its limit hands its least recently used entry down, and
segment 0 evicts (through the eviction buffer), as the store's ``_cool`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import evict_later, evicted_buffer, jit
from cachesim.sim.kernels._state import Array
from cachesim.sim.kernels.lists import (
    COUNT,
    OLDEST,
    USED,
    q_move_to_newest,
    q_push,
    q_unlink,
    queues,
)

EVICTS = True
MAX_SEGMENTS = 64

STATE = (
    Array("older", np.int32, -1),
    Array("newer", np.int32, -1),
    Array("seg", np.int8, -1),
    Array("q", np.int64, -1, per_key=False, length=4 * MAX_SEGMENTS),
    Array("limit", np.float64, 0.0, per_key=False, length=MAX_SEGMENTS),
    Array("conf", np.int64, 0, per_key=False, length=1),  # number of segments
    evicted_buffer(),
)


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """Segment limits from the reference store."""
    n = len(store.limits)
    if n > MAX_SEGMENTS:
        raise ValueError(
            f"the compiled SLRU has at most {MAX_SEGMENTS} segments; use engine='python'"
        )
    state["q"][:] = queues(MAX_SEGMENTS)
    state["limit"][:n] = store.limits
    state["conf"][0] = n


@jit
def admit(ps: Any, osize: Any, k: int, s: int) -> bool:
    limit, n = ps[4], ps[5][0]
    smallest = limit[0]
    for i in range(1, n):
        if limit[i] < smallest:
            smallest = limit[i]
    return bool(s <= smallest)


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    older, newer, seg, q, limit, conf, _ev = ps
    target = 0
    for i in range(conf[0]):
        if q[4 * i + USED] + s <= limit[i]:
            target = i
            break
    q_push(older, newer, q, 4 * target, k, s)
    seg[k] = target
    return True


@jit
def _lowest_oldest(q: Any, n: int) -> int:
    for i in range(n):
        if q[4 * i + COUNT] > 0:
            return int(q[4 * i + OLDEST])
    return -1


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    older, newer, seg, q, limit, conf, ev = ps
    n = conf[0]
    i = seg[k]
    if i == n - 1:
        q_move_to_newest(older, newer, q, 4 * i, k)
        return
    size = osize[k]
    q_unlink(older, newer, q, 4 * i, k, size)
    start = i + 1
    q_push(older, newer, q, 4 * start, k, size)
    seg[k] = start
    # hand overflow down, resolving each lower segment before rechecking the one above
    j = start
    while True:
        if q[4 * j + USED] > limit[j]:
            if j == 0:
                v = _lowest_oldest(q, n)
                if v < 0:
                    break
                q_unlink(older, newer, q, 4 * seg[v], v, osize[v])
                seg[v] = -1
                evict_later(ev, v)
                continue
            v = int(q[4 * j + OLDEST])
            sz = osize[v]
            q_unlink(older, newer, q, 4 * j, v, sz)
            q_push(older, newer, q, 4 * (j - 1), v, sz)
            seg[v] = j - 1
            j -= 1
            continue
        if j == start:
            break
        j += 1


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    older, newer, seg, q, _limit, _conf, _ev = ps
    i = seg[k]
    if i >= 0:
        q_unlink(older, newer, q, 4 * i, k, osize[k])
        seg[k] = -1


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    return _lowest_oldest(ps[3], ps[5][0])
