"""Redis approximated-LRU kernel: the mirror of :class:`cachesim.policies.RedisLRUStore`.

Keys are sampled from a compact slot array (as the Random kernel does, same
draws) into a pool sorted by (last access, insertion serial).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._rng import below
from cachesim.sim.kernels._state import Array

_POOL = 64  # largest pool_size the kernel holds (Redis uses 16)

STATE = (
    Array("slot_of", np.int64, -1),
    Array("slots", np.int64, -1),
    Array("access", np.int64, 0),
    Array("pool_seen", np.int64, 0, per_key=False, length=_POOL + 1),
    Array("pool_serial", np.int64, 0, per_key=False, length=_POOL + 1),
    Array("pool_key", np.int64, -1, per_key=False, length=_POOL + 1),
    # cached keys, clock, pool entries, serial, samples, pool size
    Array("meta", np.int64, 0, per_key=False, length=6),
    Array("rng", np.uint64, 0, per_key=False, length=1),
)

_N, _CLOCK, _POOL_N, _SERIAL, _SAMPLES, _POOL_SIZE = range(6)


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """Samples, pool size and generator from the reference store."""
    if store.pool_size > _POOL:
        raise ValueError(f"the compiled redis-lru holds pools of up to {_POOL} keys")
    state["meta"][:] = (0, 0, 0, 0, store.samples, store.pool_size)
    state["rng"][0] = store._rng.state


@jit
def _touch(ps: Any, k: int) -> None:
    access, meta = ps[2], ps[6]
    meta[_CLOCK] += 1
    access[k] = meta[_CLOCK]


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    slot_of, slots, meta = ps[0], ps[1], ps[6]
    slot_of[k] = meta[_N]
    slots[meta[_N]] = k
    meta[_N] += 1
    _touch(ps, k)
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    _touch(ps, k)


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    slot_of, slots, meta = ps[0], ps[1], ps[6]
    i = slot_of[k]
    slot_of[k] = -1
    meta[_N] -= 1
    last = slots[meta[_N]]
    if i < meta[_N]:
        slots[i] = last
        slot_of[last] = i


@jit
def _populate(ps: Any) -> None:
    _slot_of, slots, access, seen_a, serial_a, key_a, meta, rng = ps
    size = meta[_POOL_SIZE]
    for _ in range(meta[_SAMPLES]):
        k = slots[below(rng, meta[_N])]
        seen = access[k]
        n = meta[_POOL_N]
        if n >= size and seen >= seen_a[n - 1]:
            continue  # not older than anything in a full pool
        meta[_SERIAL] += 1
        pos = n
        while pos > 0 and seen_a[pos - 1] > seen:
            seen_a[pos] = seen_a[pos - 1]
            serial_a[pos] = serial_a[pos - 1]
            key_a[pos] = key_a[pos - 1]
            pos -= 1
        seen_a[pos] = seen
        serial_a[pos] = meta[_SERIAL]
        key_a[pos] = k
        n += 1
        if n > size:
            n -= 1  # drop the most recently used candidate
        meta[_POOL_N] = n


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    slot_of, key_a, meta = ps[0], ps[5], ps[6]
    seen_a, serial_a = ps[3], ps[4]
    while True:
        _populate(ps)
        while meta[_POOL_N] > 0:
            k = key_a[0]
            n = meta[_POOL_N] - 1
            for i in range(n):
                seen_a[i] = seen_a[i + 1]
                serial_a[i] = serial_a[i + 1]
                key_a[i] = key_a[i + 1]
            meta[_POOL_N] = n
            if slot_of[k] >= 0:  # entries deleted since they were sampled are skipped
                return int(k)
