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

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cachesim.sim.result import SimulationResult
from cachesim.sim.workload import Workload

__all__ = ["ChunkReplay", "Source", "chunks_of", "simulate_stream"]

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


class ChunkReplay:
    """One simulated cache fed chunk after chunk, optionally a sample of each chunk.

    Wraps :class:`~cachesim.sim.engine.Simulation` (compiled kernels when numba
    is installed).  The warm-up counts requests of the whole stream, sampled or
    not: the counters are read when the stream crosses it and subtracted at
    the end, so a sampled replay's warm-up ends at the same request as the full
    trace's.
    """

    def __init__(
        self,
        capacity: int | None,
        policy: str,
        ttl: float | None,
        *,
        unit: Literal["objects", "bytes"] = "objects",
        warmup: int = 0,
        engine: Literal["auto", "numba", "python"] = "auto",
        **options: Any,
    ) -> None:
        from cachesim.sim.engine import Simulation

        self.sim = Simulation(policy, capacity, ttl, unit=unit, engine=engine, **options)
        self.policy = self.sim.policy
        self.warmup = int(warmup)
        self.seen = 0
        self._before: dict[str, int] | None = None if warmup > 0 else {}

    def _feed(self, part: Workload) -> None:
        if len(part):
            self.sim.feed(part)

    def update(self, chunk: Workload, select: np.ndarray | None = None) -> None:
        """Replay ``chunk`` (or its requests where ``select`` is True)."""
        n = len(chunk)
        if select is not None:
            select = np.asarray(select, dtype=bool)
        cut = min(max(self.warmup - self.seen, 0), n)
        if cut:
            head = chunk[:cut]
            self._feed(head if select is None else head[select[:cut]])
        if self._before is None and self.seen + n >= self.warmup:
            self._before = self.sim.counts()
        if cut < n:
            tail = chunk[cut:]
            self._feed(tail if select is None else tail[select[cut:]])
        self.seen += n

    def result(self, workload_name: str = "") -> SimulationResult:
        """The counts after the warm-up, as :func:`~cachesim.sim.engine.simulate` reports them."""
        now = self.sim.counts()
        before = self._before or {}
        c = {name: value - before.get(name, 0) for name, value in now.items()}
        sim = self.sim
        return SimulationResult(
            policy=sim.policy,
            capacity=sim.capacity,
            ttl=sim.ttl,
            requests=c["requests"],
            hits=c["hits"],
            misses=c["misses"],
            expirations=c["expirations"],
            evictions=c["evictions"],
            warmup=min(self.warmup, self.seen),
            seconds=sim.seconds,
            writes=c["writes"],
            deletes=c["deletes"],
            bytes_requested=c["bytes_requested"],
            bytes_hit=c["bytes_hit"],
            unit=sim.unit,
            workload=workload_name or sim.name,
            engine=sim.engine,
            inserts=c.get("inserts", 0),
            rejections=c.get("rejections", 0),
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
    engine: Literal["auto", "numba", "python"] = "auto",
    **options: Any,
) -> SimulationResult:
    """Replay a trace chunk by chunk; memory is the cache plus one chunk, not the trace.

    :func:`~cachesim.sim.engine.simulate` over ``iter_trace(path, **read)``:
    the same semantics and counts as on the loaded trace (capacities are
    absolute here: a share of the working set would need the whole trace
    first; ``warmup`` is a request count).  ``read`` holds
    :func:`~cachesim.sim.traces.iter_trace` options for a path (``format``,
    ``chunk_size``, ``key_col`` ...).  Offline policies (``opt``) need the
    future and cannot stream.
    """
    from cachesim.sim.engine import simulate

    if isinstance(source, Workload):
        source = [source]
    return simulate(
        chunks_of(source, read),
        capacity,
        policy,
        ttl,
        warmup=warmup,
        unit=unit,
        engine=engine,
        **options,
    )
