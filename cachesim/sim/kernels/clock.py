"""CLOCK kernel: the compiled mirror of :class:`cachesim.policies.ClockStore`."""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._state import Array
from cachesim.sim.kernels.lists import OLDEST, q_move_to_newest, q_push, q_unlink, queues

STATE = (
    Array("older", np.int32, -1),
    Array("newer", np.int32, -1),
    Array("referenced", np.uint8, 0),
    Array("q", np.int64, -1, per_key=False, length=4),
)


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """One empty queue in insertion order."""
    state["q"][:] = queues(1)


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    older, newer, ref, q = ps
    q_push(older, newer, q, 0, k, s)
    ref[k] = 0
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    ps[2][k] = 1


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    older, newer, ref, q = ps
    q_unlink(older, newer, q, 0, k, osize[k])
    ref[k] = 0


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    older, newer, ref, q = ps
    while True:
        k = q[OLDEST]
        if ref[k] == 0:
            return int(k)
        ref[k] = 0
        q_move_to_newest(older, newer, q, 0, k)
