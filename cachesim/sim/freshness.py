"""Freshness and resilience options, simulated before they ship.

A cache in front of a slow, sometimes failing origin can be tuned with a whole
toolbox: a TTL with jitter, a grace window (stale-while-revalidate), fail-safe
(serve the last good value when the origin fails, retry no more often than a
throttle), eager refresh at a fraction of the TTL, probabilistic early
expiration (XFetch), soft and hard factory timeouts and stampede locks.  Each
option trades staleness for origin load and tail latency.  This module predicts
that trade on a workload with a deterministic discrete-event engine in virtual
time::

    from cachesim.sim import with_rate, zipf
    from cachesim.sim.freshness import FreshnessOptions, SlowOrigin, compare

    workload = with_rate(zipf(1_000, 50_000, alpha=1.1), rate=200)
    origin = SlowOrigin(latency=LatencyModel.lognormal(0.05, 0.4), failure_rate=0.05)
    frame = compare(
        workload,
        {"ttl": FreshnessOptions(ttl=30), "grace": FreshnessOptions(ttl=30, grace=60)},
        origin=origin,
        clients=64,
    )

Every random draw (origin latency and failure, jitter, XFetch) is a hash of
``(seed, key, n)`` where ``n`` counts the draws of that kind for that key, so a
run is reproducible and the live replay
(:func:`cachesim.sim.freshness_live.replay_freshness_live`) draws exactly the
same numbers for the same calls.  See ``docs/simulator.md`` ("Freshness
options") for the model and its assumptions.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import timedelta
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt

from cachesim.errors import ConfigurationError
from cachesim.sim.models import LatencyModel, Targets, origin_model
from cachesim.sim.workload import OP_GET, Workload

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "OUTCOMES",
    "FreshnessOptions",
    "FreshnessResult",
    "SlowOrigin",
    "compare",
    "plot_tradeoff",
    "simulate_freshness",
    "simulate_many",
    "summarize",
]

LockMode = Literal["none", "local", "distributed"]

#: Per-read outcome codes of :attr:`FreshnessResult.outcomes`, indexed by code.
OUTCOMES: Final = ("fresh", "stale", "fill", "joined", "fallback", "error")
FRESH: Final = 0  # served a live entry at once
STALE: Final = 1  # served an expired entry at once (grace window or fail-safe throttle)
FILL: Final = 2  # waited for an origin call it started
JOINED: Final = 3  # waited for an origin call another read started (single flight or lock)
FALLBACK: Final = 4  # waited, then got the last good value (origin failed or timed out)
ERROR: Final = 5  # waited, then failed (origin error or hard timeout, nothing to fall back on)

# Hash streams of the deterministic draws.
_LATENCY: Final = 1
_FAILURE: Final = 2
_JITTER: Final = 3
_XFETCH: Final = 4

_MASK: Final = (1 << 64) - 1
_NORMAL: Final = NormalDist()


def _mix(x: int) -> int:
    """SplitMix64's finalizer: a 64-bit hash with good avalanche."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def uniform(seed: int, stream: int, key: int, n: int) -> float:
    """A deterministic uniform draw in (0, 1) for the ``n``-th draw of ``stream`` for ``key``."""
    h = _mix((seed & _MASK) ^ _mix((stream << 56) ^ _mix((key & _MASK) ^ _mix(n & _MASK))))
    return ((h >> 11) + 0.5) / 9007199254740992.0  # 2**53


# -- options ---------------------------------------------------------------------------


