"""Kernel state: the arrays a compiled replay keeps between chunks, and the key map.

Everything a policy remembers lives in numpy arrays so that a replay can stop
after one chunk of requests and resume with the next.  Arrays indexed by key
id grow as new keys appear; their memory follows the number of distinct keys,
never the number of requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit

__all__ = ["Array", "KeyMap", "allocate", "grow"]


@dataclass(frozen=True)
class Array:
    """One state array of a kernel, declared in the kernel module's ``STATE``.

    ``per_key`` arrays hold ``scale * n_keys + extra`` items and grow with the
    key space, keeping their contents; fixed arrays hold ``length`` items.  New
    items are ``fill``.  A kernel's ``setup`` may replace an array with a
    larger one; growing never shrinks it.
    """

    name: str
    dtype: Any
    fill: float = 0
    per_key: bool = True
    extra: int = 0
    length: int = 1
    scale: int = 1

    def size(self, n_keys: int) -> int:
        """Number of items for a key space of ``n_keys`` ids."""
        return self.scale * n_keys + self.extra if self.per_key else self.length


def allocate(spec: tuple[Array, ...], n_keys: int) -> dict[str, np.ndarray]:
    """Fresh arrays for ``spec`` sized for ``n_keys`` key ids."""
    return {a.name: np.full(a.size(n_keys), a.fill, dtype=a.dtype) for a in spec}


def grow(spec: tuple[Array, ...], arrays: dict[str, np.ndarray], n_keys: int) -> None:
    """Enlarge the per-key arrays of ``arrays`` (in place in the dict) for ``n_keys`` ids."""
    for a in spec:
        if not a.per_key:
            continue
        old = arrays[a.name]
        size = a.size(n_keys)
        if size > len(old):
            new = np.full(size, a.fill, dtype=a.dtype)
            new[: len(old)] = old
            arrays[a.name] = new


# -- raw key -> dense id ----------------------------------------------------------------

_MULT = -7046029254386353131  # 0x9E3779B97F4A7C15 as int64


@jit
def _map_keys(tkeys: Any, tids: Any, n_ids: int, keys: Any, out: Any, start: int) -> Any:
    # open addressing (linear probing), load factor <= 1/2; ids in first-seen order.
    # Returns (ids issued, index reached): stops early when the table must grow.
    bits = 0
    while (1 << bits) < len(tkeys):
        bits += 1
    mask = len(tkeys) - 1
    limit = len(tkeys) >> 1
    for i in range(start, len(keys)):
        k = keys[i]
        h = ((k * _MULT) >> (64 - bits)) & mask
        while True:
            c = tids[h]
            if c < 0:
                if n_ids >= limit:
                    return n_ids, i
                tkeys[h] = k
                tids[h] = n_ids
                c = n_ids
                n_ids += 1
                break
            if tkeys[h] == k:
                break
            h = (h + 1) & mask
        out[i] = c
    return n_ids, len(keys)


@jit
def _rehash(tkeys: Any, tids: Any, nkeys: Any, nids: Any) -> None:
    bits = 0
    while (1 << bits) < len(nkeys):
        bits += 1
    mask = len(nkeys) - 1
    for h in range(len(tkeys)):
        c = tids[h]
        if c < 0:
            continue
        k = tkeys[h]
        g = ((k * _MULT) >> (64 - bits)) & mask
        while nids[g] >= 0:
            g = (g + 1) & mask
        nkeys[g] = k
        nids[g] = c


class KeyMap:
    """Maps int64 keys to dense ids ``0, 1, ...`` in order of first appearance, across chunks.

    The same numbering as :meth:`cachesim.sim.Workload.dense_keys` on the
    concatenated chunks.  Memory: 16 bytes per slot, at most four slots per
    distinct key.
    """

    def __init__(self) -> None:
        self._keys = np.zeros(1 << 10, dtype=np.int64)
        self._ids = np.full(1 << 10, -1, dtype=np.int64)
        self.n_ids = 0

    def codes(self, keys: np.ndarray) -> np.ndarray:
        """Dense ids for ``keys`` (new keys get the next ids)."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        out = np.empty(len(keys), dtype=np.int64)
        start = 0
        while True:
            self.n_ids, start = _map_keys(self._keys, self._ids, self.n_ids, keys, out, start)
            if start >= len(keys):
                return out
            size = 2 * len(self._keys)
            nkeys = np.zeros(size, dtype=np.int64)
            nids = np.full(size, -1, dtype=np.int64)
            _rehash(self._keys, self._ids, nkeys, nids)
            self._keys, self._ids = nkeys, nids

    @property
    def nbytes(self) -> int:
        """Memory held by the table."""
        return int(self._keys.nbytes + self._ids.nbytes)
