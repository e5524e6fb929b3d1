"""Record the traffic of a running :class:`~cachesim.Cache` as a replayable trace."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cachesim.keys import compile_glob
from cachesim.sim.workload import OP_DELETE, OP_GET, OP_SET, Workload

if TYPE_CHECKING:
    from cachesim.cache import Cache, CacheEvent

__all__ = ["TraceRecorder"]

logger = logging.getLogger("cachesim.sim")


class TraceRecorder:
    """Subscribes to a cache and records every operation it sees as a trace request.

    ``get`` events become reads, ``set`` writes, ``delete`` deletes; an
    ``invalidate`` (pattern) or ``clear`` becomes one delete per key the
    recorder believes is cached and matches.  With ``fold_fills`` (the
    default) a ``set`` that directly follows a missed ``get`` of the same key
    (the fill of a cache-aside read or of ``get_or_set``) is folded into that
    read, giving it the fill's TTL and size, because the simulator fills after
    every miss by itself.  Reads get the size of the key's nearest write.

    ::

        recorder = TraceRecorder(cache)        # starts recording
        ...                                    # traffic
        recorder.close()
        workload = recorder.to_workload()      # or recorder.write("traffic.csv")
        simulate(workload, capacity=10_000, policy="lfu")
    """

    def __init__(
        self,
        cache: Cache | None = None,
        *,
        fold_fills: bool = True,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.fold_fills = fold_fills
        self.path = Path(path) if path is not None else None
        self._time: list[float] = []
        self._key: list[str] = []
        self._op: list[int] = []
        self._size: list[int] = []
        self._ttl: list[float] = []
        self._pending_fill: dict[str, int] = {}
        self._cached: set[str] = set()
        self._unsubscribe: list[object] = []
        self._cache: Cache | None = None
        if cache is not None:
            self.attach(cache)

    # -- subscription ---------------------------------------------------------------
    def attach(self, cache: Cache) -> None:
        """Start recording ``cache``'s operations (one cache per recorder)."""
        if self._cache is not None:
            raise RuntimeError("this recorder is already attached; close() it first")
        self._cache = cache
        self._unsubscribe = [cache.subscribe(self)]

    def close(self) -> None:
        """Stop recording; write the trace to ``path`` if one was given."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()  # type: ignore[operator]
        self._unsubscribe = []
        self._cache = None
        if self.path is not None:
            self.write(self.path)

    def __enter__(self) -> TraceRecorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._key)

    # -- events -----------------------------------------------------------------------
    def __call__(self, event: CacheEvent) -> None:
        """Record one :class:`~cachesim.cache.CacheEvent` (the listener interface)."""
        op, key = event.op, event.key
        if op == "get":
            self._pending_fill.pop(key, None)
            if event.hit:
                self._cached.add(key)
            else:
                self._cached.discard(key)
                if self.fold_fills:
                    self._pending_fill[key] = len(self._key)
            self._append(event.time, key, OP_GET, -1, math.nan)
        elif op == "set":
            ttl = math.inf if event.ttl is None else float(event.ttl)
            size = -1 if event.size is None else int(event.size)
            self._cached.add(key)
            index = self._pending_fill.pop(key, None)
            if index is not None:  # the fill of the miss just recorded
                self._size[index] = size
                self._ttl[index] = ttl
            else:
                self._append(event.time, key, OP_SET, size, ttl)
        elif op == "delete":
            self._pending_fill.pop(key, None)
            self._cached.discard(key)
            self._append(event.time, key, OP_DELETE, -1, math.nan)
        elif op in ("invalidate", "clear"):
            if op == "clear":
                victims = sorted(self._cached)
            else:
                match = compile_glob(key).match
                victims = sorted(k for k in self._cached if match(k.encode("utf-8")))
            for victim in victims:
                self._pending_fill.pop(victim, None)
                self._cached.discard(victim)
                self._append(event.time, victim, OP_DELETE, -1, math.nan)
        else:
            logger.debug("trace recorder ignores cache event %r", op)

    def _append(self, time: float, key: str, op: int, size: int, ttl: float) -> None:
        self._time.append(time)
        self._key.append(key)
        self._op.append(op)
        self._size.append(size)
        self._ttl.append(ttl)

    # -- output -----------------------------------------------------------------------
    def to_workload(self, name: str = "recorded") -> Workload:
        """The recorded requests as a Workload (times start at 0, string keys kept).

        Sizes unknown for a read are taken from the key's nearest write (1 if
        the key was never written); TTLs of reads that were not filled are
        left to the simulation's default (NaN).
        """
        n = len(self._key)
        times = np.asarray(self._time, dtype=np.float64)
        if n:
            times = times - times[0]
        base = Workload.from_keys(np.asarray(self._key, dtype=object))
        sizes = pd.Series(np.asarray(self._size, dtype=np.float64)).where(lambda s: s >= 0)
        by_key = sizes.groupby(base.key)
        sizes = by_key.ffill().fillna(by_key.bfill()).fillna(1)
        return Workload(
            base.key,
            times,
            np.asarray(self._op, dtype=np.uint8),
            sizes.to_numpy(dtype=np.int64),
            np.asarray(self._ttl, dtype=np.float32),
            base.key_names,
            name=name,
        )

    def to_frame(self) -> pd.DataFrame:
        """The recorded requests as a DataFrame (see :meth:`Workload.to_frame`)."""
        return self.to_workload().to_frame()

    def write(self, path: str | os.PathLike[str], format: str | None = None) -> Path:
        """Write the recorded trace (CSV by default, per the extension); returns the path."""
        from cachesim.sim.traces import write_trace

        return write_trace(self.to_workload(name=Path(path).name), path, format)