def _seconds(value: Any, name: str, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    seconds = float(value)
    if seconds < 0 or (seconds == 0 and not zero) or math.isinf(seconds):
        bound = ">= 0" if zero else "> 0"
        raise ConfigurationError(f"{name} must be finite and {bound} seconds, got {value!r}")
    return seconds


def _timedelta_seconds(value: Any) -> Any:
    return value.total_seconds() if isinstance(value, timedelta) else value


@dataclass(frozen=True)
class FreshnessOptions:
    """One set of entry options, with the names and meaning of :class:`cachesim.EntryOptions`.

    ``ttl``: seconds an entry is fresh.  ``jitter``: each write's duration is
    stretched by a factor in ``[1, 1 + jitter)``.  ``grace``: seconds after
    expiry during which a read gets the stale value at once while one
    background refresh runs (stale-while-revalidate).  ``fail_safe``: seconds
    after expiry the last good value is kept to stand in when the origin
    fails or times out; ``fail_safe_throttle`` (default 30 s, capped at
    ``fail_safe``): after such a failure the key serves the stale value
    without calling the origin for this long.  ``eager_refresh``: fraction of
    the duration after which a read of a fresh entry starts a background
    refresh.  ``xfetch_beta``: probabilistic early expiration (Vattani et al.,
    VLDB 2015): a read at ``t`` refreshes in the background when
    ``t - delta * beta * ln(U) >= expiry``, ``delta`` being the recompute time
    stored with the entry.  ``soft_timeout`` (needs ``fail_safe``): a read
    waiting for the origin while a fail-safe value exists gets that value
    after this long; the call finishes in the background and is stored.
    ``hard_timeout``: no read waits longer; it gets the fail-safe value, or
    fails.  ``lock``: ``"local"`` (= ``None``, the cache's default: single
    flight per process), ``"distributed"`` (one origin call per key across
    processes: waiters poll the cache with backoff; the lock expires after
    ``lock_ttl``, default 10 s, and a waiter gives up after ``lock_wait``,
    default ``lock_ttl``, and calls the origin itself) or ``"none"`` (a
    simulator-only baseline without any protection: every miss calls the
    origin).  ``name`` labels the option set in tables and plots.
    """

    ttl: float
    jitter: float = 0.0
    grace: float | None = None
    fail_safe: float | None = None
    fail_safe_throttle: float | None = None
    eager_refresh: float | None = None
    xfetch_beta: float | None = None
    soft_timeout: float | None = None
    hard_timeout: float | None = None
    lock: LockMode | None = None
    lock_ttl: float | None = None
    lock_wait: float | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "ttl", _seconds(_timedelta_seconds(self.ttl), "ttl"))
        if isinstance(self.jitter, bool) or not 0 <= float(self.jitter) <= 1:
            raise ConfigurationError(f"jitter must be a fraction in [0, 1], got {self.jitter!r}")
        for name in (
            "grace",
            "fail_safe",
            "fail_safe_throttle",
            "soft_timeout",
            "hard_timeout",
            "lock_ttl",
            "lock_wait",
        ):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, _seconds(_timedelta_seconds(value), name))
        if self.fail_safe_throttle is not None and self.fail_safe is None:
            raise ConfigurationError(
                "fail_safe_throttle needs fail_safe (how long past expiry a stale value may "
                "be served), e.g. fail_safe=600, fail_safe_throttle=30"
            )
        if self.eager_refresh is not None and not 0 < float(self.eager_refresh) < 1:
            raise ConfigurationError(
                f"eager_refresh must be a fraction in (0, 1) of the duration, "
                f"got {self.eager_refresh!r}"
            )
        if self.xfetch_beta is not None and not 0 < float(self.xfetch_beta) <= 100:
            raise ConfigurationError(f"xfetch_beta must be in (0, 100], got {self.xfetch_beta!r}")
        if self.eager_refresh is not None and self.xfetch_beta is not None:
            raise ConfigurationError(
                "choose eager_refresh (a fixed fraction of the duration) or xfetch_beta "
                "(probabilistic early expiration), not both"
            )
        if self.soft_timeout is not None and self.fail_safe is None:
            raise ConfigurationError(
                "soft_timeout returns the last good value while the origin finishes: set "
                "fail_safe (seconds past expiry to keep that value) as well"
            )
        if (
            self.soft_timeout is not None
            and self.hard_timeout is not None
            and self.soft_timeout >= self.hard_timeout
        ):
            raise ConfigurationError(
                f"soft_timeout ({self.soft_timeout!r}) must be shorter than hard_timeout "
                f"({self.hard_timeout!r})"
            )
        if self.lock not in (None, "none", "local", "distributed"):
            raise ConfigurationError(
                f"lock must be None, 'none', 'local' or 'distributed', got {self.lock!r}"
            )
        if self.lock != "distributed" and (self.lock_ttl is not None or self.lock_wait is not None):
            raise ConfigurationError("lock_ttl and lock_wait apply to lock='distributed' only")

    @property
    def plain(self) -> bool:
        """Whether only ``ttl`` and a local (or no) lock are set: the plain ``get_or_set``."""
        return (
            not self.jitter
            and not self.grace
            and self.fail_safe is None
            and self.eager_refresh is None
            and self.xfetch_beta is None
            and self.soft_timeout is None
            and self.hard_timeout is None
            and self.lock_mode != "distributed"
        )

    @property
    def lock_mode(self) -> LockMode:
        """The stampede protection in force (``None`` is the cache's local single flight)."""
        return self.lock or "local"

    @property
    def throttle(self) -> float:
        """Seconds a failed key serves its stale value before the origin is tried again."""
        if self.fail_safe is None:
            return 0.0
        return min(
            30.0 if self.fail_safe_throttle is None else self.fail_safe_throttle, self.fail_safe
        )

    @property
    def stale_window(self) -> float:
        """Seconds past expiry an entry is kept: ``max(grace, fail_safe)``."""
        return max(self.grace or 0.0, self.fail_safe or 0.0)

    @property
    def effective_lock_ttl(self) -> float:
        """The distributed lock's expiry (``lock_ttl`` or 10 s)."""
        return 10.0 if self.lock_ttl is None else self.lock_ttl

    @property
    def effective_lock_wait(self) -> float:
        """How long a waiter polls before it calls the origin itself."""
        return self.effective_lock_ttl if self.lock_wait is None else self.lock_wait

    @property
    def label(self) -> str:
        """``name``, or a short description of the options that differ from the defaults."""
        if self.name:
            return self.name
        parts = [f"ttl={self.ttl:g}"]
        for f in fields(self):
            if f.name in ("ttl", "name"):
                continue
            value = getattr(self, f.name)
            if value != f.default:
                parts.append(
                    f"{f.name}={value:g}" if isinstance(value, float) else f"{f.name}={value}"
                )
        return ", ".join(parts)

    @classmethod
    def from_entry_options(
        cls, options: Any, *, default_ttl: float | None = None, name: str | None = None
    ) -> FreshnessOptions:
        """Mirror a :class:`cachesim.EntryOptions` (or a mapping with its field names).

        ``default_ttl`` stands in for a ``ttl`` of None (the cache's default).
        Tags are ignored: they do not change freshness.
        """
        names = [f.name for f in fields(cls) if f.name != "name"]

        def get(key: str) -> Any:
            if isinstance(options, Mapping):
                return options.get(key)
            return getattr(options, key, None)

        values = {k: get(k) for k in names}
        if values["ttl"] is None:
            values["ttl"] = get("duration") if get("duration") is not None else default_ttl
        if values["ttl"] is None:
            raise ConfigurationError(
                "these options leave ttl to the cache's default: pass default_ttl= to simulate them"
            )
        if values.get("jitter") is None:
            values["jitter"] = 0.0
        return cls(**values, name=name)


