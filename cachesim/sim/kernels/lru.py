"""LRU kernel: the compiled mirror of :class:`cachesim.policies.LRUStore`."""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._state import Array
from cachesim.sim.kernels.lists import OLDEST, q_move_to_newest, q_push, q_unlink, queues

STATE = (
    Array("older", np.int32, -1),
    Array("newer", np.int32, -1),
    Array("q", np.int64, -1, per_key=False, length=4),
)


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """One empty queue, newest entry at its head."""
    state["q"][:] = queues(1)


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    older, newer, q = ps
    q_push(older, newer, q, 0, k, s)
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    older, newer, q = ps
    q_move_to_newest(older, newer, q, 0, k)


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    older, newer, q = ps
    q_unlink(older, newer, q, 0, k, osize[k])


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    return int(ps[2][OLDEST])
