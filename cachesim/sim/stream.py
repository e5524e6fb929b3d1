"""Streaming replay: traces that do not fit in memory, read chunk by chunk.

``simulate_stream(source, capacity, policy, ...)`` gives the same
:class:`~cachesim.sim.result.SimulationResult` as
:func:`~cachesim.sim.engine.simulate` on the loaded trace, while holding one
chunk of requests at a time: memory is the cache (and, for string keys, the
names seen) plus one chunk, never the trace.  ``source`` is a trace path (read
with :func:`~cachesim.sim.traces.iter_trace`; ``read=`` passes its options),
a :class:`~cachesim.sim.workload.Workload`, or any iterable of Workload
chunks (for example a generator that produces requests on the fly).

:func:`~cachesim.sim.mrc.miss_ratio_curve` streams the same way when given a
path or an iterable of chunks.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cachesim.policies import MISSING, make_store, resolve_policy
from cachesim.sim.result import SimulationResult
from cachesim.sim.workload import OP_GET, OP_SET, Workload

__all__ = ["Source", "chunks_of", "simulate_stream"]

#: What the streaming functions accept: a trace path, a Workload or an iterable of chunks.
Source = str | os.PathLike[str] | Workload | Iterable[Workload]

#: Requests per chunk when a source is read from disk.
DEFAULT_CHUNK = 1 << 20


def chunks_of(
    source: Source, read: Mapping[str, Any] | None = None, *, keys_only: bool = False
) -> Iterator[Workload]:
    """The chunks of ``source``: a trace path (via ``iter_trace(path, **read)``), a Workload
    (itself, as one chunk) or an iterable of Workload chunks (as they come).
    """
    if isinstance(source, Workload):
        yield source
        return
    if isinstance(source, str | os.PathLike):
        from cachesim.sim.traces import iter_trace

        options = {"chunk_size": DEFAULT_CHUNK, **(read or {})}
        if keys_only:
            options.setdefault("keys_only", True)
        yield from iter_trace(Path(source), **options)
        return
    if read:
        raise ValueError("read= options apply to a trace path, not to chunks already read")
    for chunk in source:
        if not isinstance(chunk, Workload):
            raise TypeError(f"a stream yields Workload chunks, got {type(chunk).__name__}")
        yield chunk


def source_name(source: Source) -> str:
    """A label for ``source`` (the file name, the workload name or ``"stream"``)."""
    if isinstance(source, Workload):
        return source.name
    if isinstance(source, str | os.PathLike):
        return Path(source).name
    return "stream"


class StoreReplay:
    """One policy store fed chunk after chunk (the state survives between chunks).

    Keys are the chunk's int64 ids, which :func:`~cachesim.sim.traces.iter_trace`
    keeps consistent across chunks; a chunk's ``positions`` (the global index of
    each request) decide the warm-up.
    """

    def __init__(
        self,
        capacity: int | None,
        policy: str,
        ttl: float | None,
        *,
        unit: Literal["objects", "bytes"] = "objects",
        warmup: int = 0,
        **options: Any,
    ) -> None:
        if unit not in ("objects", "bytes"):
            raise ValueError(f"unit must be 'objects' or 'bytes', got {unit!r}")
        self.policy = resolve_policy(policy)
        self.store = make_store(self.policy, capacity, **options)
        self.capacity = capacity
        self.ttl = ttl
        self.default_ttl = math.inf if ttl is None else float(ttl)
        self.unit = unit
        self.warmup = int(warmup)
        self.seen = 0
        self.counters = np.zeros(9, dtype=np.int64)  # as the engine's kernels
        self.seconds = 0.0
        self._ev0 = 0
        self._ex0 = 0

    def update(self, chunk: Workload, select: np.ndarray | None = None) -> None:
        """Replay ``chunk`` (or its requests where ``select`` is True)."""
        started = time.perf_counter()
        n = len(chunk)
        positions = np.arange(self.seen, self.seen + n, dtype=np.int64)
        if select is not None:
            chunk = chunk[select]
            positions = positions[select]
        self.seen += n
        if len(chunk) == 0:
            return
        cut = int(np.searchsorted(positions, self.warmup))
        if cut:
            self._run(chunk, positions, 0, cut, counted=False)
        if cut < len(chunk):
            self._run(chunk, positions, cut, len(chunk), counted=True)
        self.seconds += time.perf_counter() - started

    _started = False

    def _run(
        self, chunk: Workload, positions: np.ndarray, start: int, stop: int, *, counted: bool
    ) -> None:
        if counted and not self._started:  # evictions and expirations count from here
            self._started = True
            self._ev0 = self.store.evictions
            self._ex0 = self.store.expirations
        store = self.store
        keys = chunk.key[start:stop].tolist()
        count = stop - start
        clock = chunk.time if chunk.time is not None else positions.astype(np.float64)
        times = clock[start:stop].tolist()
        ops = chunk.op[start:stop].tolist() if chunk.op is not None else None
        use_sizes = self.unit == "bytes" and chunk.size is not None
        sizes = chunk.size[start:stop].tolist() if use_sizes and chunk.size is not None else None
        ttls = chunk.ttl[start:stop].tolist() if chunk.ttl is not None else None
        get, put, delete, missing = store.get, store.put, store.delete, MISSING
        inf, default_ttl = math.inf, self.default_ttl
        hits = misses = writes = deletes = b_req = b_hit = 0
        for j in range(count):
            k = keys[j]
            op = ops[j] if ops is not None else OP_GET
            now = times[j]
            s = sizes[j] if sizes is not None else 1
            if op == OP_GET:
                b_req += s
                if get(k, now) is not missing:
                    hits += 1
                    b_hit += s
                    continue
                misses += 1
            elif op == OP_SET:
                writes += 1
            else:
                deletes += 1
                delete(k)
                continue
            t = ttls[j] if ttls is not None else default_ttl
            if t != t:  # NaN: the default
                t = default_ttl
            put(k, True, now + t if t < inf else None, now, s)
        if counted:
            self.counters += np.array(
                [hits, misses, 0, 0, writes, deletes, b_req, b_hit, hits + misses],
                dtype=np.int64,
            )

    def result(self, workload_name: str = "") -> SimulationResult:
        """The counts so far, as :func:`~cachesim.sim.engine.simulate` reports them."""
        hits, misses, _, _, writes, deletes, b_req, b_hit, reads = (int(c) for c in self.counters)
        if self._started:
            evictions = self.store.evictions - self._ev0
            expirations = self.store.expirations - self._ex0
        else:
            evictions = expirations = 0
        return SimulationResult(
            policy=self.policy,
            capacity=self.capacity,
            ttl=self.ttl,
            requests=reads,
            hits=hits,
            misses=misses,
            expirations=expirations,
            evictions=evictions,
            warmup=min(self.warmup, self.seen),
            seconds=self.seconds,
            writes=writes,
            deletes=deletes,
            bytes_requested=b_req,
            bytes_hit=b_hit,
            unit=self.unit,
            workload=workload_name,
            engine="stream",
        )


def simulate_stream(
    source: Source,
    capacity: int | None = None,
    policy: str = "lru",
    ttl: float | None = None,
    *,
    warmup: int = 0,
    unit: Literal["objects", "bytes"] = "objects",
    read: Mapping[str, Any] | None = None,
    **options: Any,
) -> SimulationResult:
    """Replay a trace chunk by chunk; memory is the cache plus one chunk, not the trace.

    Same semantics and counts as :func:`~cachesim.sim.engine.simulate`
    (capacities are absolute here: a share of the working set would need the
    whole trace first; ``warmup`` is a request count).  ``read`` holds
    :func:`~cachesim.sim.traces.iter_trace` options for a path (``format``,
    ``chunk_size``, ``key_col`` ...).  Offline policies (``opt``) need the
    future and cannot stream.
    """
    if policy.lower() in ("opt", "belady", "optimal", "clairvoyant"):
        raise ValueError("opt needs the whole future of the trace; load it and use simulate()")
    if isinstance(capacity, float) and not float(capacity).is_integer():
        raise ValueError("a streamed replay needs an absolute capacity (entries or bytes)")
    if isinstance(warmup, float) and not float(warmup).is_integer():
        raise ValueError("a streamed replay needs warmup as a request count")
    if ttl is not None and not ttl > 0:
        raise ValueError(f"ttl must be positive seconds or None, got {ttl!r}")
    replay = StoreReplay(
        None if capacity is None else int(capacity),
        policy,
        ttl,
        unit=unit,
        warmup=int(warmup),
        **options,
    )
    for chunk in chunks_of(source, read):
        replay.update(chunk)
    return replay.result(source_name(source))