# -- origin ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlowOrigin:
    """The origin (database, API) behind the cache: latency distribution and failures.

    Each call draws its duration from ``latency`` (a
    :class:`~cachesim.sim.models.LatencyModel`, seconds, or an origin name
    such as ``"slow-database"``) and fails with probability ``failure_rate``
    after that duration; calls that start inside an ``outages`` window
    ``(start, end)`` always fail.  The ``n``-th call for a key draws from
    ``(seed, key, n)``, so the virtual and live engines see the same origin.
    """

    latency: LatencyModel | float | str = "slow-database"
    failure_rate: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= float(self.failure_rate) <= 1:
            raise ConfigurationError(
                f"failure_rate must be a probability in [0, 1], got {self.failure_rate!r}"
            )
        for window in self.outages:
            if len(window) != 2 or not window[0] <= window[1]:
                raise ConfigurationError(f"an outage is (start, end) with start <= end: {window!r}")
        object.__setattr__(self, "latency", origin_model(self.latency))

    @property
    def model(self) -> LatencyModel:
        """The latency model (resolved from a name or seconds)."""
        assert isinstance(self.latency, LatencyModel)
        return self.latency

    def duration(self, key: int, n: int) -> float:
        """Seconds the ``n``-th call for ``key`` takes."""
        model = self.model
        if model.kind == "fixed":
            return model.value
        u = uniform(self.seed, _LATENCY, key, n)
        if model.kind == "lognormal":
            return math.exp(model.mu + model.sigma * _NORMAL.inv_cdf(u))
        samples = model.samples
        assert samples is not None
        return float(samples[min(int(u * samples.size), samples.size - 1)])

    def fails(self, key: int, n: int, start: float) -> bool:
        """Whether the ``n``-th call for ``key``, started at ``start``, fails."""
        if any(a <= start < b for a, b in self.outages):
            return True
        rate = float(self.failure_rate)
        return rate > 0 and uniform(self.seed, _FAILURE, key, n) < rate

    def call(self, key: int, n: int, start: float) -> tuple[float, bool]:
        """``(duration, ok)`` of the ``n``-th call for ``key``."""
        return self.duration(key, n), not self.fails(key, n, start)


# -- result ----------------------------------------------------------------------------

FloatArray = npt.NDArray[np.float64]


