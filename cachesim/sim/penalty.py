"""Miss penalties: what each miss costs (latency, money), summed from per-request outcomes.

Caffeine's simulator reports a weighted hit rate and average penalties from
per-request hit and miss penalties; :func:`penalty_totals` does the same for
:func:`cachesim.sim.simulate`.  A penalty is a number (every read costs the
same), an array with one value per request of the workload, or a function of
the request sizes (``lambda size: 0.2 + size / 12.5e6`` for a fixed round trip
plus transfer time) returning one value per request.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["Penalty", "penalty_totals", "resolve_penalty"]

#: A per-read penalty: a number, one value per request, or a function of the sizes.
Penalty = float | np.ndarray | Callable[[np.ndarray], np.ndarray]


def resolve_penalty(penalty: Penalty, n: int, sizes: np.ndarray | None) -> np.ndarray:
    """``penalty`` as a float64 array of ``n`` values (sizes default to 1 for a function)."""
    if callable(penalty):
        size_arr = sizes if sizes is not None else np.ones(n, dtype=np.int64)
        values = np.asarray(penalty(np.asarray(size_arr)), dtype=np.float64)
        if values.ndim == 0:
            values = np.full(n, float(values))
    elif np.ndim(penalty) == 0:
        values = np.full(n, float(penalty))
    else:
        values = np.asarray(penalty, dtype=np.float64)
    if values.shape != (n,):
        raise ValueError(
            f"a penalty needs one value per request ({n}), got shape {values.shape}; "
            "pass a number, an array as long as the workload or a function of the sizes"
        )
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("penalties must be finite and >= 0")
    return values


def penalty_totals(
    flags: np.ndarray,
    warmup: int,
    miss_penalty: Penalty | None,
    hit_penalty: Penalty | None,
    sizes: np.ndarray | None,
) -> tuple[float, float, float]:
    """``(requested, missed, hit)``: summed miss penalty of all counted reads, of the
    missed ones, and the summed hit penalty of the hits (flags: 1 hit, 0 miss, 2 other)."""
    n = len(flags)
    counted = np.arange(n) >= warmup
    hits = (flags == 1) & counted
    misses = (flags == 0) & counted
    requested = missed = hit = 0.0
    if miss_penalty is not None:
        values = resolve_penalty(miss_penalty, n, sizes)
        requested = float(values[hits | misses].sum())
        missed = float(values[misses].sum())
    if hit_penalty is not None:
        hit = float(resolve_penalty(hit_penalty, n, sizes)[hits].sum())
    return requested, missed, hit
