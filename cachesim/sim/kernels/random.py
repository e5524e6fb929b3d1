"""Random kernel: the compiled mirror of :class:`cachesim.policies.RandomStore` (same draws)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._rng import below
from cachesim.sim.kernels._state import Array

STATE = (
    Array("slot_of", np.int64, -1),  # position of each cached key in `slots`
    Array("slots", np.int64, -1),  # cached keys, compact
    Array("n", np.int64, 0, per_key=False, length=1),
    Array("rng", np.uint64, 0, per_key=False, length=1),
)


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """The generator starts where the reference store's does (its ``seed``)."""
    state["rng"][0] = store._rng.state


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    slot_of, slots, n, _rng = ps
    slot_of[k] = n[0]
    slots[n[0]] = k
    n[0] += 1
    return True


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    slot_of, slots, n, _rng = ps
    i = slot_of[k]
    slot_of[k] = -1
    n[0] -= 1
    last = slots[n[0]]
    if i < n[0]:
        slots[i] = last
        slot_of[last] = i


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    _slot_of, slots, n, rng = ps
    return int(slots[below(rng, n[0])])