def _pct(values: FloatArray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else math.nan


@dataclass
class FreshnessResult:
    """What one option set did to a workload (counted reads after the warm-up).

    Counters mirror :class:`cachesim.CacheStats`' freshness fields
    (``stale_served``, ``fail_safe_activations``, ``background_refreshes``,
    ``early_recomputes``, ``lock_waits``).  Per-read arrays hold every read,
    warm-up included: ``outcomes`` (codes of :data:`OUTCOMES`), ``latencies``
    (seconds from arrival to answer, queueing for a client included) and
    ``ages`` (seconds since the served value left the origin; NaN for errors).
    """

    name: str
    options: FreshnessOptions | None
    engine: str
    clients: int | None
    processes: int
    requests: int
    duration: float
    warmup: int
    origin_calls: int
    origin_failures: int
    background_refreshes: int
    early_recomputes: int
    fail_safe_activations: int
    soft_timeouts: int | None
    hard_timeouts: int | None
    lock_waits: int
    lock_timeouts: int
    stampede_max: int
    stampede_mean: float
    duplicate_calls: int
    outcomes: npt.NDArray[np.uint8] = field(repr=False)
    latencies: FloatArray = field(repr=False)
    ages: FloatArray = field(repr=False)
    arrivals: FloatArray = field(repr=False)
    origin_mean: float = math.nan
    origin_p99: float = math.nan

    def counted(self, outcome: str | Iterable[str] | None = None) -> npt.NDArray[np.bool_]:
        """Mask of counted reads, optionally of some outcomes (names of :data:`OUTCOMES`)."""
        mask = np.zeros(self.outcomes.size, dtype=np.bool_)
        mask[self.warmup :] = True
        if outcome is not None:
            wanted = [outcome] if isinstance(outcome, str) else list(outcome)
            mask &= np.isin(self.outcomes, [OUTCOMES.index(o) for o in wanted])
        return mask

    def count(self, *outcomes: str) -> int:
        """Counted reads with any of these outcomes."""
        return int(np.count_nonzero(self.counted(outcomes)))

    @property
    def hits(self) -> int:
        """Reads answered from the cache at once, fresh or stale."""
        return self.count("fresh", "stale")

    @property
    def stale_served(self) -> int:
        """Reads that got a value past its TTL (at once, or as a fail-safe fallback)."""
        return self.count("stale", "fallback")

    @property
    def errors(self) -> int:
        """Reads that failed: the origin failed or timed out with nothing to fall back on."""
        return self.count("error")

    @property
    def hit_ratio(self) -> float:
        """Share of reads answered from the cache at once."""
        return self.hits / self.requests if self.requests else 0.0

    @property
    def stale_ratio(self) -> float:
        """Share of reads served a stale value."""
        return self.stale_served / self.requests if self.requests else 0.0

    @property
    def origin_per_second(self) -> float:
        """Origin calls per second of workload time."""
        return self.origin_calls / self.duration if self.duration > 0 else math.nan

    def latency_ms(self, outcome: str | Iterable[str] | None = None) -> FloatArray:
        """Latencies (ms) of the counted reads, optionally of some outcomes."""
        return self.latencies[self.counted(outcome)] * 1000.0

    def ages_s(self, outcome: str | Iterable[str] | None = None) -> FloatArray:
        """Ages (s) of the values served to counted reads (errors have none)."""
        ages = self.ages[self.counted(outcome)]
        return ages[~np.isnan(ages)]

    def as_dict(self) -> dict[str, Any]:
        """One table row: counters, ratios, latency percentiles (ms) and age percentiles (s)."""
        lat = self.latency_ms()
        stale = self.ages_s(("stale", "fallback"))
        served = self.ages_s()
        row: dict[str, Any] = {
            "name": self.name,
            "engine": self.engine,
            "requests": self.requests,
            "hits": self.hits,
            "hit_ratio": self.hit_ratio,
            "stale_served": self.stale_served,
            "stale_ratio": self.stale_ratio,
            "stale_age_p50_s": _pct(stale, 50),
            "stale_age_p99_s": _pct(stale, 99),
            "stale_age_max_s": float(stale.max()) if stale.size else math.nan,
            "age_p50_s": _pct(served, 50),
            "age_p99_s": _pct(served, 99),
            "age_max_s": float(served.max()) if served.size else math.nan,
            "errors": self.errors,
            "error_ratio": self.errors / self.requests if self.requests else 0.0,
            "origin_calls": self.origin_calls,
            "origin_per_second": self.origin_per_second,
            "origin_failures": self.origin_failures,
            "latency_mean_ms": float(lat.mean()) if lat.size else math.nan,
            "latency_p50_ms": _pct(lat, 50),
            "latency_p99_ms": _pct(lat, 99),
            "latency_max_ms": float(lat.max()) if lat.size else math.nan,
            "stampede_max": self.stampede_max,
            "stampede_mean": self.stampede_mean,
            "duplicate_calls": self.duplicate_calls,
            "lock_waits": self.lock_waits,
            "lock_timeouts": self.lock_timeouts,
            "joined": self.count("joined"),
            "background_refreshes": self.background_refreshes,
            "early_recomputes": self.early_recomputes,
            "fail_safe_activations": self.fail_safe_activations,
            "soft_timeouts": self.soft_timeouts,
            "hard_timeouts": self.hard_timeouts,
        }
        for outcome in OUTCOMES:
            row[f"n_{outcome}"] = self.count(outcome)
        row["clients"] = self.clients
        row["processes"] = self.processes
        row["duration_s"] = self.duration
        return row

    def to_frame(self) -> pd.DataFrame:
        """:meth:`as_dict` as a one-row DataFrame."""
        import pandas as pd

        return pd.DataFrame([self.as_dict()])

    def __str__(self) -> str:
        return (
            f"{self.name} ({self.engine}): hit ratio {self.hit_ratio:.3f}, stale "
            f"{self.stale_ratio:.3f}, {self.origin_per_second:.2f} origin calls/s, p99 "
            f"{_pct(self.latency_ms(), 99):.1f} ms, {self.errors} errors"
        )


# -- the virtual engine ------------------------------------------------------------------


class _Entry:
    """One stored value: when it left the origin and when it stops being fresh/kept."""

    __slots__ = ("born", "delta", "eager_at", "fresh_until", "kept_until", "retry_at")

    def __init__(self, born: float, delta: float, fresh_until: float, kept_until: float) -> None:
        self.born = born
        self.delta = delta
        self.fresh_until = fresh_until
        self.kept_until = kept_until
        self.eager_at = math.inf
        self.retry_at = -math.inf


class _Read:
    __slots__ = ("arrive", "done", "fallback", "flight", "i", "key", "proc")

    def __init__(self, i: int, key: int, proc: int, arrive: float) -> None:
        self.i = i
        self.key = key
        self.proc = proc
        self.arrive = arrive
        self.done = False
        self.flight: _Flight | None = None
        self.fallback: _Entry | None = None  # the fail-safe value this read saw, if any


class _Flight:
    """One attempt to load a key in one process, with the reads waiting for it."""

    __slots__ = (
        "attempt",
        "background",
        "called",
        "created",
        "fallback",
        "key",
        "owner",
        "proc",
        "waiters",
    )

    def __init__(self, key: int, proc: int, created: float, owner: _Read | None) -> None:
        self.key = key
        self.proc = proc
        self.created = created
        self.owner = owner  # the read that started it; None for a background refresh
        self.waiters: list[_Read] = []
        self.attempt = 0  # poll count while waiting for a distributed lock
        self.called = False  # whether it called the origin (not only waited on a lock)
        self.background = owner is None  # counted as a background refresh
        self.fallback = None if owner is None else owner.fallback

    def add(self, read: _Read) -> None:
        self.waiters.append(read)
        read.flight = self


# event kinds
_ORIGIN_DONE: Final = 1
_POLL: Final = 2
_SOFT: Final = 3
_HARD: Final = 4


class _Engine:
    """The discrete-event simulation of one option set (or of no cache at all)."""

    def __init__(
        self,
        options: FreshnessOptions | None,
        origin: SlowOrigin,
        *,
        clients: int | None,
        processes: int,
        seed: int,
        lock_poll: float,
        lock_poll_max: float,
        refresh_backoff: float,
    ) -> None:
        self.o = options
        self.origin = origin
        self.clients = clients
        self.processes = processes
        self.seed = seed
        self.lock_poll = lock_poll
        self.lock_poll_max = lock_poll_max
        self.mode: LockMode = options.lock_mode if options else "none"
        self.grace = (options.grace or 0.0) if options else 0.0
        self.throttle = options.throttle if options else 0.0
        self.fail_safe = options is not None and options.fail_safe is not None
        # The plain get_or_set joins a running load before it reads the cache; with
        # freshness options the cache is read first.
        self.join_first = options is not None and options.plain and self.mode != "none"
        self.refresh_backoff = refresh_backoff
        self.backoff: dict[tuple[int, int], float] = {}
        self.store: dict[int, _Entry] = {}
        self.flights: dict[tuple[int, int], _Flight] = {}
        self.locks: dict[int, tuple[_Flight, float]] = {}  # key -> holder, expires at
        self.calls_per_key: dict[int, int] = {}
        self.writes_per_key: dict[int, int] = {}
        self.reads_per_key: dict[int, int] = {}
        self.inflight: dict[int, int] = {}
        self.heap: list[tuple[float, int, int, Any]] = []
        self.seq = 0
        self.now = 0.0
        self.free = clients if clients is not None else -1  # -1: a client per request
        self.queue: deque[_Read] = deque()
        # events with their times (filtered by the warm-up start at the end)
        self.calls: list[tuple[float, int, bool]] = []  # start, concurrency, ok
        self.activations: list[float] = []
        self.refreshes: list[tuple[float, bool]] = []  # start, early
        self.soft: list[float] = []
        self.hard: list[float] = []
        self.lock_wait_times: list[float] = []
        self.lock_timeout_times: list[float] = []

    # -- plumbing ------------------------------------------------------------------
    def at(self, when: float, kind: int, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, kind, payload))

    def run(
        self, keys: npt.NDArray[np.int64], times: FloatArray
    ) -> tuple[npt.NDArray[np.uint8], FloatArray, FloatArray]:
        n = keys.size
        self.outcomes = np.full(n, ERROR, dtype=np.uint8)
        self.latencies = np.zeros(n, dtype=np.float64)
        self.ages = np.full(n, math.nan, dtype=np.float64)
        procs = self.processes
        next_i = 0
        heap = self.heap
        while next_i < n or heap:
            # Arrivals are sorted: merge them with the event heap (events first on ties).
            if next_i < n and (not heap or float(times[next_i]) < heap[0][0]):
                self.now = float(times[next_i])
                read = _Read(next_i, int(keys[next_i]), next_i % procs, self.now)
                next_i += 1
                if self.free < 0:
                    self.read(read)
                elif self.free > 0:
                    self.free -= 1
                    self.read(read)
                else:
                    self.queue.append(read)
                continue
            when, _, kind, payload = heapq.heappop(heap)
            self.now = when
            if kind == _ORIGIN_DONE:
                self.origin_done(*payload)
            elif kind == _POLL:
                self.poll(payload)
            else:
                self.timeout(payload, hard=kind == _HARD)
        return self.outcomes, self.latencies, self.ages

    def answer(self, read: _Read, outcome: int, entry: _Entry | None) -> None:
        """The read gets its answer now; its client takes the next queued read."""
        read.done = True
        i = read.i
        self.outcomes[i] = outcome
        self.latencies[i] = self.now - read.arrive
        if entry is not None:
            self.ages[i] = self.now - entry.born
        if self.free < 0:
            return
        if self.queue:
            self.read(self.queue.popleft())
        else:
            self.free += 1

    def entry(self, key: int) -> _Entry | None:
        """The stored entry while it is kept (fresh, grace or fail-safe window)."""
        e = self.store.get(key)
        if e is not None and self.now >= e.kept_until:
            del self.store[key]
            return None
        return e

    # -- reads ---------------------------------------------------------------------
    def read(self, read: _Read) -> None:
        now = self.now
        if self.o is None:  # no cache: every read calls the origin
            self.fly(read.key, read.proc, read)
            return
        if self.join_first:
            # A read that finds its process loading the key for another read joins that
            # load without looking at the cache (as the plain Cache.get_or_set does).
            flight = self.flights.get((read.key, read.proc))
            if flight is not None and flight.owner is not None:
                flight.add(read)
                self.timeouts(read)
                return
        e = self.entry(read.key)
        if e is not None:
            if now < e.fresh_until:
                self.answer(read, FRESH, e)
                if self.refresh_early(read, e):
                    self.refresh(read.key, read.proc, early=True)
                return
            if now < e.retry_at:  # fail-safe throttle: keep serving, do not call the origin
                self.answer(read, STALE, e)
                return
            if now < e.fresh_until + self.grace:
                self.answer(read, STALE, e)
                self.refresh(read.key, read.proc, early=False)
                return
        # Past grace (and not throttled): wait for the origin.  An entry still kept here
        # is in the fail-safe window: the value this read falls back on.
        read.fallback = e if self.fail_safe else None
        flight = self.flights.get((read.key, read.proc)) if self.mode != "none" else None
        if flight is None:
            self.fly(read.key, read.proc, read)
        else:
            flight.add(read)  # a background refresh is running: wait for it
        self.timeouts(read)

    def timeouts(self, read: _Read) -> None:
        """Arm the soft and hard timeouts of a read that waits for the origin."""
        o = self.o
        if o is None or read.done:
            return
        if o.soft_timeout is not None and read.fallback is not None:
            self.at(self.now + o.soft_timeout, _SOFT, read)
        if o.hard_timeout is not None:
            self.at(self.now + o.hard_timeout, _HARD, read)

    def refresh_early(self, read: _Read, e: _Entry) -> bool:
        o = self.o
        assert o is not None
        if o.eager_refresh is not None:
            return self.now >= e.eager_at
        if o.xfetch_beta is not None:
            n = self.reads_per_key.get(read.key, 0)
            self.reads_per_key[read.key] = n + 1
            u = uniform(self.seed, _XFETCH, read.key, n)
            return self.now - e.delta * o.xfetch_beta * math.log(u) >= e.fresh_until
        return False

    def refresh(self, key: int, proc: int, *, early: bool) -> None:
        """Start one background refresh unless one is running or the key backs off."""
        if self.mode != "none" and (key, proc) in self.flights:
            return
        if self.now < self.backoff.get((key, proc), -math.inf):
            return  # a load of this key failed moments ago in this process
        if self.mode == "distributed":
            held = self.locks.get(key)
            if held is not None and self.now < held[1]:
                return  # another process holds the lock: it is refreshing
        self.refreshes.append((self.now, early))
        self.fly(key, proc, None)

    # -- flights, locks and origin calls -------------------------------------------
    def fly(self, key: int, proc: int, owner: _Read | None) -> _Flight:
        """Start loading ``key`` in ``proc`` (for ``owner``, or in the background)."""
        flight = _Flight(key, proc, self.now, owner)
        if owner is not None:
            flight.add(owner)
        if self.mode != "none":
            self.flights[(key, proc)] = flight
        if self.mode == "distributed" and not self.acquire(flight):
            self.lock_wait_times.append(self.now)
            self.at(self.now + self.lock_poll, _POLL, flight)
            return flight
        self.call(flight)
        return flight

    def acquire(self, flight: _Flight) -> bool:
        held = self.locks.get(flight.key)
        if held is not None and self.now < held[1]:
            return False
        assert self.o is not None
        self.locks[flight.key] = (flight, self.now + self.o.effective_lock_ttl)
        return True

    def poll(self, flight: _Flight) -> None:
        """A flight waiting for another process's lock looks at the cache again."""
        assert self.o is not None
        e = self.entry(flight.key)
        if e is not None and e.born >= flight.created and self.now < e.fresh_until:
            self.land(flight, e)
            return
        if self.acquire(flight):
            self.call(flight)
            return
        deadline = flight.created + self.o.effective_lock_wait
        if self.now >= deadline:  # waited long enough: stop waiting
            self.lock_timeout_times.append(self.now)
            if flight.fallback is not None:  # serve the fail-safe value instead
                self.finish(flight)
                for read in flight.waiters:
                    if not read.done:
                        self.settle(read, flight.fallback)
            else:
                self.call(flight)
            return
        flight.attempt += 1
        wait = min(self.lock_poll * 2.0**flight.attempt, self.lock_poll_max)
        self.at(min(self.now + wait, deadline), _POLL, flight)

    def call(self, flight: _Flight) -> None:
        flight.called = True
        key = flight.key
        n = self.calls_per_key.get(key, 0)
        self.calls_per_key[key] = n + 1
        duration, ok = self.origin.call(key, n, self.now)
        concurrency = self.inflight.get(key, 0) + 1
        self.inflight[key] = concurrency
        self.calls.append((self.now, concurrency, ok))
        self.at(self.now + duration, _ORIGIN_DONE, (flight, duration, ok))

    def origin_done(self, flight: _Flight, duration: float, ok: bool) -> None:
        key = flight.key
        self.inflight[key] -= 1
        held = self.locks.get(key)
        if held is not None and held[0] is flight:
            del self.locks[key]
        if ok:
            if self.o is None:  # no cache: the value goes straight to the waiting read
                self.land(flight, _Entry(self.now, duration, self.now, self.now))
            else:
                self.land(flight, self.write(key, duration))
            return
        # The origin failed.  A load started by a read with a fail-safe value activates
        # fail-safe: that value is served without calling the origin for the throttle
        # (even if every reader already left on a timeout).  Each reader still waiting
        # gets the fail-safe value it saw, or the error.  A failed background refresh
        # leaves the entry as it was.  No background refresh of the key starts in this
        # process for refresh_backoff.
        self.finish(flight)
        self.backoff[(key, flight.proc)] = self.now + self.refresh_backoff
        if flight.fallback is not None:
            self.activations.append(self.now)
            e = flight.fallback
            e.retry_at = max(e.retry_at, min(self.now + self.throttle, e.kept_until))
        for read in flight.waiters:
            if not read.done:
                self.settle(read, read.fallback)

    def write(self, key: int, duration: float) -> _Entry:
        o = self.o
        assert o is not None
        now = self.now
        life = o.ttl
        if o.jitter:
            n = self.writes_per_key.get(key, 0)
            self.writes_per_key[key] = n + 1
            life *= 1.0 + o.jitter * uniform(self.seed, _JITTER, key, n)
        e = _Entry(now, duration, now + life, now + life + o.stale_window)
        if o.eager_refresh is not None:
            e.eager_at = now + o.eager_refresh * life
        self.store[key] = e
        return e

    def land(self, flight: _Flight, e: _Entry) -> None:
        """The flight has a value: every read still waiting gets it."""
        self.finish(flight)
        for read in flight.waiters:
            if not read.done:
                own = read is flight.owner and flight.called
                self.answer(read, FILL if own else JOINED, e)

    def settle(self, read: _Read, e: _Entry | None) -> None:
        """A waiting read gives up on its flight and takes the fail-safe value, or fails."""
        if e is None:
            self.answer(read, ERROR, None)
        else:
            self.answer(read, FALLBACK if self.now >= e.fresh_until else JOINED, e)

    def finish(self, flight: _Flight) -> None:
        if self.flights.get((flight.key, flight.proc)) is flight:
            del self.flights[(flight.key, flight.proc)]

    def timeout(self, read: _Read, *, hard: bool) -> None:
        if read.done:
            return
        e = read.fallback
        if hard:
            self.hard.append(self.now)
        elif e is not None:
            self.soft.append(self.now)
        else:
            return
        if e is not None:
            self.refreshes.append((self.now, False))  # the call finishes in the background
        self.settle(read, e)


