"""LFU kernel: the compiled mirror of :class:`cachesim.policies.LFUStore`, O(1) per request.

Entries with the same count share a node; nodes are chained in increasing
count, so the victim is the oldest entry of the first node.  Nodes come from a
pool recycled through a free list (at most one more node than entries).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._state import Array

STATE = (
    Array("older", np.int32, -1),  # entry links inside its node, oldest first
    Array("newer", np.int32, -1),
    Array("node", np.int32, -1),  # node of each entry
    Array("count", np.int64, 0, extra=2),  # per node: its count
    Array("n_newest", np.int32, -1, extra=2),
    Array("n_oldest", np.int32, -1, extra=2),
    Array("n_lower", np.int32, -1, extra=2),  # node chain, increasing counts
    Array("n_higher", np.int32, -1, extra=2),
    Array("meta", np.int64, -1, per_key=False, length=3),  # first node, free list, unused
)

_FIRST, _FREE, _UNUSED = 0, 1, 2


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """No nodes yet; the pool starts unused."""
    state["meta"][:] = (-1, -1, 0)


@jit
def _new_node(ps: Any, c: int, after: int) -> int:
    # a node of count c chained right after node `after` (-1: first)
    _older, _newer, _node, count, n_newest, n_oldest, n_lower, n_higher, meta = ps
    n = meta[_FREE]
    if n >= 0:
        meta[_FREE] = n_higher[n]
    else:
        n = meta[_UNUSED]
        meta[_UNUSED] = n + 1
    count[n] = c
    n_newest[n] = -1
    n_oldest[n] = -1
    nxt = n_higher[after] if after >= 0 else meta[_FIRST]
    n_lower[n] = after
    n_higher[n] = nxt
    if after >= 0:
        n_higher[after] = n
    else:
        meta[_FIRST] = n
    if nxt >= 0:
        n_lower[nxt] = n
    return int(n)


@jit
def _append(ps: Any, n: int, k: int) -> None:
    older, newer, node, _count, n_newest, n_oldest, _n_lower, _n_higher, _meta = ps
    last = n_newest[n]
    older[k] = last
    newer[k] = -1
    if last >= 0:
        newer[last] = k
    else:
        n_oldest[n] = k
    n_newest[n] = k
    node[k] = n


@jit
def _detach(ps: Any, k: int) -> None:
    # take entry k out of its node; free the node if it empties
    older, newer, node, _count, n_newest, n_oldest, n_lower, n_higher, meta = ps
    n = node[k]
    o = older[k]
    w = newer[k]
    if o >= 0:
        newer[o] = w
    else:
        n_oldest[n] = w
    if w >= 0:
        older[w] = o
    else:
        n_newest[n] = o
    node[k] = -1
    if n_oldest[n] >= 0:
        return
    lo = n_lower[n]
    hi = n_higher[n]
    if lo >= 0:
        n_higher[lo] = hi
    else:
        meta[_FIRST] = hi
    if hi >= 0:
        n_lower[hi] = lo
    n_higher[n] = meta[_FREE]
    meta[_FREE] = n


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    first = ps[8][_FIRST]
    n = first if first >= 0 and ps[3][first] == 1 else _new_node(ps, 1, -1)
    _append(ps, n, k)
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    node, count, n_higher = ps[2], ps[3], ps[7]
    n = node[k]
    c = count[n] + 1
    target = n_higher[n]
    if target < 0 or count[target] != c:
        target = _new_node(ps, c, n)
    _detach(ps, k)
    _append(ps, target, k)


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    _detach(ps, k)


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    return int(ps[5][ps[8][_FIRST]])
