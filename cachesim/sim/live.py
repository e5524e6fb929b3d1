"""Live replay: drive a workload through a real :class:`~cachesim.Cache` and measure it.

The virtual engine predicts hit ratios from a model of the cache; the live
engine runs the real thing, any provider (memory, fakeredis, a redis-server,
Upstash through the gateway), with N concurrent async clients doing
cache-aside, an origin model standing in for the database, and real
per-request latencies.  Two modes:

* **virtual time**: the cache's clock is a :class:`~cachesim.clock.ManualClock`
  (e.g. ``MemoryProvider(clock=ManualClock())``).  The clock is set to each
  request's timestamp, nothing sleeps, one client runs.  Hits and misses then
  equal the virtual engine's for the same policy and capacity.
* **real time**: any other clock.  Origin calls sleep for a sampled latency;
  ``speed`` replays the workload's timestamps at that pace (open loop), else the
  clients send as fast as they are answered (closed loop).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt

from cachesim.cache import MIN_TTL, NO_EXPIRY, Cache, CacheEvent
from cachesim.clock import ManualClock
from cachesim.sim.models import CommandsPerOp, LatencyModel, ProviderModel, origin_model
from cachesim.sim.sweep import _progress

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    from matplotlib.figure import Figure

    from cachesim.sim.workload import Workload
    from cachesim.stats import CacheStats

__all__ = [
    "OUTCOME_NAMES",
    "LiveResult",
    "replay_live",
    "replay_live_sync",
]

logger = logging.getLogger("cachesim.sim.live")

#: Per-request outcome codes of :attr:`LiveResult.outcomes`.
HIT: Final = 0
FILL: Final = 1  # missed and loaded the value from the origin
JOINED: Final = 2  # missed and waited for another request's fill (no origin call)
WRITE: Final = 3
DELETE: Final = 4
UNSTORED: Final = 5  # missed, loaded from the origin, not stored (TTL below 1 ms)
#: Names of the outcome codes, indexed by code.
OUTCOME_NAMES: Final = ("hit", "fill", "joined", "write", "delete", "unstored")

CacheSource = Cache | Callable[[], Cache | Awaitable[Cache]]
Origin = LatencyModel | Callable[[str], Any] | float | str | None
Mode = Literal["get_or_set", "get_set"]

_MISS: Final = object()
_current: contextvars.ContextVar[int] = contextvars.ContextVar("cachesim_live_request")


@dataclass
class LiveResult:
    """What a live replay measured.

    ``requests``, ``hits`` and ``misses`` count reads after the warm-up (as in
    :class:`~cachesim.sim.SimulationResult`); ``writes`` and ``deletes`` the
    other operations.  ``origin_reads`` are the misses that called the origin
    (fewer than ``misses`` when single-flight merged concurrent misses);
    ``stampedes`` counts reads that missed while a fill of the same key was in
    flight.  ``latencies`` (seconds) and ``outcomes`` (codes of
    :data:`OUTCOME_NAMES`) hold every replayed request, warm-up included; in
    virtual time a latency is the measured cache time plus the modelled
    (not slept) origin time.  ``commands_by_name`` is what the provider sent
    during the replay, warm-up included.
    """

    provider: str
    mode: str
    clients: int
    virtual: bool
    requests: int
    hits: int
    misses: int
    writes: int
    deletes: int
    warmup: int
    origin_reads: int
    origin_writes: int
    stampedes: int
    errors: int
    seconds: float
    commands: int
    commands_by_name: dict[str, int] = field(default_factory=dict)
    latencies: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0), repr=False)
    outcomes: npt.NDArray[np.uint8] = field(
        default_factory=lambda: np.empty(0, np.uint8), repr=False
    )
    times: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0), repr=False)
    clients_used: npt.NDArray[np.int32] = field(
        default_factory=lambda: np.empty(0, np.int32), repr=False
    )
    stampeded: npt.NDArray[np.bool_] = field(
        default_factory=lambda: np.empty(0, np.bool_), repr=False
    )
    windows: pd.DataFrame | None = field(default=None, repr=False)
    stats: CacheStats | None = field(default=None, repr=False)
    workload: str = ""

    # -- ratios -------------------------------------------------------------------
    @property
    def hit_ratio(self) -> float:
        """Hits per counted read."""
        return self.hits / self.requests if self.requests else 0.0

    @property
    def miss_ratio(self) -> float:
        """Misses per counted read."""
        return self.misses / self.requests if self.requests else 0.0

    @property
    def total_requests(self) -> int:
        """Every replayed request, warm-up included."""
        return len(self.outcomes)

    @property
    def requests_per_second(self) -> float:
        """Replayed requests per wall-clock second."""
        return self.total_requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def commands_per_request(self) -> float:
        """Provider commands per replayed request (what Upstash bills)."""
        return self.commands / self.total_requests if self.total_requests else 0.0

    # -- latency ------------------------------------------------------------------
    def _counted(self) -> npt.NDArray[np.bool_]:
        mask = np.zeros(len(self.outcomes), dtype=np.bool_)
        mask[self.warmup :] = True
        return mask

    def latency_ms(self, outcome: str | None = None) -> npt.NDArray[np.float64]:
        """Latencies (ms) of the counted requests, optionally of one outcome (``hit`` ...)."""
        mask = self._counted()
        if outcome is not None:
            if outcome == "miss":
                mask &= np.isin(self.outcomes, (FILL, JOINED, UNSTORED))
            else:
                mask &= self.outcomes == OUTCOME_NAMES.index(outcome)
        return self.latencies[mask] * 1000.0

    def latency_model(self, outcome: str | None = None) -> LatencyModel:
        """An empirical model of the measured response times (for ``estimate(app=...)`` etc.)."""
        data = self.latency_ms(outcome) / 1000.0
        return LatencyModel.empirical(data, name=f"{self.provider} live {outcome or 'all'}")

    def commands_per_op(self) -> CommandsPerOp:
        """Measured commands per hit, miss, write and delete (whole replay)."""
        out = self.outcomes
        return CommandsPerOp.measure(
            self.commands_by_name,
            hits=int(np.count_nonzero(out == HIT)),
            misses=int(np.count_nonzero(np.isin(out, (FILL, JOINED, UNSTORED)))),
            writes=int(np.count_nonzero(out == WRITE)),
            deletes=int(np.count_nonzero(out == DELETE)),
        )

    def provider_model(self, name: str | None = None) -> ProviderModel:
        """A provider model fitted to this run's cache latencies and commands."""
        if self.stats is None:
            raise ValueError("this result carries no cache stats to fit a provider model from")
        model = ProviderModel.from_stats(self.stats, name=name)
        return ProviderModel(
            model.name,
            get=model.get,
            set=model.set,
            delete=model.delete,
            commands=self.commands_per_op() if self.commands_by_name else model.commands,
            pricing=model.pricing,
            assumption=model.assumption,
        )

    # -- tables -------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """Scalar fields, ratios, throughput and latency percentiles (ms): one row."""
        skip = {"commands_by_name", "latencies", "outcomes", "times", "clients_used"}
        skip |= {"stampeded", "windows", "stats"}
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        row["hit_ratio"] = self.hit_ratio
        row["miss_ratio"] = self.miss_ratio
        row["requests_per_second"] = self.requests_per_second
        row["commands_per_request"] = self.commands_per_request
        lat = self.latency_ms()
        for name, values in (("latency", lat), ("hit", self.latency_ms("hit"))):
            row[f"{name}_mean_ms"] = float(values.mean()) if values.size else math.nan
            for q in (50, 95, 99):
                row[f"{name}_p{q}_ms"] = (
                    float(np.percentile(values, q)) if values.size else math.nan
                )
        miss = self.latency_ms("miss")
        row["miss_p50_ms"] = float(np.percentile(miss, 50)) if miss.size else math.nan
        row["miss_p99_ms"] = float(np.percentile(miss, 99)) if miss.size else math.nan
        return row

    def to_frame(self) -> pd.DataFrame:
        """:meth:`as_dict` as a one-row DataFrame."""
        import pandas as pd

        return pd.DataFrame([self.as_dict()])

    def requests_frame(self) -> pd.DataFrame:
        """One row per replayed request: time, outcome, latency, client, stampede, counted."""
        import pandas as pd

        return pd.DataFrame(
            {
                "time": self.times,
                "outcome": pd.Series(np.asarray(OUTCOME_NAMES)[self.outcomes]).astype(
                    pd.CategoricalDtype(list(OUTCOME_NAMES))
                ),
                "latency_ms": self.latencies * 1000.0,
                "client": self.clients_used,
                "stampede": self.stampeded,
                "counted": self._counted(),
            }
        )

    def plot(
        self, kind: Literal["hit_ratio", "latency", "origin_load"] = "hit_ratio", **options: Any
    ) -> Figure:
        """Plot this run: hit ratio over time, its latency CDF by outcome, or origin load."""
        from cachesim.sim import plots

        if kind == "hit_ratio":
            return plots.plot_hit_ratio_over_time(self, **options)
        if kind == "origin_load":
            return plots.plot_origin_load(self, **options)
        if kind == "latency":
            series = {"all": self.latency_ms() / 1000.0}
            for outcome in ("hit", "miss"):
                values = self.latency_ms(outcome) / 1000.0
                if values.size:
                    series[outcome] = values
            return plots.plot_latency_cdf(series, **options)
        raise ValueError(f"kind must be 'hit_ratio', 'latency' or 'origin_load', got {kind!r}")

    def __str__(self) -> str:
        lat = self.latency_ms()
        p99 = float(np.percentile(lat, 99)) if lat.size else math.nan
        return (
            f"{self.provider} live ({self.clients} clients, {self.mode}): hit ratio "
            f"{self.hit_ratio:.4f} ({self.hits:,}/{self.requests:,}), {self.origin_reads:,} "
            f"origin reads, {self.stampedes:,} stampeded, p99 {p99:.3f} ms"
        )