# -- public entry points ---------------------------------------------------------------


def _columns(workload: Workload, limit: int | None) -> tuple[npt.NDArray[np.int64], FloatArray]:
    n = len(workload) if limit is None else min(len(workload), int(limit))
    if workload.op is not None and np.any(np.asarray(workload.op[:n]) != OP_GET):
        raise ValueError(
            "the freshness engines replay reads (get_or_set) only; drop the writes and deletes "
            "first, e.g. workload[workload.op == OP_GET]"
        )
    keys = np.asarray(workload.key[:n], dtype=np.int64)
    times = (
        np.arange(n, dtype=np.float64)
        if workload.time is None
        else np.asarray(workload.time[:n], dtype=np.float64)
    )
    if n > 1 and np.any(np.diff(times) < 0):
        raise ValueError("the workload's times must not go backwards (sort it by time first)")
    return keys, times


def _resolve(options: FreshnessOptions | Any | None) -> FreshnessOptions | None:
    if options is None or isinstance(options, FreshnessOptions):
        return options
    return FreshnessOptions.from_entry_options(options)


def _check_run(clients: int | None, processes: int, warmup: int, n: int) -> None:
    if clients is not None and (isinstance(clients, bool) or int(clients) < 1):
        raise ValueError(
            f"clients must be a positive number of concurrent clients, got {clients!r}"
        )
    if int(processes) < 1:
        raise ValueError(f"processes must be >= 1, got {processes!r}")
    if not 0 <= warmup <= n:
        raise ValueError(f"warmup must be within 0..{n} reads, got {warmup!r}")


