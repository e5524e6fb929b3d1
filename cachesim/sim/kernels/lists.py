"""Doubly linked queues over key-id arrays, for the policy kernels.

Links live in two int32 arrays indexed by key id, ``older`` and ``newer``
(-1: none); a key is in at most one queue at a time, so several queues of a
policy (S3-FIFO's small/main/ghost, ARC's T1/T2/B1/B2) share them.  Queue
``b`` is described by four int64 slots of an array ``q`` starting at ``b``:
newest key, oldest key, total size, number of keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit

__all__ = ["COUNT", "NEWEST", "OLDEST", "USED", "q_move_to_newest", "q_push", "q_unlink", "queues"]

NEWEST, OLDEST, USED, COUNT = 0, 1, 2, 3


def queues(n: int) -> np.ndarray:
    """Descriptors of ``n`` empty queues (queue ``i`` starts at slot ``4 * i``)."""
    q = np.zeros(4 * n, dtype=np.int64)
    q[0::4] = -1
    q[1::4] = -1
    return q


@jit
def q_push(older: Any, newer: Any, q: Any, b: int, k: int, s: int) -> None:
    """Add key ``k`` of size ``s`` as the newest of queue ``b``."""
    first = q[b]
    older[k] = first
    newer[k] = -1
    if first >= 0:
        newer[first] = k
    else:
        q[b + 1] = k
    q[b] = k
    q[b + 2] += s
    q[b + 3] += 1


@jit
def q_unlink(older: Any, newer: Any, q: Any, b: int, k: int, s: int) -> None:
    """Take key ``k`` of size ``s`` out of queue ``b``."""
    o = older[k]
    n = newer[k]
    if o >= 0:
        newer[o] = n
    else:
        q[b + 1] = n
    if n >= 0:
        older[n] = o
    else:
        q[b] = o
    older[k] = -1
    newer[k] = -1
    q[b + 2] -= s
    q[b + 3] -= 1


@jit
def q_move_to_newest(older: Any, newer: Any, q: Any, b: int, k: int) -> None:
    """Make ``k`` (already in queue ``b``) its newest key."""
    if q[b] == k:
        return
    o = older[k]
    n = newer[k]
    if o >= 0:
        newer[o] = n
    else:
        q[b + 1] = n
    older[n] = o  # n >= 0: k is not the newest
    first = q[b]
    older[k] = first
    newer[k] = -1
    newer[first] = k
    q[b] = k