def _windows(
    times: npt.NDArray[np.float64],
    outcomes: npt.NDArray[np.uint8],
    warmup: int,
    window: float | None,
) -> pd.DataFrame:
    """Per-window reads, hits, misses and origin reads over the whole replay."""
    import pandas as pd

    columns = ["start", "end", "requests", "hits", "misses", "origin", "hit_ratio", "warmup"]
    if times.size == 0:
        return pd.DataFrame(columns=columns)
    t0, t1 = float(times.min()), float(times.max())
    width = window if window and window > 0 else max((t1 - t0) / 50.0, 1e-9)
    index = np.floor((times - t0) / width).astype(np.int64)
    count = int(index.max()) + 1
    reads = np.isin(outcomes, (HIT, FILL, JOINED, UNSTORED))
    requests = np.bincount(index, weights=reads, minlength=count)
    hits = np.bincount(index, weights=outcomes == HIT, minlength=count)
    origin = np.bincount(index, weights=np.isin(outcomes, (FILL, UNSTORED)), minlength=count)
    start = t0 + np.arange(count) * width
    end = start + width
    warm_end = float(times[warmup]) if 0 < warmup < times.size else (math.inf if warmup else -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(requests > 0, hits / np.maximum(requests, 1), np.nan)
    frame = pd.DataFrame(
        {
            "start": start,
            "end": end,
            "requests": requests.astype(np.int64),
            "hits": hits.astype(np.int64),
            "misses": (requests - hits).astype(np.int64),
            "origin": origin.astype(np.int64),
            "hit_ratio": ratio,
            "warmup": end <= warm_end,
        }
    )
    return frame[frame["requests"] > 0].reset_index(drop=True)


async def _make_cache(source: CacheSource) -> tuple[Cache, bool]:
    if isinstance(source, Cache):
        return source, False
    made = source()
    if inspect.isawaitable(made):
        made = await made
    if not isinstance(made, Cache):
        raise TypeError(f"the cache factory returned {type(made).__name__}, not a Cache")
    return made, True


async def _commands(cache: Cache) -> dict[str, int]:
    try:
        stats = await cache.provider.get_stats()
    except Exception:  # stats are best effort
        return {}
    by_name = stats.get("commands_by_name") or {}
    return {str(k): int(v) for k, v in by_name.items()}


async def replay_live(
    workload: Workload,
    cache: CacheSource,
    *,
    clients: int = 1,
    origin: Origin = None,
    ttl: float | None = None,
    mode: Mode = "get_or_set",
    warmup: int = 0,
    window: float | None = None,
    speed: float | None = None,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> LiveResult:
    """Replay ``workload`` through a real cache with ``clients`` concurrent cache-aside clients.

    ``cache`` is a :class:`~cachesim.Cache` (initialized here, left open) or a
    zero-argument factory returning one, sync or async (opened and closed
    here).  Reads do cache-aside: ``mode="get_or_set"`` uses
    :meth:`Cache.get_or_set` (single-flight), ``"get_set"`` a plain get, origin
    call and set (no protection against stampedes).  Writes (``OP_SET``) and
    deletes first pay an origin call, then set or delete the key.

    ``origin`` is a :class:`~cachesim.sim.models.LatencyModel` (or its name, or
    seconds; default: the database model), sampled once per request with
    ``seed``, or a callable ``origin(key) -> value`` (sync or async) whose
    real duration is measured.  ``ttl`` is the TTL of stored entries when the
    workload has no ``ttl`` column (or NaN there); None means no expiry, like
    the virtual engine.  Entries with a TTL below 1 ms are not stored.
    ``warmup`` leading requests are replayed but not counted; ``window`` is
    the width (seconds) of :attr:`LiveResult.windows` (default: 50 windows).
    ``speed`` paces a real-time replay at that multiple of the workload's
    timestamps, measuring each latency from the scheduled start.
    """
    if clients < 1:
        raise ValueError(f"clients must be >= 1, got {clients!r}")
    if mode not in ("get_or_set", "get_set"):
        raise ValueError(f"mode must be 'get_or_set' or 'get_set', got {mode!r}")
    if speed is not None and not speed > 0:
        raise ValueError(f"speed must be > 0 (a multiple of real time), got {speed!r}")
    n = len(workload) if limit is None else min(len(workload), int(limit))
    if not 0 <= warmup <= n:
        raise ValueError(f"warmup must be within 0..{n} requests, got {warmup!r}")

    keys = np.asarray(workload.key[:n], dtype=np.int64)
    ops = None if workload.op is None else np.asarray(workload.op[:n])
    req_times = (
        np.arange(n, dtype=np.float64)
        if workload.time is None
        else np.asarray(workload.time[:n], dtype=np.float64)
    )
    ttls = None if workload.ttl is None else np.asarray(workload.ttl[:n], dtype=np.float64)
    names = workload.key_names

    def key_name(i: int) -> str:
        k = int(keys[i])
        return f"k{k}" if names is None else str(names[k])

    default_ttl = NO_EXPIRY if ttl is None or math.isinf(ttl) else float(ttl)

    def ttl_of(i: int) -> float:
        if ttls is not None:
            t = float(ttls[i])
            if not math.isnan(t):
                return NO_EXPIRY if math.isinf(t) else t
        return default_ttl

    if callable(origin) and not isinstance(origin, LatencyModel):
        origin_fn: Callable[[str], Any] | None = origin
        origin_delay = np.zeros(n)
    else:
        origin_fn = None
        origin_delay = origin_model(origin).sample(n, np.random.default_rng(seed))

    opened, owned = await _make_cache(cache)
    provider_clock = getattr(opened.provider, "clock", None)
    # Expiry follows the provider's clock when it has one, else the cache's.
    virtual = isinstance(provider_clock or opened.clock, ManualClock)
    if virtual and clients != 1:
        raise ValueError(
            "a cache on a ManualClock replays in virtual time, which runs one client; "
            "pass clients=1 or give the cache a real clock"
        )
    manual_clocks = (
        [c for c in dict.fromkeys((provider_clock, opened.clock)) if isinstance(c, ManualClock)]
        if virtual
        else []
    )

    latencies = np.zeros(n, dtype=np.float64)
    outcomes = np.zeros(n, dtype=np.uint8)
    started = np.zeros(n, dtype=np.float64)
    client_of = np.zeros(n, dtype=np.int32)
    stampeded = np.zeros(n, dtype=np.bool_)
    origin_called = np.zeros(n, dtype=np.bool_)
    filling: dict[str, int] = {}  # key -> request index whose fill is in flight

    def on_miss(i: int, key: str) -> None:
        """A read of ``key`` missed: a stampede if a fill is in flight, else it will fill."""
        if key in filling:
            stampeded[i] = True
            outcomes[i] = JOINED
        else:
            filling[key] = i
            outcomes[i] = FILL

    def listener(event: CacheEvent) -> None:
        if event.op != "get":
            return
        i = _current.get(-1)
        if i < 0:
            return
        if event.hit:
            outcomes[i] = HIT
        else:
            on_miss(i, event.key)

    async def call_origin(i: int, key: str) -> Any:
        if origin_fn is not None:
            value = origin_fn(key)
            if inspect.isawaitable(value):
                value = await value
            return value
        if not virtual and origin_delay[i] > 0:
            await asyncio.sleep(float(origin_delay[i]))
        return int(keys[i])

    def modelled(i: int) -> float:
        """Origin time that was modelled, not slept (virtual time only)."""
        return float(origin_delay[i]) if virtual and origin_fn is None else 0.0

    async def read(i: int, key: str) -> float:
        seconds = ttl_of(i)
        storable = seconds >= MIN_TTL
        if mode == "get_or_set" and storable:

            async def factory() -> Any:
                origin_called[i] = True
                return await call_origin(i, key)

            try:
                await opened.get_or_set(key, factory, ttl=seconds)
            finally:
                if filling.get(key) == i:
                    del filling[key]
            return modelled(i) if origin_called[i] else 0.0
        value = await opened.get(key, default=_MISS)
        if value is not _MISS:
            return 0.0
        # The listener saw the miss (stampede or not); without single flight everyone loads.
        outcomes[i] = FILL if storable else UNSTORED
        origin_called[i] = True
        try:
            value = await call_origin(i, key)
            if storable:
                await opened.set(key, value, ttl=seconds)
        finally:
            if filling.get(key) == i:
                del filling[key]
        return modelled(i)

    async def write(i: int, key: str, op: int) -> float:
        origin_called[i] = True
        value = await call_origin(i, key)
        if op == 1:
            outcomes[i] = WRITE
            seconds = ttl_of(i)
            if seconds >= MIN_TTL:
                await opened.set(key, value, ttl=seconds)
            else:
                await opened.delete(key)  # the old value is stale and the new one not storable
        else:
            outcomes[i] = DELETE
            await opened.delete(key)
        return modelled(i)

    next_index = 0
    bar = _progress(n, progress, f"live replay ({clients} clients)", "req")
    t_origin = req_times[0] if n else 0.0

    async def client(cid: int, wall0: float) -> None:
        nonlocal next_index
        while next_index < n:
            i = next_index
            next_index += 1
            key = key_name(i)
            for clock in manual_clocks:
                clock.set(max(clock.now(), float(req_times[i])))
            scheduled: float | None = None
            if speed is not None and not virtual:
                scheduled = wall0 + (float(req_times[i]) - t_origin) / speed
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            token = _current.set(i)
            begin = time.perf_counter()
            try:
                op = 0 if ops is None else int(ops[i])
                if op == 0:
                    extra = await read(i, key)
                else:
                    extra = await write(i, key, op)
            finally:
                _current.reset(token)
            end = time.perf_counter()
            latencies[i] = end - (scheduled if scheduled is not None else begin) + extra
            started[i] = float(req_times[i]) if virtual else begin - wall0
            client_of[i] = cid
            bar.update(1)

    unsubscribe = opened.subscribe(listener)
    try:
        await opened.initialize()  # idempotent: a cache handed in may already be open
        before = await _commands(opened)
        errors_before = opened.errors + opened.timeouts + opened.short_circuited
        wall0 = time.perf_counter()
        await asyncio.gather(*(client(c, wall0) for c in range(clients)))
        seconds = time.perf_counter() - wall0
        after = await _commands(opened)
        errors = opened.errors + opened.timeouts + opened.short_circuited - errors_before
        stats = await opened.get_stats(count_keys=False)
    finally:
        unsubscribe()
        bar.close()
        if owned:
            await opened.disconnect()

    commands_by_name = {
        k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)
    }
    counted = slice(warmup, n)
    out = outcomes[counted]
    reads = np.isin(out, (HIT, FILL, JOINED, UNSTORED))
    misses = np.isin(out, (FILL, JOINED, UNSTORED))
    result = LiveResult(
        provider=str(getattr(opened.provider, "name", type(opened.provider).__name__)),
        mode=mode,
        clients=clients,
        virtual=virtual,
        requests=int(np.count_nonzero(reads)),
        hits=int(np.count_nonzero(out == HIT)),
        misses=int(np.count_nonzero(misses)),
        writes=int(np.count_nonzero(out == WRITE)),
        deletes=int(np.count_nonzero(out == DELETE)),
        warmup=warmup,
        origin_reads=int(np.count_nonzero(origin_called[counted] & misses)),
        origin_writes=int(np.count_nonzero(origin_called[counted] & np.isin(out, (WRITE, DELETE)))),
        stampedes=int(np.count_nonzero(stampeded[counted])),
        errors=errors,
        seconds=seconds,
        commands=sum(commands_by_name.values()),
        commands_by_name=commands_by_name,
        latencies=latencies,
        outcomes=outcomes,
        times=started,
        clients_used=client_of,
        stampeded=stampeded,
        windows=_windows(started, outcomes, warmup, window),
        stats=stats,
        workload=getattr(workload, "name", ""),
    )
    logger.info("%s", result)
    return result


def replay_live_sync(workload: Workload, cache: CacheSource, **options: Any) -> LiveResult:
    """:func:`replay_live` from synchronous code (in a notebook, ``await replay_live(...)``)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(replay_live(workload, cache, **options))
    raise RuntimeError(
        "replay_live_sync() cannot run inside a running event loop (e.g. a notebook); "
        "use `await replay_live(...)` there"
    )
