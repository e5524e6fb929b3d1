"""2Q kernel: the compiled mirror of :class:`cachesim.policies.TwoQStore`.

Queues: A1in (slot 0, FIFO), Am (4, LRU) and the ghost FIFO A1out (8) share
the link arrays; ``where[k]`` says which holds key ``k``.  A ghost key's size
is ``osize[k]``, the size it had when it left A1in.  Making room in Am for an
entry the ghost remembered evicts through the eviction buffer.
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

STATE = (
    Array("older", np.int32, -1),
    Array("newer", np.int32, -1),
    Array("where", np.uint8, 0),  # 0 none, 1 A1in, 2 Am, 3 A1out
    Array("q", np.int64, -1, per_key=False, length=12),
    # A1in capacity (-1: unbounded), A1out capacity, Am capacity, ghost hit now
    Array("conf", np.int64, 0, per_key=False, length=4),
    evicted_buffer(),
)

_IN, _AM, _OUT = 0, 4, 8
_IN_CAP, _OUT_CAP, _AM_CAP, _GHOST_HIT = range(4)


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """Queue sizes from the reference store."""
    state["q"][:] = queues(3)
    bounded = store.capacity is not None
    state["conf"][:] = (
        store.in_capacity if bounded else -1,
        store.out_capacity if bounded else -1,
        store.main_capacity if bounded else -1,
        0,
    )


@jit
def admit(ps: Any, osize: Any, k: int, s: int) -> bool:
    older, newer, where, q, conf, _ev = ps
    conf[_GHOST_HIT] = 0
    if where[k] == 3:
        q_unlink(older, newer, q, _OUT, k, osize[k])
        where[k] = 0
        conf[_GHOST_HIT] = 1
    return bool(conf[_IN_CAP] < 0 or s <= conf[_IN_CAP])


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    older, newer, where, q, conf, ev = ps
    am_cap = conf[_AM_CAP]
    if conf[_GHOST_HIT] and am_cap >= 0 and s <= am_cap:
        while q[_AM + COUNT] > 0 and q[_AM + USED] + s > am_cap:
            v = q[_AM + OLDEST]
            q_unlink(older, newer, q, _AM, v, osize[v])
            where[v] = 0
            evict_later(ev, v)
        q_push(older, newer, q, _AM, k, s)
        where[k] = 2
    else:
        q_push(older, newer, q, _IN, k, s)
        where[k] = 1
    conf[_GHOST_HIT] = 0
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    older, newer, where, q, _conf, _ev = ps
    if where[k] == 2:
        q_move_to_newest(older, newer, q, _AM, k)


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    older, newer, where, q, _conf, _ev = ps
    w = where[k]
    if w == 1:
        q_unlink(older, newer, q, _IN, k, osize[k])
        where[k] = 0
    elif w == 2:
        q_unlink(older, newer, q, _AM, k, osize[k])
        where[k] = 0


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    older, newer, where, q, conf, _ev = ps
    in_cap = conf[_IN_CAP]
    if q[_IN + COUNT] > 0 and (q[_AM + COUNT] == 0 or in_cap < 0 or q[_IN + USED] > in_cap):
        k = int(q[_IN + OLDEST])
        size = osize[k]
        q_unlink(older, newer, q, _IN, k, size)
        where[k] = 0
        limit = conf[_OUT_CAP]
        if limit >= 0 and size <= limit:  # remember it in A1out
            while q[_OUT + COUNT] > 0 and q[_OUT + USED] + size > limit:
                g = q[_OUT + OLDEST]
                q_unlink(older, newer, q, _OUT, g, osize[g])
                where[g] = 0
            q_push(older, newer, q, _OUT, k, size)
            where[k] = 3
        return k
    return int(q[_AM + OLDEST])
