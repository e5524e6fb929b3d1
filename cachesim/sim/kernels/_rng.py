"""SplitMix64 for kernels: the same numbers as :class:`cachesim.policies.SplitMix64`."""

from __future__ import annotations

from typing import Any

import numpy as np

from cachesim.sim.kernels._driver import jit

__all__ = ["below"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_SCALE = 1.0 / 9007199254740992.0


@jit
def below(state: Any, n: int) -> int:
    """A uniform integer in ``[0, n)``; ``state`` is a one-item uint64 array."""
    z = state[0] + _GOLDEN
    state[0] = z
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    return int(float(z >> _S11) * _SCALE * n)
