"""ARC kernel: the compiled mirror of :class:`cachesim.policies.ARCStore`.

Queues T1 (slot 0), T2 (4), B1 (8) and B2 (12) share the link arrays; a ghost
key's size is ``osize[k]``, its size when it was evicted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
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

STATE = (
    Array("older", np.int32, -1),
    Array("newer", np.int32, -1),
    Array("where", np.uint8, 0),  # 0 none, 1 T1, 2 T2, 3 B1, 4 B2
    Array("q", np.int64, -1, per_key=False, length=16),
    Array("flags", np.int64, 0, per_key=False, length=4),  # capacity, in B1, in B2, ghost now
    Array("p", np.float64, 0.0, per_key=False, length=1),
)

_T1, _T2, _B1, _B2 = 0, 4, 8, 12
_CAP, _IN_B1, _IN_B2, _NOW = range(4)


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """Empty lists, ``p = 0``."""
    state["q"][:] = queues(4)
    state["flags"][:] = (-1 if store.capacity is None else store.capacity, 0, 0, 0)


@jit
def _ratio(a: int, b: int) -> float:
    if b == 0:
        return np.inf if a > 0 else 1.0
    return max(a / b, 1.0)


@jit
def admit(ps: Any, osize: Any, k: int, s: int) -> bool:
    older, newer, where, q, flags, p = ps
    flags[_NOW] = 0
    c = np.inf if flags[_CAP] < 0 else float(flags[_CAP])
    w = where[k]
    if w == 3:
        flags[_IN_B1] = 1
        flags[_IN_B2] = 0
        p[0] = min(p[0] + _ratio(q[_B2 + USED], q[_B1 + USED]), c)
        q_unlink(older, newer, q, _B1, k, osize[k])
        where[k] = 0
        flags[_NOW] = 1
    elif w == 4:
        flags[_IN_B1] = 0
        flags[_IN_B2] = 1
        p[0] = max(p[0] - _ratio(q[_B1 + USED], q[_B2 + USED]), 0.0)
        q_unlink(older, newer, q, _B2, k, osize[k])
        where[k] = 0
        flags[_NOW] = 1
    return True


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    older, newer, where, q, flags, _p = ps
    if flags[_NOW]:
        flags[_NOW] = 0
        flags[_IN_B1] = 0
        flags[_IN_B2] = 0
        q_push(older, newer, q, _T2, k, s)
        where[k] = 2
    else:
        q_push(older, newer, q, _T1, k, s)
        where[k] = 1
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    older, newer, where, q, flags, _p = ps
    flags[_IN_B1] = 0
    flags[_IN_B2] = 0
    if where[k] == 1:
        q_unlink(older, newer, q, _T1, k, osize[k])
        q_push(older, newer, q, _T2, k, osize[k])
        where[k] = 2
    else:
        q_move_to_newest(older, newer, q, _T2, k)


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    older, newer, where, q, _flags, _p = ps
    w = where[k]
    if w == 1:
        q_unlink(older, newer, q, _T1, k, osize[k])
    elif w == 2:
        q_unlink(older, newer, q, _T2, k, osize[k])
    else:
        return  # an evicted key, already a ghost (or dropped)
    where[k] = 0


@jit
def _replace(ps: Any, osize: Any) -> int:
    older, newer, where, q, flags, p = ps
    t1 = q[_T1 + USED]
    from_t1 = (t1 > 0 and (t1 > p[0] or (t1 == p[0] and flags[_IN_B2] != 0))) or (
        q[_T2 + USED] == 0
    )
    if (from_t1 and q[_T1 + COUNT] > 0) or q[_T2 + COUNT] == 0:
        k = q[_T1 + OLDEST]
        q_unlink(older, newer, q, _T1, k, osize[k])
        q_push(older, newer, q, _B1, k, osize[k])
        where[k] = 3
    else:
        k = q[_T2 + OLDEST]
        q_unlink(older, newer, q, _T2, k, osize[k])
        q_push(older, newer, q, _B2, k, osize[k])
        where[k] = 4
    return int(k)


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    older, newer, where, q, flags, _p = ps
    if flags[_NOW]:
        return _replace(ps, osize)
    c = flags[_CAP]
    if q[_T1 + USED] + q[_B1 + USED] + s > c:
        if q[_B1 + USED] > 0:
            g = q[_B1 + OLDEST]
            q_unlink(older, newer, q, _B1, g, osize[g])
            where[g] = 0
            return _replace(ps, osize)
        k = q[_T1 + OLDEST]  # T1 holds the whole share: drop with no ghost
        q_unlink(older, newer, q, _T1, k, osize[k])
        where[k] = 0
        return int(k)
    total = q[_T1 + USED] + q[_B1 + USED] + q[_T2 + USED] + q[_B2 + USED]
    if total >= 2 * c and q[_B2 + USED] > 0:
        g = q[_B2 + OLDEST]
        q_unlink(older, newer, q, _B2, g, osize[g])
        where[g] = 0
    return _replace(ps, osize)
