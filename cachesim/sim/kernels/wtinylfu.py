"""W-TinyLFU kernel: the compiled mirror of :class:`cachesim.policies.WTinyLFUStore`.

Segments: window (queue slot 0), probation (4) and protected (8) share the link
arrays; ``seg[k]`` says which holds key ``k`` (-1: none).  The frequency sketch
is :class:`cachesim.policies.sketch.FrequencySketch` over arrays: four rows of
``width`` 4-bit counters (one byte each) laid out one after another in
``rows``, the same SplitMix64 hashing of the key id, the same halving every
``sample_size`` additions, and the optional doorkeeper (a Bloom filter of
``8 * width`` bits in ``door``).  The sketch is re-sized once, when the cache
first fills, to the number of entries it then holds, as the store does: the
per-key ``rows`` and ``door`` arrays (32 and 8 bytes per key id) are always
large enough for that.  The candidates leaving the window for a new entry are
queued in ``cand`` (``is_cand`` marks those still in the cache).  ``access``
counts every read and write in the sketch and runs the hill climber.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._state import Array
from cachesim.sim.kernels.lists import (
    COUNT,
    NEWEST,
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
    Array("seg", np.int8, -1),
    Array("is_cand", np.uint8, 0),
    Array("cand", np.int64, -1, extra=1),
    Array("rows", np.uint8, 0, scale=32, extra=256),
    Array("door", np.uint8, 0, scale=8, extra=64),
    Array("q", np.int64, -1, per_key=False, length=12),
    Array("conf", np.int64, 0, per_key=False, length=16),
    Array("fconf", np.float64, 0.0, per_key=False, length=4),
)

_W, _PROB, _PROT = 0, 4, 8
# conf: sketch width, sample size, additions, doorkeeper on, sized yet, entries the sketch
# is sized for, entries cached, fixed sample size (0: 10 x entries), total capacity,
# window capacity, main capacity, protected capacity, candidate head, candidate count,
# adaptive, reads in the climber's sample
(
    _WIDTH,
    _SAMPLE,
    _ADDS,
    _DOOR,
    _SIZED,
    _ENTRIES,
    _COUNT,
    _FIXED_SAMPLE,
    _TOTAL,
    _WCAP,
    _MCAP,
    _PCAP,
    _CHEAD,
    _CN,
    _ADAPTIVE,
    _SREQ,
) = range(16)
# fconf: protected share, climber step, previous hit rate, hits in the climber's sample
_PSHARE, _STEP, _PREV, _SHITS = range(4)

_MAX_ENTRIES = 1 << 22
STEP_PERCENT = 0.0625
STEP_DECAY = 0.98
RESTART_THRESHOLD = 0.05


def _pow2_at_least(n: int) -> int:
    size = 1
    while size < n:
        size <<= 1
    return size


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """Segment sizes, sketch geometry and climber state from the reference store."""
    state["q"][:] = queues(3)
    sketch = store.sketch
    width = sketch.width
    state["rows"] = np.zeros(max(len(state["rows"]), 4 * width), dtype=np.uint8)
    state["door"] = np.zeros(max(len(state["door"]), width), dtype=np.uint8)
    conf = state["conf"]
    conf[_WIDTH] = width
    conf[_SAMPLE] = sketch.sample_size
    conf[_ADDS] = 0
    conf[_DOOR] = int(sketch.doorkeeper is not None)
    conf[_SIZED] = int(store._sized)
    conf[_ENTRIES] = store.sketch_entries
    conf[_COUNT] = 0
    conf[_FIXED_SAMPLE] = store._sample_size or 0
    conf[_TOTAL] = store._total
    conf[_WCAP] = store.window_capacity
    conf[_MCAP] = store.main_capacity
    conf[_PCAP] = store.protected_capacity
    conf[_CHEAD] = 0
    conf[_CN] = 0
    conf[_ADAPTIVE] = int(store.adaptive)
    conf[_SREQ] = 0
    state["fconf"][:] = (store.protected_share, store._step, store._previous_rate, 0.0)


# -- the sketch ---------------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@jit
def _mix(x: Any) -> Any:
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


@jit
def _index(h: Any, h2: Any, i: int, width: int, bits: int) -> int:
    mask = np.uint64(width - 1)
    if bits <= 16:
        return int((h >> np.uint64(16 * i)) & mask)
    if i == 0:
        return int(h & mask)
    if i == 1:
        return int((h >> np.uint64(32)) & mask)
    if i == 2:
        return int(h2 & mask)
    return int((h2 >> np.uint64(32)) & mask)


@jit
def _bits(width: int) -> int:
    b = 0
    while (1 << b) < width:
        b += 1
    return b


@jit
def _door_add(door: Any, width: int, h: Any) -> bool:
    # doorkeeper: 8 * width bits, four probes; returns whether the key was there
    mask = np.uint64(8 * width - 1)
    h1 = h & np.uint64(0xFFFFFFFF)
    h2 = (h >> np.uint64(32)) | np.uint64(1)
    present = True
    for i in range(4):
        p = int((h1 + np.uint64(i) * h2) & mask)
        byte = p >> 3
        bit = 1 << (p & 7)
        if not door[byte] & bit:
            present = False
            door[byte] |= bit
    return present


@jit
def _door_has(door: Any, width: int, h: Any) -> bool:
    mask = np.uint64(8 * width - 1)
    h1 = h & np.uint64(0xFFFFFFFF)
    h2 = (h >> np.uint64(32)) | np.uint64(1)
    for i in range(4):
        p = int((h1 + np.uint64(i) * h2) & mask)
        if not door[p >> 3] & (1 << (p & 7)):
            return False
    return True


@jit
def _frequency(ps: Any, k: int) -> int:
    rows, door, conf = ps[5], ps[6], ps[8]
    width = conf[_WIDTH]
    bits = _bits(width)
    h = _mix(np.uint64(k))
    h2 = _mix(h) if bits > 16 else h
    count = 15
    for i in range(4):
        c = rows[i * width + _index(h, h2, i, width, bits)]
        if c < count:
            count = c
    if conf[_DOOR] and _door_has(door, width, h):
        count += 1
    return int(count)


@jit
def _record(ps: Any, k: int) -> None:
    rows, door, conf = ps[5], ps[6], ps[8]
    width = conf[_WIDTH]
    h = _mix(np.uint64(k))
    if not conf[_DOOR] or _door_add(door, width, h):
        bits = _bits(width)
        h2 = _mix(h) if bits > 16 else h
        for i in range(4):
            j = i * width + _index(h, h2, i, width, bits)
            if rows[j] < 15:
                rows[j] += 1
    conf[_ADDS] += 1
    if conf[_ADDS] >= conf[_SAMPLE]:  # age: halve every counter, clear the doorkeeper
        for j in range(4 * width):
            rows[j] >>= 1
        if conf[_DOOR]:
            for j in range(width):
                door[j] = 0
        conf[_ADDS] //= 2


@jit
def _new_sketch(ps: Any, entries: int) -> None:
    rows, door, conf = ps[5], ps[6], ps[8]
    entries = max(1, min(entries, _MAX_ENTRIES))
    conf[_ENTRIES] = entries
    width = 16
    while width < 4 * entries:
        width <<= 1
    conf[_WIDTH] = width
    conf[_SAMPLE] = conf[_FIXED_SAMPLE] if conf[_FIXED_SAMPLE] > 0 else 10 * entries
    conf[_ADDS] = 0
    for j in range(4 * width):
        rows[j] = 0
    for j in range(width):
        door[j] = 0


# -- segments -----------------------------------------------------------------------------


@jit
def _move(ps: Any, osize: Any, k: int, to: int) -> None:
    older, newer, seg, q = ps[0], ps[1], ps[2], ps[7]
    size = osize[k]
    q_unlink(older, newer, q, 4 * seg[k], k, size)
    q_push(older, newer, q, 4 * to, k, size)
    seg[k] = to


@jit
def _trim_protected(ps: Any, osize: Any) -> None:
    q, conf = ps[7], ps[8]
    while q[_PROT + COUNT] > 0 and q[_PROT + USED] > conf[_PCAP]:
        _move(ps, osize, int(q[_PROT + OLDEST]), 1)


@jit
def _push_oldest(older: Any, newer: Any, q: Any, b: int, k: int, s: int) -> None:
    last = q[b + OLDEST]
    newer[k] = last
    older[k] = -1
    if last >= 0:
        older[last] = k
    else:
        q[b + NEWEST] = k
    q[b + OLDEST] = k
    q[b + USED] += s
    q[b + COUNT] += 1


@jit
def _set_window(ps: Any, window_capacity: int) -> None:
    conf, fconf = ps[8], ps[9]
    total = conf[_TOTAL]
    window_capacity = max(0, min(window_capacity, total))
    conf[_WCAP] = window_capacity
    conf[_MCAP] = total - window_capacity
    conf[_PCAP] = int(conf[_MCAP] * fconf[_PSHARE])


@jit
def _resize_window(ps: Any, osize: Any, delta: int) -> None:
    older, newer, seg, q, conf = ps[0], ps[1], ps[2], ps[7], ps[8]
    if delta == 0:
        return
    _set_window(ps, conf[_WCAP] + delta)
    if delta > 0:  # the main cache's least recently used entries join the window
        for b in (_PROB, _PROT):
            while q[b + COUNT] > 0 and q[_W + USED] < conf[_WCAP]:
                k = int(q[b + OLDEST])
                size = osize[k]
                if q[_W + USED] + size > conf[_WCAP]:
                    break
                q_unlink(older, newer, q, b, k, size)
                _push_oldest(older, newer, q, _W, k, size)
                seg[k] = 0
    else:
        while q[_W + COUNT] > 0 and q[_W + USED] > conf[_WCAP]:
            _move(ps, osize, int(q[_W + OLDEST]), 1)
    _trim_protected(ps, osize)


@jit
def _climb(ps: Any, osize: Any) -> None:
    conf, fconf = ps[8], ps[9]
    rate = fconf[_SHITS] / conf[_SREQ]
    change = rate - fconf[_PREV]
    step = fconf[_STEP]
    amount = step if change >= 0 else -step
    if abs(change) >= RESTART_THRESHOLD:
        fconf[_STEP] = STEP_PERCENT * conf[_TOTAL] * (1 if amount >= 0 else -1)
    else:
        fconf[_STEP] = STEP_DECAY * amount
    fconf[_PREV] = rate
    fconf[_SHITS] = 0.0
    conf[_SREQ] = 0
    _resize_window(ps, osize, int(amount))


# -- hooks --------------------------------------------------------------------------------


@jit
def access(ps: Any, osize: Any, k: int, op: int, hit: bool) -> None:
    conf, fconf = ps[8], ps[9]
    _record(ps, k)
    if op == 0 and conf[_ADAPTIVE]:
        conf[_SREQ] += 1
        if hit:
            fconf[_SHITS] += 1.0
        if conf[_SREQ] >= conf[_SAMPLE]:
            _climb(ps, osize)


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    older, newer, seg, q = ps[0], ps[1], ps[2], ps[7]
    where = seg[k]
    if where == 1:
        _move(ps, osize, k, 2)
        _trim_protected(ps, osize)
    else:
        q_move_to_newest(older, newer, q, 4 * where, k)


@jit
def _clear_candidates(ps: Any) -> None:
    is_cand, cand, conf = ps[3], ps[4], ps[8]
    for i in range(conf[_CHEAD], conf[_CN]):
        is_cand[cand[i]] = 0
    conf[_CHEAD] = 0
    conf[_CN] = 0


@jit
def admit(ps: Any, osize: Any, k: int, s: int) -> bool:
    is_cand, cand, q, conf = ps[3], ps[4], ps[7], ps[8]
    _clear_candidates(ps)
    while q[_W + COUNT] > 0 and q[_W + USED] + s > conf[_WCAP]:
        c = int(q[_W + OLDEST])
        _move(ps, osize, c, 1)
        cand[conf[_CN]] = c
        conf[_CN] += 1
        is_cand[c] = 1
    return True


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    older, newer, seg, q, conf = ps[0], ps[1], ps[2], ps[7], ps[8]
    q_push(older, newer, q, _W, k, s)
    seg[k] = 0
    conf[_COUNT] += 1
    _clear_candidates(ps)
    return True


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    older, newer, seg, is_cand, q, conf = ps[0], ps[1], ps[2], ps[3], ps[7], ps[8]
    q_unlink(older, newer, q, 4 * seg[k], k, osize[k])
    seg[k] = -1
    conf[_COUNT] -= 1
    is_cand[k] = 0


@jit
def _peek(q: Any) -> int:
    for b in (_PROB, _PROT, _W):
        if q[b + COUNT] > 0:
            return int(q[b + OLDEST])
    return -1


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    is_cand, cand, q, conf = ps[3], ps[4], ps[7], ps[8]
    if not conf[_SIZED]:  # the cache is full for the first time: size the sketch
        conf[_SIZED] = 1
        if conf[_COUNT] != conf[_ENTRIES]:
            _new_sketch(ps, int(conf[_COUNT]))
    v = _peek(q)
    head = conf[_CHEAD]
    while head < conf[_CN] and not is_cand[cand[head]]:
        head += 1
    conf[_CHEAD] = head
    if head < conf[_CN]:
        c = int(cand[head])
        if v != c and _frequency(ps, c) <= _frequency(ps, v):
            return c
    return v