def _warmup(warmup: int | float, n: int) -> int:
    if isinstance(warmup, float) and 0 < warmup < 1:
        return int(n * warmup)
    return int(warmup)


def build_result(
    *,
    name: str,
    options: FreshnessOptions | None,
    engine: str,
    origin: SlowOrigin,
    clients: int | None,
    processes: int,
    warmup: int,
    times: FloatArray,
    outcomes: npt.NDArray[np.uint8],
    latencies: FloatArray,
    ages: FloatArray,
    calls: Sequence[tuple[float, int, bool]],
    refreshes: Sequence[tuple[float, bool]],
    activations: Sequence[float],
    soft: Sequence[float],
    hard: Sequence[float],
    lock_waits: Sequence[float],
    lock_timeouts: Sequence[float],
) -> FreshnessResult:
    """Assemble a result, counting only events at or after the first counted arrival."""
    n = times.size
    start = float(times[warmup]) if warmup < n else math.inf
    duration = float(times[-1]) - start if warmup < n - 1 else math.nan

    def after(values: Iterable[float]) -> int:
        return sum(1 for t in values if t >= start)

    counted = [(c, ok) for t, c, ok in calls if t >= start]
    concurrency = np.array([c for c, _ in counted], dtype=np.float64)
    model = origin.model
    return FreshnessResult(
        name=name,
        options=options,
        engine=engine,
        clients=clients,
        processes=processes,
        requests=n - warmup,
        duration=duration,
        warmup=warmup,
        origin_calls=len(counted),
        origin_failures=sum(1 for _, ok in counted if not ok),
        background_refreshes=after(t for t, _ in refreshes),
        early_recomputes=after(t for t, early in refreshes if early),
        fail_safe_activations=after(activations),
        soft_timeouts=after(soft),
        hard_timeouts=after(hard),
        lock_waits=after(lock_waits),
        lock_timeouts=after(lock_timeouts),
        stampede_max=int(concurrency.max()) if concurrency.size else 0,
        stampede_mean=float(concurrency.mean()) if concurrency.size else math.nan,
        duplicate_calls=int(np.count_nonzero(concurrency > 1)),
        outcomes=outcomes,
        latencies=latencies,
        ages=ages,
        arrivals=times,
        origin_mean=model.mean,
        origin_p99=model.percentile(99),
    )


