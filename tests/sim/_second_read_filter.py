"""A test admission filter with a compiled mirror: store a key from its second read on."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from cachesim.sim.kernels import Array, jit

STATE = (Array("reads", np.int64, 0),)


class SecondRead:
    """Store side: counts reads; admits keys read at least twice."""

    kernel: ClassVar[str] = __name__

    def __init__(self) -> None:
        self.reads: dict[Any, int] = {}

    def record(self, key: Any, size: int) -> None:
        self.reads[key] = self.reads.get(key, 0) + 1

    def admit(self, key: Any, size: int) -> bool:
        return self.reads.get(key, 0) >= 2


@jit
def record(fs: Any, k: int, s: int) -> None:
    fs[0][k] += 1


@jit
def admit(fs: Any, k: int, s: int) -> bool:
    return bool(fs[0][k] >= 2)
