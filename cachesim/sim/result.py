"""The outcome of one simulation run."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

__all__ = ["SimulationResult"]


@dataclass
class SimulationResult:
    """Counts from replaying a workload against one policy and capacity.

    ``requests`` counts the reads (gets) after the warm-up; each is a hit or a
    miss.  Writes (sets) and deletes are counted apart in ``writes`` and
    ``deletes`` and never change the hit ratio.  ``expirations`` and
    ``evictions`` count entries that left the cache after the warm-up (expired
    entries found on a read or purged to make room; entries pushed out by the
    policy).  ``warmup`` is the number of leading requests (of any kind) that
    were replayed but not counted.  ``seconds`` is the wall time of the replay.
    ``windows`` (when asked for) has one row per window of the whole trace:
    ``start, end, requests, hits, hit_ratio`` plus ``warmup`` (True for windows
    that end inside the warm-up).  ``inserts`` counts new entries stored and
    ``rejections`` new entries refused (by the policy, an admission filter or
    because they exceed the capacity).

    With an admission policy, ``admitted`` and ``rejected`` count the answers
    of the admission filter alone (``admission_rate``).  With miss or hit
    penalties, ``penalty_requested`` sums the miss penalty of every counted
    read, ``penalty_missed`` that of the missed ones and ``penalty_hit`` the
    hit penalty of the hits (``weighted_hit_ratio``, ``average_miss_penalty``,
    ``average_penalty``).
    """

    policy: str
    capacity: int | None
    ttl: float | None
    requests: int
    hits: int
    misses: int
    expirations: int
    evictions: int
    warmup: int
    seconds: float
    windows: pd.DataFrame | None = None
    writes: int = 0
    deletes: int = 0
    bytes_requested: int = 0
    bytes_hit: int = 0
    unit: str = "objects"
    workload: str = ""
    engine: str = ""
    inserts: int = 0
    rejections: int = 0
    admitted: int | None = None
    rejected: int | None = None
    penalty_requested: float | None = None
    penalty_missed: float | None = None
    penalty_hit: float | None = None

    @property
    def hit_ratio(self) -> float:
        """Hits per counted read (0.0 when nothing was counted)."""
        return self.hits / self.requests if self.requests else 0.0

    @property
    def miss_ratio(self) -> float:
        """Misses per counted read (0.0 when nothing was counted)."""
        return self.misses / self.requests if self.requests else 0.0

    @property
    def byte_hit_ratio(self) -> float:
        """Share of requested bytes served from the cache (sizes default to 1)."""
        return self.bytes_hit / self.bytes_requested if self.bytes_requested else 0.0

    @property
    def admission_rate(self) -> float:
        """Share of new entries the admission policy stored (NaN without one or no attempt)."""
        if self.admitted is None or self.rejected is None:
            return math.nan
        attempts = self.admitted + self.rejected
        return self.admitted / attempts if attempts else math.nan

    @property
    def weighted_hit_ratio(self) -> float:
        """Share of the miss penalty of all reads that hits saved (NaN without ``miss_penalty``)."""
        if self.penalty_requested is None or self.penalty_missed is None:
            return math.nan
        if not self.penalty_requested:
            return 0.0
        return 1.0 - self.penalty_missed / self.penalty_requested

    @property
    def average_miss_penalty(self) -> float:
        """Mean penalty of a missed read (NaN without ``miss_penalty``)."""
        if self.penalty_missed is None:
            return math.nan
        return self.penalty_missed / self.misses if self.misses else 0.0

    @property
    def average_penalty(self) -> float:
        """Mean penalty per read: hit penalties of hits plus miss penalties of misses."""
        if self.penalty_missed is None and self.penalty_hit is None:
            return math.nan
        total = (self.penalty_missed or 0.0) + (self.penalty_hit or 0.0)
        return total / self.requests if self.requests else 0.0

    @property
    def total_requests(self) -> int:
        """Every request replayed: warm-up, reads, writes and deletes."""
        return self.warmup + self.requests + self.writes + self.deletes

    @property
    def requests_per_second(self) -> float:
        """Replay throughput over all replayed requests (0.0 if the run took no time)."""
        return self.total_requests / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Every scalar field plus the ratios and throughput (``windows`` left out)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "windows"}
        out["hit_ratio"] = self.hit_ratio
        out["miss_ratio"] = self.miss_ratio
        out["byte_hit_ratio"] = self.byte_hit_ratio
        out["admission_rate"] = self.admission_rate
        out["weighted_hit_ratio"] = self.weighted_hit_ratio
        out["average_miss_penalty"] = self.average_miss_penalty
        out["average_penalty"] = self.average_penalty
        out["requests_per_second"] = self.requests_per_second
        return out

    def to_frame(self) -> pd.DataFrame:
        """:meth:`as_dict` as a one-row DataFrame (concatenate many for a comparison table)."""
        return pd.DataFrame([self.as_dict()])

    def plot(self, kind: str = "hit_ratio", **options: Any) -> Any:
        """Plot this run: ``hit_ratio`` over time (warm-up marked) or ``origin_load``.

        Returns a matplotlib ``Figure``; options go to :mod:`cachesim.sim.plots`.
        """
        from cachesim.sim import plots

        drawers: dict[str, Callable[..., Any]] = {
            "hit_ratio": plots.plot_hit_ratio_over_time,
            "origin_load": plots.plot_origin_load,
        }
        if kind not in drawers:
            raise ValueError(f"unknown plot kind {kind!r}; choose one of {sorted(drawers)}")
        return drawers[kind](self, **options)

    def __str__(self) -> str:
        cap = "unbounded" if self.capacity is None else f"{self.capacity:,}"
        return (
            f"{self.policy} @ {cap}: hit ratio {self.hit_ratio:.4f} "
            f"({self.hits:,} hits / {self.requests:,} reads), "
            f"{self.evictions:,} evictions, {self.expirations:,} expirations"
        )
