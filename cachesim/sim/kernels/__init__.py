"""Compiled policy kernels: one small module of numba hooks per policy, one shared loop.

A kernel module ``cachesim.sim.kernels.<name>`` (``-`` in a policy name
becomes ``_``) mirrors the store class registered under the same name in
:data:`cachesim.policies.POLICIES` (or :data:`cachesim.policies.OFFLINE`).
It declares:

* ``STATE``: a tuple of :class:`Array` -- the policy's arrays, passed to every
  hook as the tuple ``ps`` in this order.  Per-key arrays grow with the key
  space; fixed ones hold scalars and pools.
* ``setup(state, store)`` (optional): fill the fresh arrays from ``store``, the
  reference store built with the same capacity and options (so option checks
  and derived sizes exist once).
* the hooks ``admit``, ``insert``, ``hit``, ``update``, ``remove``, ``victim``
  (see :mod:`cachesim.sim.kernels._driver`); missing ones default to no-ops
  (``update`` defaults to ``hit``).

:func:`replay_for` compiles the shared loop with those hooks.  ``tests/sim``
replays random workloads (TTLs, writes, deletes, sizes) through every kernel
and its store and requires identical counts and per-request outcomes.
"""

from __future__ import annotations

import importlib
import types
from typing import Any

from cachesim.sim._kernels import HAVE_NUMBA
from cachesim.sim.kernels._driver import N_COUNTERS, NEVER, build_replay, jit
from cachesim.sim.kernels._state import Array, KeyMap, allocate, grow

__all__ = [
    "HAVE_NUMBA",
    "NEVER",
    "N_COUNTERS",
    "Array",
    "KeyMap",
    "allocate",
    "grow",
    "has_kernel",
    "jit",
    "kernel_module",
    "replay_for",
]

_replays: dict[tuple[str, str], Any] = {}

#: Policy names that are not module names.
_MODULES = {"2q": "twoq"}


def kernel_module(policy: str) -> types.ModuleType:
    """The kernel module of a registered policy name; ``KeyError`` if it has none."""
    module_name = f"{__name__}.{_MODULES.get(policy, policy).replace('-', '_')}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise KeyError(policy) from None
    if not hasattr(module, "STATE"):
        raise KeyError(policy)
    return module


def has_kernel(policy: str) -> bool:
    """Whether ``policy`` has a compiled kernel (numba must also be installed to use it)."""
    try:
        kernel_module(policy)
    except KeyError:
        return False
    return True


def replay_for(policy: types.ModuleType, admission: types.ModuleType | None = None) -> Any:
    """The compiled replay loop for a kernel module (and admission filter module), memoised."""
    key = (policy.__name__, admission.__name__ if admission is not None else "")
    func = _replays.get(key)
    if func is None:
        func = _replays[key] = build_replay(policy, admission)
    return func