def simulate_freshness(
    workload: Workload,
    options: FreshnessOptions | Any | None,
    *,
    origin: SlowOrigin | None = None,
    clients: int | None = None,
    processes: int = 1,
    warmup: int | float = 0,
    seed: int = 0,
    limit: int | None = None,
    lock_poll: float = 0.005,
    lock_poll_max: float = 0.2,
    refresh_backoff: float = 1.0,
    name: str | None = None,
) -> FreshnessResult:
    """Predict what ``options`` do on ``workload`` (every request a ``get_or_set`` read).

    ``options`` is a :class:`FreshnessOptions`, an object or mapping with the
    same field names (such as :class:`cachesim.EntryOptions`), or ``None`` for
    no cache at all (every read calls the origin: the baseline).  ``clients``
    concurrent clients serve the requests in arrival order (a request waits
    for a free client; ``None``: one client per request), request *i* runs in
    process ``i % processes`` (single flight is per process; a distributed
    lock spans them).  A process that finds the distributed lock taken polls
    the cache after ``lock_poll`` seconds, doubling up to ``lock_poll_max``
    (the cache layer's 5 ms to 200 ms, without its jitter).  After a failed
    origin call a process starts no background refresh of that key for
    ``refresh_backoff`` seconds (the cache layer's 1 s).  ``warmup``
    leading reads (a count, or a share below 1) are replayed, not counted.
    ``seed`` drives jitter and XFetch; the origin has its own seed.
    """
    resolved = _resolve(options)
    origin = origin or SlowOrigin()
    keys, times = _columns(workload, limit)
    warm = _warmup(warmup, keys.size)
    _check_run(clients, processes, warm, keys.size)
    _seconds(lock_poll, "lock_poll")
    engine = _Engine(
        resolved,
        origin,
        clients=None if clients is None else int(clients),
        processes=int(processes),
        seed=seed,
        lock_poll=float(lock_poll),
        lock_poll_max=max(float(lock_poll_max), float(lock_poll)),
        refresh_backoff=_seconds(refresh_backoff, "refresh_backoff", zero=True),
    )
    outcomes, latencies, ages = engine.run(keys, times)
    label = name or (resolved.label if resolved is not None else "no cache")
    return build_result(
        name=label,
        options=resolved,
        engine="virtual",
        origin=origin,
        clients=clients,
        processes=int(processes),
        warmup=warm,
        times=times,
        outcomes=outcomes,
        latencies=latencies,
        ages=ages,
        calls=engine.calls,
        refreshes=engine.refreshes,
        activations=engine.activations,
        soft=engine.soft,
        hard=engine.hard,
        lock_waits=engine.lock_wait_times,
        lock_timeouts=engine.lock_timeout_times,
    )


