"""S3-FIFO kernel: the compiled mirror of :class:`cachesim.policies.S3FIFOStore`.

Queues: small (slot 0), main (4) and ghost (8) share the link arrays; a key's
``where`` says which one holds it.  A ghost key's size is ``osize[k]``, the size
it had when it was evicted (the driver overwrites it only when the key is
stored again, after ``admit`` has taken it out of the ghost queue).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._state import Array
from cachesim.sim.kernels.lists import OLDEST, USED, q_move_to_newest, q_push, q_unlink, queues

STATE = (
    Array("older", np.int32, -1),
    Array("newer", np.int32, -1),
    Array("where", np.uint8, 0),  # 0 none, 1 small, 2 main, 3 ghost
    Array("freq", np.int64, 0),
    Array("q", np.int64, -1, per_key=False, length=12),
    # small capacity (-1: unbounded), main capacity, ghost capacity, threshold,
    # ghost hit now, evicted yet
    Array("conf", np.int64, 0, per_key=False, length=6),
)

_SMALL, _MAIN, _GHOST = 0, 4, 8
_SMALL_CAP, _MAIN_CAP, _GHOST_CAP, _THRESHOLD, _GHOST_HIT, _EVICTED = range(6)


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """Queue sizes and threshold from the reference store built with the same options."""
    state["q"][:] = queues(3)
    unbounded = store.capacity is None
    state["conf"][:] = (
        -1 if unbounded else store.small_capacity,
        store.main_capacity,
        store.ghost_capacity,
        store.move_to_main_threshold,
        0,
        0,
    )


@jit
def admit(ps: Any, osize: Any, k: int, s: int) -> bool:
    older, newer, where, _freq, q, conf = ps
    conf[_GHOST_HIT] = 0
    if where[k] == 3:
        q_unlink(older, newer, q, _GHOST, k, osize[k])
        where[k] = 0
        conf[_GHOST_HIT] = 1
    return bool(conf[_SMALL_CAP] < 0 or s <= conf[_SMALL_CAP])


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    older, newer, where, freq, q, conf = ps
    small_cap = conf[_SMALL_CAP]
    if conf[_GHOST_HIT]:
        conf[_GHOST_HIT] = 0
        q_push(older, newer, q, _MAIN, k, s)
        where[k] = 2
    elif small_cap >= 0 and s >= small_cap:
        return False
    elif small_cap >= 0 and conf[_EVICTED] == 0 and q[_SMALL + USED] >= small_cap:
        q_push(older, newer, q, _MAIN, k, s)
        where[k] = 2
    else:
        q_push(older, newer, q, _SMALL, k, s)
        where[k] = 1
    freq[k] = 0
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    ps[3][k] += 1


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    older, newer, where, _freq, q, _conf = ps
    w = where[k]
    if w == 1:
        q_unlink(older, newer, q, _SMALL, k, osize[k])
    elif w == 2:
        q_unlink(older, newer, q, _MAIN, k, osize[k])
    else:
        return  # an evicted key, already moved to the ghost queue (or dropped)
    where[k] = 0


@jit
def _remember(ps: Any, osize: Any, k: int, s: int) -> None:
    older, newer, where, _freq, q, conf = ps
    cap = conf[_GHOST_CAP]
    if cap <= 0 or s > cap:
        return
    while q[_GHOST + USED] + s > cap:
        g = q[_GHOST + OLDEST]
        q_unlink(older, newer, q, _GHOST, g, osize[g])
        where[g] = 0
    q_push(older, newer, q, _GHOST, k, s)
    where[k] = 3


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    older, newer, where, freq, q, conf = ps
    conf[_EVICTED] = 1
    threshold = conf[_THRESHOLD]
    while True:
        if q[_MAIN + USED] > conf[_MAIN_CAP] or q[_SMALL + USED] == 0:
            while True:
                k = q[_MAIN + OLDEST]
                f = freq[k]
                if f == 0:
                    q_unlink(older, newer, q, _MAIN, k, osize[k])
                    where[k] = 0
                    return int(k)
                freq[k] = min(f, 3) - 1
                q_move_to_newest(older, newer, q, _MAIN, k)
        while q[_SMALL + USED] > 0:
            k = q[_SMALL + OLDEST]
            size = osize[k]
            q_unlink(older, newer, q, _SMALL, k, size)
            if freq[k] >= threshold:
                q_push(older, newer, q, _MAIN, k, size)
                where[k] = 2
                freq[k] = 0
                continue
            where[k] = 0
            _remember(ps, osize, k, size)
            return int(k)
