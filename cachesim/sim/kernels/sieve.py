"""SIEVE kernel: the compiled mirror of :class:`cachesim.policies.SieveStore`."""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit
from cachesim.sim.kernels._state import Array
from cachesim.sim.kernels.lists import OLDEST, q_push, q_unlink, queues

STATE = (
    Array("older", np.int32, -1),
    Array("newer", np.int32, -1),
    Array("visited", np.uint8, 0),
    Array("q", np.int64, -1, per_key=False, length=4),
    Array("hand", np.int64, -1, per_key=False, length=1),
)


def setup(state: dict[str, np.ndarray], store: Any) -> None:
    """One empty queue; the hand starts at the oldest entry."""
    state["q"][:] = queues(1)


@jit
def insert(ps: Any, osize: Any, k: int, s: int, nu: int) -> bool:
    older, newer, visited, q, _hand = ps
    q_push(older, newer, q, 0, k, s)
    visited[k] = 0
    return True


@jit
def hit(ps: Any, osize: Any, k: int, nu: int) -> None:
    ps[2][k] = 1


@jit
def remove(ps: Any, osize: Any, k: int) -> None:
    older, newer, visited, q, hand = ps
    if hand[0] == k:
        hand[0] = newer[k]
    q_unlink(older, newer, q, 0, k, osize[k])
    visited[k] = 0


@jit
def victim(ps: Any, osize: Any, s: int) -> int:
    _older, newer, visited, q, hand = ps
    k = hand[0] if hand[0] >= 0 else q[OLDEST]
    while visited[k]:
        visited[k] = 0
        k = newer[k] if newer[k] >= 0 else q[OLDEST]
    hand[0] = newer[k]
    return int(k)