def simulate_many(
    workload: Workload,
    options: Mapping[str, FreshnessOptions | Any | None] | Sequence[FreshnessOptions],
    *,
    baseline: bool = True,
    **run: Any,
) -> dict[str, FreshnessResult]:
    """:func:`simulate_freshness` for every option set, by name (``no cache`` first).

    ``options`` maps names to option sets (or is a sequence, named by
    :attr:`FreshnessOptions.label`); ``run`` goes to every simulation.
    """
    named: dict[str, FreshnessOptions | Any | None]
    if isinstance(options, Mapping):
        named = dict(options)
    else:
        named = {}
        for opt in options:
            one = _resolve(opt)
            named[one.label if one is not None else "no cache"] = one
    results: dict[str, FreshnessResult] = {}
    if baseline:
        results["no cache"] = simulate_freshness(workload, None, name="no cache", **run)
    for label, chosen in named.items():
        results[label] = simulate_freshness(workload, chosen, name=label, **run)
    return results


def summarize(
    results: Mapping[str, FreshnessResult] | Iterable[FreshnessResult],
    *,
    targets: Targets | None = None,
) -> pd.DataFrame:
    """One row per result; with a ``no cache`` result, the success criteria against it.

    Each row gets ``latency_reduction`` (mean), ``p99_reduction`` and
    ``origin_reduction`` against the ``no cache`` row (every read calls the
    origin) and the verdicts of ``targets`` (default: the original criteria:
    hit ratio > 80 %, response time at least 30 % lower, origin load at least
    40 % lower): ``hit_ratio_ok``, ``latency_ok``, ``origin_ok``, ``all_ok``.
    """
    import pandas as pd

    items = list(results.values()) if isinstance(results, Mapping) else list(results)
    frame = pd.DataFrame([r.as_dict() for r in items])
    base = next((r for r in items if r.options is None), None)
    if base is None:
        return frame
    b = base.as_dict()
    targets = targets or Targets()

    def reduction(column: str) -> pd.Series:
        before = float(b[column])
        return 1.0 - frame[column] / before if before > 0 else pd.Series(math.nan, frame.index)

    frame["latency_reduction"] = reduction("latency_mean_ms")
    frame["p99_reduction"] = reduction("latency_p99_ms")
    frame["origin_reduction"] = reduction("origin_calls")
    frame["hit_ratio_ok"] = frame["hit_ratio"] > targets.hit_ratio
    frame["latency_ok"] = frame["latency_reduction"] >= targets.latency_reduction
    frame["origin_ok"] = frame["origin_reduction"] >= targets.origin_reduction
    frame["all_ok"] = frame["hit_ratio_ok"] & frame["latency_ok"] & frame["origin_ok"]
    return frame


def compare(
    workload: Workload,
    options: Mapping[str, FreshnessOptions | Any | None] | Sequence[FreshnessOptions],
    *,
    baseline: bool = True,
    targets: Targets | None = None,
    **run: Any,
) -> pd.DataFrame:
    """One row per option set (plus a ``no cache`` row), with the success criteria.

    :func:`simulate_many` then :func:`summarize`; ``run`` goes to
    :func:`simulate_freshness` (``origin``, ``clients``, ``processes``,
    ``warmup``, ``seed`` ...).
    """
    return summarize(simulate_many(workload, options, baseline=baseline, **run), targets=targets)


def plot_tradeoff(
    frame: pd.DataFrame,
    *,
    title: str = "Freshness options: staleness, origin load and tail latency",
    ax: Axes | None = None,
    annotate: bool = True,
) -> Figure:
    """One picture of the trade-off: origin calls/s (x) against p99 latency (y, ms).

    Each option set is a point whose colour is the share of reads served
    stale (colour bar) and whose marker is listed in the legend; a ``no
    cache`` row is drawn as the reference.  ``frame`` comes from
    :func:`compare` (or any frame with ``name``, ``origin_per_second``,
    ``latency_p99_ms`` and ``stale_ratio`` columns).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    from cachesim.sim.plots import NEUTRAL

    if ax is None:
        fig = Figure(figsize=(8.5, 5.0), layout="constrained")
        ax = fig.add_subplot()
    else:
        parent: Any = ax.figure
        while not isinstance(parent, Figure):
            parent = parent.figure
        fig = parent
    markers = "osD^vP*Xh<>p"
    stale_max = max(float(frame["stale_ratio"].max()), 0.01)
    scatter = None
    for i, record in enumerate(frame.to_dict("records")):
        name = str(record["name"])
        x, y = float(record["origin_per_second"]), float(record["latency_p99_ms"])
        stale = float(record["stale_ratio"])
        if name == "no cache":
            ax.scatter(
                [x],
                [y],
                marker="x",
                s=90,
                color=NEUTRAL,
                label="no cache (every read calls the origin)",
                zorder=3,
            )
            continue
        scatter = ax.scatter(
            [x],
            [y],
            c=[stale],
            cmap="viridis",
            vmin=0.0,
            vmax=stale_max,
            marker=markers[i % len(markers)],
            s=110,
            edgecolors="#555555",
            label=name,
            zorder=4,
        )
        if annotate:
            ax.annotate(
                name,
                (x, y),
                textcoords="offset points",
                xytext=(7, 4 if i % 2 else -10),
                fontsize=8,
            )
    if scatter is not None:
        bar = fig.colorbar(scatter, ax=ax)
        bar.set_label("reads served stale")
        bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    for values, set_scale, axis in (
        (frame["origin_per_second"], ax.set_xscale, ax.xaxis),
        (frame["latency_p99_ms"], ax.set_yscale, ax.yaxis),
    ):
        if bool((values > 0).all()):
            set_scale("log")
        else:  # a p99 of 0 ms (every read a hit) has no logarithm
            set_scale("symlog", linthresh=1.0)
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        axis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
    ax.set_xlabel("origin calls per second")
    ax.set_ylabel("p99 response time (ms)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8, frameon=False)
    return fig
