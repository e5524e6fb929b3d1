"""GDSF kernel: the compiled mirror of :class:`cachesim.policies.GDSFStore`.

An indexed min-heap on (priority, time of the last push) holds every cached
entry; the clock ticks on every hit, overwrite and new entry (a fill shares
its read miss's tick), as the store's does.  ``victim`` returns -1 when the
new entry's own priority is the lowest: it loses, as in libCacheSim.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._state import Array

STATE = (
    Array("freq", np.int64, 0),
    Array("hpos", np.int64, -1),  # position of each key in the heap
    Array("hp", np.float64, 0.0),  # heap: priority
    Array("ht", np.int64, 0),  # heap: tie-break time
    Array("hk", np.int64, -1),  # heap: key
    Array("conf", np.int64, 0, per_key=False, length=2),  # clock, heap size
    Array("fconf", np.float64, 0.0, per_key=False, length=3),  # L, scale, new entry's priority
)

_CLOCK, _N = 0, 1
_L, _SCALE, _PENDING = 0, 1, 2


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """The scale from the reference store; L starts at 0."""
    state["fconf"][:] = (0.0, store.scale, 0.0)


@jit
def _less(hp: Any, ht: Any, a: int, b: int) -> bool:
    return bool(hp[a] < hp[b] or (hp[a] == hp[b] and ht[a] < ht[b]))


@jit
def _swap(hpos: Any, hp: Any, ht: Any, hk: Any, a: int, b: int) -> None:
    p = hp[a]
    hp[a] = hp[b]
    hp[b] = p
    t = ht[a]
    ht[a] = ht[b]
    ht[b] = t
    k = hk[a]
    hk[a] = hk[b]
    hk[b] = k
    hpos[hk[a]] = a
    hpos[hk[b]] = b


@jit
def _up(hpos: Any, hp: Any, ht: Any, hk: Any, i: int) -> None:
    while i > 0:
        p = (i - 1) >> 1
        if not _less(hp, ht, i, p):
            break
        _swap(hpos, hp, ht, hk, i, p)
        i = p


@jit
def _down(hpos: Any, hp: Any, ht: Any, hk: Any, n: int, i: int) -> None:
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _less(hp, ht, c + 1, c):
            c += 1
        if not _less(hp, ht, c, i):
            break
        _swap(hpos, hp, ht, hk, i, c)
        i = c


@jit
def _push(ps: Any, k: int, priority: float) -> None:
    _freq, hpos, hp, ht, hk, conf, _f = ps
    i = hpos[k]
    if i < 0:
        i = conf[_N]
        conf[_N] = i + 1
        hk[i] = k
        hpos[k] = i
        hp[i] = priority
        ht[i] = conf[_CLOCK]
        _up(hpos, hp, ht, hk, i)
        return
    hp[i] = priority
    ht[i] = conf[_CLOCK]  # the clock only grows: sift by priority first
    _up(hpos, hp, ht, hk, i)
    _down(hpos, hp, ht, hk, conf[_N], hpos[k])


@jit
def admit(ps: Any, osize: Any, k: int, s: int) -> bool:
    conf, fconf = ps[5], ps[6]
    conf[_CLOCK] += 1
    if s > 0:
        fconf[_PENDING] = fconf[_L] + fconf[_SCALE] / s
    return True


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    ps[0][k] = 1
    _push(ps, k, ps[6][_PENDING])
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    freq, conf, fconf = ps[0], ps[5], ps[6]
    conf[_CLOCK] += 1
    freq[k] += 1
    _push(ps, k, fconf[_L] + freq[k] * fconf[_SCALE] / osize[k])


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    freq, hpos, hp, ht, hk, conf, _f = ps
    i = hpos[k]
    if i < 0:
        return
    hpos[k] = -1
    freq[k] = 0
    n = conf[_N] - 1
    conf[_N] = n
    if i == n:
        return
    moved = hk[n]
    hp[i] = hp[n]
    ht[i] = ht[n]
    hk[i] = moved
    hpos[moved] = i
    _down(hpos, hp, ht, hk, n, i)
    _up(hpos, hp, ht, hk, hpos[moved])


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    _freq, _hpos, hp, ht, hk, conf, fconf = ps
    mine = fconf[_PENDING]
    now = conf[_CLOCK]
    if conf[_N] == 0 or hp[0] > mine or (hp[0] == mine and ht[0] > now):
        fconf[_L] = mine  # the new entry has the lowest priority: it loses
        return -1
    fconf[_L] = hp[0]
    return int(hk[0])
