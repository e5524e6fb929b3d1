"""OPT kernel: the compiled mirror of :class:`cachesim.policies.BeladyStore`.

An indexed heap holds every cached key by its next use, furthest first (ties:
smallest key id), so a hit re-ranks its entry in O(log n).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._state import Array

STATE = (
    Array("hpos", np.int64, -1),  # heap position of each cached key
    Array("hprio", np.int64, 0),  # heap: next use
    Array("hkey", np.int64, -1),  # heap: key
    Array("n", np.int64, 0, per_key=False, length=1),
)


@jit
def _before(hprio: Any, hkey: Any, a: int, b: int) -> bool:
    return bool(hprio[a] > hprio[b] or (hprio[a] == hprio[b] and hkey[a] < hkey[b]))


@jit
def _swap(hpos: Any, hprio: Any, hkey: Any, a: int, b: int) -> None:
    p = hprio[a]
    hprio[a] = hprio[b]
    hprio[b] = p
    k = hkey[a]
    hkey[a] = hkey[b]
    hkey[b] = k
    hpos[hkey[a]] = a
    hpos[hkey[b]] = b


@jit
def _fix(ps: Any, i: int) -> None:
    hpos, hprio, hkey, n = ps
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(hprio, hkey, i, parent):
            break
        _swap(hpos, hprio, hkey, i, parent)
        i = parent
    while True:
        c = 2 * i + 1
        if c >= n[0]:
            break
        if c + 1 < n[0] and _before(hprio, hkey, c + 1, c):
            c += 1
        if not _before(hprio, hkey, c, i):
            break
        _swap(hpos, hprio, hkey, i, c)
        i = c


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    hpos, hprio, hkey, n = ps
    i = n[0]
    n[0] += 1
    hpos[k] = i
    hprio[i] = nu
    hkey[i] = k
    _fix(ps, i)
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    i = ps[0][k]
    ps[1][i] = nu
    _fix(ps, i)


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    hpos, hprio, hkey, n = ps
    i = hpos[k]
    hpos[k] = -1
    n[0] -= 1
    last = n[0]
    if i == last:
        return
    hprio[i] = hprio[last]
    hkey[i] = hkey[last]
    hpos[hkey[i]] = i
    _fix(ps, i)


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    return int(ps[2][0])
