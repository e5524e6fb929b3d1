"""Cache statistics: counters, latency summaries and a snapshot type."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["CacheStats", "LatencySummary", "LatencyWindow"]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency of one operation over the recent window, in milliseconds."""

    count: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


class LatencyWindow:
    """The last ``size`` latencies of one operation (seconds), summarised on demand."""

    __slots__ = ("_samples", "total")

    def __init__(self, size: int = 4096) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self.total = 0

    def add(self, seconds: float) -> None:
        """Record one sample."""
        self._samples.append(seconds)
        self.total += 1

    def clear(self) -> None:
        """Forget every sample."""
        self._samples.clear()
        self.total = 0

    def summary(self) -> LatencySummary | None:
        """Percentiles (nearest rank) of the window, or None when empty."""
        if not self._samples:
            return None
        ordered = sorted(self._samples)
        n = len(ordered)

        def pick(q: float) -> float:
            return ordered[min(n - 1, max(0, int(q * n + 0.999999) - 1))] * 1000.0

        return LatencySummary(
            count=self.total,
            mean_ms=sum(ordered) / n * 1000.0,
            p50_ms=pick(0.50),
            p95_ms=pick(0.95),
            p99_ms=pick(0.99),
            max_ms=ordered[-1] * 1000.0,
        )


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of one :class:`~cachesim.Cache`'s counters.

    ``keys`` is the number of live entries in the namespace when the provider can
    count them (else None).  ``errors`` and ``timeouts`` count backend failures
    that the cache absorbed; ``short_circuited`` counts calls skipped while the
    circuit breaker was open; ``decode_errors`` counts stored entries that could not
    be read back (foreign or corrupt text), each served as a miss.

    Freshness counters (entries with ``EntryOptions``; docs/cache.md): ``stale_served``
    reads answered with a value past its expiry (grace, fail-safe, timeouts);
    ``fail_safe_activations`` failures answered with the last good value;
    ``background_refreshes`` factory runs in the background; ``early_recomputes`` those
    started before expiry (eager refresh, XFetch); ``lock_waits`` fills that found the
    distributed lock taken and waited; ``lock_timeouts`` waits that gave up.
    """

    namespace: str
    provider: str
    hits: int
    misses: int
    sets: int
    deletes: int
    errors: int
    timeouts: int
    short_circuited: int
    keys: int | None
    breaker_state: str
    latency: dict[str, LatencySummary] = field(default_factory=dict)
    provider_stats: dict[str, Any] = field(default_factory=dict)
    decode_errors: int = 0
    stale_served: int = 0
    fail_safe_activations: int = 0
    background_refreshes: int = 0
    early_recomputes: int = 0
    lock_waits: int = 0
    lock_timeouts: int = 0

    @property
    def requests(self) -> int:
        """Reads that could hit or miss (hits + misses)."""
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float:
        """hits / (hits + misses), 0.0 before any read."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A flat dict (one pandas row): latency as ``latency_<op>_<stat>`` columns."""
        row: dict[str, Any] = {
            "namespace": self.namespace,
            "provider": self.provider,
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": self.hit_rate,
            "sets": self.sets,
            "deletes": self.deletes,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "short_circuited": self.short_circuited,
            "decode_errors": self.decode_errors,
            "stale_served": self.stale_served,
            "fail_safe_activations": self.fail_safe_activations,
            "background_refreshes": self.background_refreshes,
            "early_recomputes": self.early_recomputes,
            "lock_waits": self.lock_waits,
            "lock_timeouts": self.lock_timeouts,
            "keys": self.keys,
            "breaker_state": self.breaker_state,
        }
        for op, summary in sorted(self.latency.items()):
            for name, value in asdict(summary).items():
                row[f"latency_{op}_{name}"] = value
        for name, value in self.provider_stats.items():
            if isinstance(value, int | float | str | None):
                row[f"provider_{name}"] = value
        return row

    def to_json(self) -> dict[str, Any]:
        """A nested, JSON-ready dict (for HTTP APIs and logs)."""
        data = self.as_dict()
        data["latency"] = {op: asdict(s) for op, s in sorted(self.latency.items())}
        data["provider_stats"] = self.provider_stats
        return {
            k: v
            for k, v in data.items()
            if k == "provider_stats" or not k.startswith(("latency_", "provider_"))
        }
