"""LIRS kernel: the compiled mirror of :class:`cachesim.policies.LIRSStore`.

Three orders over key ids, each with its own link arrays because a block can
sit in several at once: the stack S (slot 0 of ``q``, bottom = oldest; its
``USED`` is the stack's total size), the list Q of resident HIR blocks (slot
4; ``USED`` is the HIR bytes) and the non-resident blocks of S (slot 8).
``fl[k]`` holds a block's flags.  The policy keeps its own count of the
cache's used size (its ``_admit`` reserves room against it), evicts through
the eviction buffer where the store calls ``_drop_resident`` and adjusts the
loop's used size where the store leaves a block uncounted.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import adjust_used, evict_later, evicted_buffer, jit
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
    Array("so", np.int32, -1),  # S links
    Array("sn", np.int32, -1),
    Array("qo", np.int32, -1),  # Q links
    Array("qn", np.int32, -1),
    Array("no", np.int32, -1),  # non-resident links
    Array("nn", np.int32, -1),
    Array("fl", np.uint8, 0),
    Array("ssize", np.int64, 0),  # size recorded in S
    Array("q", np.int64, -1, per_key=False, length=12),
    # HIR limit, LIR limit, stack limit, LIR bytes, requested key, used, capacity (-1: none),
    # strict
    Array("conf", np.int64, 0, per_key=False, length=8),
    evicted_buffer(),
)

_S, _Q, _NR = 0, 4, 8
IN_S, LIR, RES, IN_Q, IN_NR, CACHED, UNCOUNTED = 1, 2, 4, 8, 16, 32, 64
_HIR_LIM, _LIR_LIM, _STACK_LIM, _LIR_BYTES, _REQUESTED, _USED, _CAP, _STRICT = range(8)
_INT64_MAX = (1 << 63) - 1


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """Limits from the reference store."""
    state["q"][:] = queues(3)
    state["conf"][:] = (
        min(store.hir_limit, _INT64_MAX),
        min(store.lir_limit, _INT64_MAX),
        min(store.stack_limit, _INT64_MAX),
        0,
        -1,
        0,
        -1 if store.capacity is None else store.capacity,
        int(store.strict),
    )


@jit
def _s_drop(ps: Any, k: int) -> None:
    so, sn, fl, ssize, q = ps[0], ps[1], ps[6], ps[7], ps[8]
    q_unlink(so, sn, q, _S, k, ssize[k])
    fl[k] &= ~(IN_S | LIR | RES)
    ssize[k] = 0


@jit
def _s_push(ps: Any, k: int, size: int, lir: bool) -> None:
    so, sn, fl, ssize, q = ps[0], ps[1], ps[6], ps[7], ps[8]
    q_push(so, sn, q, _S, k, size)
    fl[k] |= IN_S | RES
    if lir:
        fl[k] |= LIR
    ssize[k] = size


@jit
def _nr_pop(ps: Any, k: int) -> None:
    no, nn, fl, q = ps[4], ps[5], ps[6], ps[8]
    if fl[k] & IN_NR:
        q_unlink(no, nn, q, _NR, k, 0)
        fl[k] &= ~IN_NR


@jit
def _q_del(ps: Any, k: int, size: int) -> None:
    qo, qn, fl, q = ps[2], ps[3], ps[6], ps[8]
    q_unlink(qo, qn, q, _Q, k, size)
    fl[k] &= ~IN_Q


@jit
def _q_add(ps: Any, k: int, size: int) -> None:
    qo, qn, fl, q = ps[2], ps[3], ps[6], ps[8]
    q_push(qo, qn, q, _Q, k, size)
    fl[k] |= IN_Q


@jit
def _drop_resident(ps: Any, osize: Any, k: int) -> None:
    ps[6][k] &= ~CACHED
    ps[9][_USED] -= osize[k]
    evict_later(ps[10], k)


@jit
def _prune(ps: Any, osize: Any) -> None:
    fl, q = ps[6], ps[8]
    while q[_S + COUNT] > 1:
        b = q[_S + OLDEST]
        if fl[b] & LIR:
            break
        if not fl[b] & RES:
            _nr_pop(ps, b)
        _s_drop(ps, b)
        _forget_uncounted(ps, osize, b)


@jit
def _forget_uncounted(ps: Any, osize: Any, k: int) -> None:
    # S dropped k: if it was a cached block left out of the used size, it leaves now
    fl, conf = ps[6], ps[9]
    if fl[k] & UNCOUNTED:
        fl[k] &= ~UNCOUNTED
        conf[_USED] += osize[k]
        adjust_used(ps[10], osize[k])
        _drop_resident(ps, osize, k)


@jit
def _evict_hir(ps: Any, osize: Any) -> bool:
    qn, no, nn, fl, q, conf = ps[3], ps[4], ps[5], ps[6], ps[8], ps[9]
    k = q[_Q + OLDEST]
    if conf[_STRICT] and k == conf[_REQUESTED]:
        if q[_Q + COUNT] == 1:
            return False
        k = qn[k]
    _q_del(ps, k, osize[k])
    if k == conf[_REQUESTED]:  # stays cached, held in S, not counted (libCacheSim)
        fl[k] |= UNCOUNTED
        conf[_USED] -= osize[k]
        adjust_used(ps[10], -osize[k])
        return True
    if fl[k] & IN_S:
        fl[k] &= ~RES
        if not fl[k] & IN_NR:
            q_push(no, nn, q, _NR, k, 0)
            fl[k] |= IN_NR
    _drop_resident(ps, osize, k)
    return True


@jit
def _evict_lir(ps: Any, osize: Any) -> None:
    fl, ssize, q, conf = ps[6], ps[7], ps[8], ps[9]
    k = q[_S + OLDEST]
    size = ssize[k]
    if not fl[k] & LIR:  # an HIR block at the bottom: it only leaves S
        if not fl[k] & RES:
            _nr_pop(ps, k)
        _s_drop(ps, k)
        _forget_uncounted(ps, osize, k)
        _prune(ps, osize)
        return
    conf[_LIR_BYTES] -= size
    _s_drop(ps, k)
    hir_limit = conf[_HIR_LIM]
    if size <= hir_limit and fl[k] & CACHED:
        while q[_Q + COUNT] > 0 and q[_Q + USED] + size > hir_limit:
            if not _evict_hir(ps, osize):
                break
        if not fl[k] & IN_Q:
            _q_add(ps, k, size)
    elif fl[k] & CACHED and not fl[k] & IN_Q:
        _drop_resident(ps, osize, k)
    _prune(ps, osize)


@jit
def _limit_stack(ps: Any) -> None:
    q, conf = ps[8], ps[9]
    while q[_S + USED] > conf[_STACK_LIM] and q[_NR + COUNT] > 0:
        k = q[_NR + OLDEST]
        _nr_pop(ps, k)
        _s_drop(ps, k)


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    so, sn, qo, qn, fl, q, conf = ps[0], ps[1], ps[2], ps[3], ps[6], ps[8], ps[9]
    in_s = fl[k] & IN_S
    in_q = fl[k] & IN_Q
    if in_s:
        q_move_to_newest(so, sn, q, _S, k)
    if in_q:
        q_move_to_newest(qo, qn, q, _Q, k)
    size = osize[k]
    if in_s and fl[k] & LIR:
        _prune(ps, osize)
    elif in_s:
        if in_q:
            _q_del(ps, k, size)
        while conf[_LIR_BYTES] + size > conf[_LIR_LIM] and q[_S + OLDEST] != k:
            _evict_lir(ps, osize)
        fl[k] |= LIR
        conf[_LIR_BYTES] += size
        if fl[k] & UNCOUNTED:
            fl[k] &= ~UNCOUNTED
            conf[_USED] += size
            adjust_used(ps[10], size)
    else:
        conf[_REQUESTED] = k
        while conf[_LIR_BYTES] + size > conf[_LIR_LIM] and q[_S + COUNT] > 0:
            _evict_lir(ps, osize)
        conf[_REQUESTED] = -1
        _s_push(ps, k, size, False)
    _limit_stack(ps)


@jit
def admit(ps: Any, osize: Any, k: int, s: int) -> bool:
    so, sn, fl, ssize, q, conf = ps[0], ps[1], ps[6], ps[7], ps[8], ps[9]
    if conf[_CAP] >= 0 and s > conf[_CAP]:
        return False  # never stored: S and Q stay as they are
    if fl[k] & IN_S:  # a non-resident HIR block: it will come back as LIR
        q_move_to_newest(so, sn, q, _S, k)
        while conf[_LIR_BYTES] + ssize[k] > conf[_LIR_LIM] and q[_S + COUNT] > 1:
            _evict_lir(ps, osize)
        _nr_pop(ps, k)
        cap = conf[_CAP]
        while cap >= 0 and conf[_USED] + s > cap:
            while q[_Q + COUNT] > 0 and q[_Q + USED] >= conf[_HIR_LIM]:
                _evict_hir(ps, osize)
            if q[_S + COUNT] <= 1:
                break
            _evict_lir(ps, osize)
        return True
    hir_limit = conf[_HIR_LIM]
    if s > hir_limit:
        return False
    if conf[_LIR_BYTES] + s > conf[_LIR_LIM] and q[_Q + USED] + s > hir_limit:
        while q[_Q + COUNT] > 0 and q[_Q + USED] + s > hir_limit:
            _evict_hir(ps, osize)
    return True


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    fl, ssize, conf = ps[6], ps[7], ps[9]
    fl[k] |= CACHED
    if fl[k] & IN_S:  # a returning block keeps the size S remembers: store it so
        fl[k] |= LIR | RES
        osize[k] = ssize[k]
        conf[_USED] += ssize[k]
        conf[_LIR_BYTES] += ssize[k]
    elif conf[_LIR_BYTES] + s <= conf[_LIR_LIM]:
        conf[_USED] += s
        _s_push(ps, k, s, True)
        conf[_LIR_BYTES] += s
    else:
        conf[_USED] += s
        _s_push(ps, k, s, False)
        _q_add(ps, k, s)
    _limit_stack(ps)
    return True


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    fl, conf = ps[6], ps[9]
    fl[k] &= ~CACHED
    size = osize[k]
    if fl[k] & UNCOUNTED:  # the loop subtracts it
        fl[k] &= ~UNCOUNTED
        conf[_USED] += size
        adjust_used(ps[10], size)
    conf[_USED] -= size
    if fl[k] & IN_S:
        if fl[k] & LIR:
            conf[_LIR_BYTES] -= size
            _s_drop(ps, k)
            _prune(ps, osize)
            return
        _s_drop(ps, k)
    if fl[k] & IN_Q:
        _q_del(ps, k, size)


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    sn, fl, q = ps[1], ps[6], ps[8]
    if q[_Q + COUNT] > 0:
        return int(q[_Q + OLDEST])
    k = q[_S + OLDEST]
    while k >= 0:
        if fl[k] & LIR:
            return int(k)
        k = sn[k]
    return -1
