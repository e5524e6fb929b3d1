"""Latency, origin-load and cost models: what a hit ratio means for users and for the bill.

A simulation gives hits and misses; this module turns them into the numbers a
team decides on: response-time percentiles with and without the cache, database
requests per second, provider commands and dollars per month.  Every default is
an assumption stated next to its value (see ``docs/models.md``); replace it with
a model fitted to your own measurements (:meth:`LatencyModel.fit`,
:meth:`ProviderModel.from_stats`) whenever you have them.

All latencies are in seconds inside the models; reports use milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]

    from cachesim.stats import CacheStats, LatencySummary

__all__ = [
    "DEFAULT_ORIGIN",
    "ORIGINS",
    "PROVIDERS",
    "SECONDS_PER_MONTH",
    "UPSTASH_PAYG",
    "CommandsPerOp",
    "Estimate",
    "LatencyModel",
    "Pricing",
    "ProviderModel",
    "Targets",
    "estimate",
    "estimate_many",
    "latency_samples",
    "origin_model",
    "provider_model",
]

FloatArray = npt.NDArray[np.float64]
RngLike = np.random.Generator | int | None
Kind = Literal["fixed", "lognormal", "empirical"]

#: A billing month: 30 days.
SECONDS_PER_MONTH: Final[float] = 30 * 86_400.0

_Z99: Final[float] = NormalDist().inv_cdf(0.99)


def _rng(rng: RngLike) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _positive(value: float, what: str) -> float:
    value = float(value)
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{what} must be a positive, finite number of seconds, got {value!r}")
    return value


class LatencyModel:
    """A distribution of latencies in seconds: fixed, lognormal or empirical.

    Lognormal is the usual shape of service latency (a floor with a long right
    tail); it is pinned down by two percentiles, p50 and p99, which is what
    dashboards and vendors publish.  Empirical resamples measured values.
    """

    __slots__ = ("_samples", "kind", "mu", "name", "sigma", "value")

    def __init__(
        self,
        kind: Kind,
        *,
        value: float = 0.0,
        mu: float = 0.0,
        sigma: float = 0.0,
        samples: Sequence[float] | npt.NDArray[Any] | None = None,
        name: str | None = None,
    ) -> None:
        if kind not in ("fixed", "lognormal", "empirical"):
            raise ValueError(f"unknown latency model kind {kind!r}")
        self.kind: Kind = kind
        self.value = float(value)
        self.mu = float(mu)
        self.sigma = float(sigma)
        self.name = name
        self._samples: FloatArray | None = None
        if kind == "empirical":
            data = np.sort(np.asarray(samples, dtype=np.float64).ravel())
            if data.size == 0 or not np.all(np.isfinite(data)) or data[0] < 0:
                raise ValueError("empirical latencies need at least one finite sample >= 0")
            self._samples = data
        if kind == "fixed" and (self.value < 0 or math.isinf(self.value)):
            raise ValueError(f"a fixed latency must be finite and >= 0 s, got {value!r}")
        if kind == "lognormal" and (self.sigma < 0 or not math.isfinite(self.mu)):
            raise ValueError(f"lognormal needs finite mu and sigma >= 0, got {mu!r}, {sigma!r}")

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def fixed(cls, seconds: float, *, name: str | None = None) -> LatencyModel:
        """Always ``seconds`` (0 is allowed: a free step)."""
        return cls("fixed", value=seconds, name=name)

    @classmethod
    def lognormal(cls, p50: float, p99: float, *, name: str | None = None) -> LatencyModel:
        """Lognormal with median ``p50`` and 99th percentile ``p99`` (seconds)."""
        p50 = _positive(p50, "p50")
        p99 = _positive(p99, "p99")
        if p99 < p50:
            raise ValueError(f"p99 ({p99!r}) must be >= p50 ({p50!r})")
        return cls("lognormal", mu=math.log(p50), sigma=math.log(p99 / p50) / _Z99, name=name)

    @classmethod
    def empirical(
        cls, samples: Sequence[float] | npt.NDArray[Any], *, name: str | None = None
    ) -> LatencyModel:
        """Resample measured latencies (seconds) as they are."""
        return cls("empirical", samples=samples, name=name)

    @classmethod
    def fit(
        cls,
        samples: Sequence[float] | npt.NDArray[Any],
        *,
        kind: Literal["lognormal", "empirical"] = "lognormal",
        name: str | None = None,
    ) -> LatencyModel:
        """Fit measured latencies (seconds): lognormal by maximum likelihood, or empirical."""
        data = np.asarray(samples, dtype=np.float64).ravel()
        if kind == "empirical":
            return cls.empirical(data, name=name)
        if data.size < 2 or not np.all(np.isfinite(data)) or np.any(data <= 0):
            raise ValueError("a lognormal fit needs at least two finite samples > 0 seconds")
        logs = np.log(data)
        return cls("lognormal", mu=float(logs.mean()), sigma=float(logs.std()), name=name)

    @classmethod
    def from_summary(cls, summary: LatencySummary, *, name: str | None = None) -> LatencyModel:
        """Lognormal through a :class:`~cachesim.stats.LatencySummary`'s p50 and p99 (ms)."""
        p50, p99 = summary.p50_ms / 1000.0, summary.p99_ms / 1000.0
        if p50 <= 0:
            return cls.fixed(max(p99, 0.0), name=name)
        return cls.lognormal(p50, max(p99, p50), name=name)

    @classmethod
    def from_stats(
        cls, stats: CacheStats, op: str = "get", *, name: str | None = None
    ) -> LatencyModel:
        """Model one operation from ``Cache.get_stats()`` (its recent latency window)."""
        summary = stats.latency.get(op)
        if summary is None:
            seen = ", ".join(sorted(stats.latency)) or "none"
            raise ValueError(f"these stats hold no latency for {op!r} (operations seen: {seen})")
        return cls.from_summary(summary, name=name or f"{stats.provider} {op}")

    # -- queries --------------------------------------------------------------------
    def sample(self, n: int, rng: RngLike = None) -> FloatArray:
        """Draw ``n`` latencies in seconds (pass a seed or Generator for repeatable draws)."""
        if self.kind == "fixed":
            return np.full(n, self.value, dtype=np.float64)
        gen = _rng(rng)
        if self.kind == "lognormal":
            return gen.lognormal(self.mu, self.sigma, size=n)
        assert self._samples is not None
        return gen.choice(self._samples, size=n, replace=True)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0-100) in seconds."""
        if not 0 <= q <= 100:
            raise ValueError(f"percentile must be within 0..100, got {q!r}")
        if self.kind == "fixed":
            return self.value
        if self.kind == "lognormal":
            if q in (0, 100):
                return 0.0 if q == 0 else math.inf
            return math.exp(self.mu + self.sigma * NormalDist().inv_cdf(q / 100.0))
        assert self._samples is not None
        return float(np.percentile(self._samples, q))

    @property
    def mean(self) -> float:
        """Expected latency in seconds."""
        if self.kind == "fixed":
            return self.value
        if self.kind == "lognormal":
            return math.exp(self.mu + self.sigma**2 / 2)
        assert self._samples is not None
        return float(self._samples.mean())

    @property
    def samples(self) -> FloatArray | None:
        """The sorted samples of an empirical model (None for the others)."""
        return self._samples

    def describe(self) -> dict[str, Any]:
        """Kind, mean and p50/p95/p99 in milliseconds (one table row)."""
        return {
            "model": self.name or self.kind,
            "kind": self.kind,
            "mean_ms": self.mean * 1000.0,
            "p50_ms": self.percentile(50) * 1000.0,
            "p95_ms": self.percentile(95) * 1000.0,
            "p99_ms": self.percentile(99) * 1000.0,
        }

    def __repr__(self) -> str:
        label = f", name={self.name!r}" if self.name else ""
        if self.kind == "fixed":
            return f"LatencyModel.fixed({self.value!r}{label})"
        if self.kind == "lognormal":
            return (
                f"LatencyModel.lognormal(p50={self.percentile(50):.6g}, "
                f"p99={self.percentile(99):.6g}{label})"
            )
        assert self._samples is not None
        return f"LatencyModel.empirical(<{self._samples.size} samples>{label})"


ModelLike = LatencyModel | float


def _as_model(value: ModelLike, name: str | None = None) -> LatencyModel:
    if isinstance(value, LatencyModel):
        return value
    return LatencyModel.fixed(float(value), name=name)


@dataclass(frozen=True)
class CommandsPerOp:
    """Provider commands one request costs, by outcome (Upstash bills each command).

    Defaults follow this project's providers: a hit is one ``GET``; a cache-aside
    miss is ``GET`` + ``SET``; a write is one ``SET``; a delete one ``UNLINK``.
    ``other`` is a per-request average of anything else (``PING``, ``SCAN`` ...).
    An in-process provider sends no commands at all (:meth:`none`).
    """

    hit: float = 1.0
    miss: float = 2.0
    write: float = 1.0
    delete: float = 1.0
    other: float = 0.0

    def total(self, hits: float, misses: float, writes: float = 0, deletes: float = 0) -> float:
        """Commands for these counts."""
        requests = hits + misses + writes + deletes
        return (
            hits * self.hit
            + misses * self.miss
            + writes * self.write
            + deletes * self.delete
            + requests * self.other
        )

    @classmethod
    def none(cls) -> CommandsPerOp:
        """No commands for any request: an in-process provider has no backend to call."""
        return cls(hit=0.0, miss=0.0, write=0.0, delete=0.0, other=0.0)

    @classmethod
    def measure(
        cls,
        commands_by_name: Mapping[str, int],
        *,
        hits: int,
        misses: int,
        writes: int = 0,
        deletes: int = 0,
    ) -> CommandsPerOp:
        """Per-outcome costs from a live run's ``commands_by_name`` and its counts.

        Reads cost their ``GET``/``MGET`` share; ``SET`` beyond one per write are
        fills, charged to misses (so single-flight shows up as a miss costing
        less than 2); ``UNLINK`` goes to deletes; the rest is ``other``.
        """
        counts = {k.upper(): int(v) for k, v in commands_by_name.items()}
        reads = hits + misses
        requests = reads + writes + deletes
        get_cmds = counts.pop("GET", 0) + counts.pop("MGET", 0)
        set_cmds = counts.pop("SET", 0)
        unlink_cmds = counts.pop("UNLINK", 0) + counts.pop("DEL", 0)
        per_read = get_cmds / reads if reads else 1.0
        write = min(1.0, set_cmds / writes) if writes else 1.0
        fills = max(0.0, set_cmds - write * writes)
        delete = unlink_cmds / deletes if deletes else 1.0
        other = sum(counts.values()) + (0 if deletes else unlink_cmds)
        return cls(
            hit=per_read,
            miss=per_read + (fills / misses if misses else 1.0),
            write=write,
            delete=delete,
            other=other / requests if requests else 0.0,
        )


@dataclass(frozen=True)
class Pricing:
    """What a provider costs per month: per command, per stored GB, and a fixed fee."""

    name: str
    per_100k_commands: float = 0.0
    storage_per_gb_month: float = 0.0
    free_storage_gb: float = 0.0
    fixed_monthly: float = 0.0
    source: str = ""

    def monthly_cost(self, commands_per_month: float, storage_gb: float = 0.0) -> float:
        """Dollars per month for this many commands and this much stored data."""
        billable_gb = max(0.0, storage_gb - self.free_storage_gb)
        return (
            self.fixed_monthly
            + commands_per_month / 100_000.0 * self.per_100k_commands
            + billable_gb * self.storage_per_gb_month
        )


#: Upstash pay-as-you-go (upstash-rest.md §2.10, from Upstash's billing docs).
UPSTASH_PAYG: Final = Pricing(
    "upstash pay-as-you-go",
    per_100k_commands=0.20,
    storage_per_gb_month=0.25,
    free_storage_gb=1.0,
    source="Upstash billing docs: $0.20 per 100K commands, $0.25/GB-month beyond 1 GB",
)

_NO_COST: Final = Pricing("runs on hardware you already pay for", source="assumption")

_ELASTICACHE_MICRO: Final = Pricing(
    "one small managed Redis node",
    fixed_monthly=0.016 * 730,
    source="assumption: one cache.t4g.micro ElastiCache node on demand, $0.016/h x 730 h "
    "(check current prices for your region)",
)


@dataclass(frozen=True)
class ProviderModel:
    """How one provider behaves from the application's side: latency, commands, price."""

    name: str
    get: LatencyModel
    set: LatencyModel
    delete: LatencyModel | None = None
    commands: CommandsPerOp = field(default_factory=CommandsPerOp)
    pricing: Pricing = _NO_COST
    assumption: str = ""

    @property
    def delete_latency(self) -> LatencyModel:
        """Latency of a delete (the set model unless given)."""
        return self.delete or self.set

    @classmethod
    def from_stats(
        cls,
        stats: CacheStats,
        *,
        name: str | None = None,
        pricing: Pricing | None = None,
    ) -> ProviderModel:
        """Fit get/set latency (and measured commands) from a ``Cache.get_stats()`` snapshot.

        Commands are measured when the provider counts them (``commands_by_name``
        in its stats); otherwise they are those of the default model of the same
        name (none for ``memory``), or :class:`CommandsPerOp` defaults.
        """
        get = LatencyModel.from_stats(stats, "get")
        set_ = LatencyModel.from_stats(stats, "set") if "set" in stats.latency else get
        delete = LatencyModel.from_stats(stats, "delete") if "delete" in stats.latency else None
        base = PROVIDERS.get(_ALIASES.get(stats.provider, stats.provider))
        by_name = stats.provider_stats.get("commands_by_name")
        if isinstance(by_name, Mapping):
            commands = CommandsPerOp.measure(
                by_name,
                hits=stats.hits,
                misses=stats.misses,
                writes=max(0, stats.sets - stats.misses),
                deletes=stats.deletes,
            )
        else:
            commands = base.commands if base else CommandsPerOp()
        return cls(
            name=name or f"{stats.provider} (measured)",
            get=get,
            set=set_,
            delete=delete,
            commands=commands,
            pricing=pricing or (base.pricing if base else _NO_COST),
            assumption="fitted from Cache.get_stats() latency windows (p50, p99)",
        )

    def describe(self) -> dict[str, Any]:
        """Latency of get and set in ms, the pricing and the assumption behind it."""
        get, set_ = self.get.describe(), self.set.describe()
        return {
            "provider": self.name,
            "get_p50_ms": get["p50_ms"],
            "get_p99_ms": get["p99_ms"],
            "set_p50_ms": set_["p50_ms"],
            "set_p99_ms": set_["p99_ms"],
            "per_100k_commands": self.pricing.per_100k_commands,
            "fixed_monthly": self.pricing.fixed_monthly,
            "assumption": self.assumption,
        }


def _lognormal_ms(p50_ms: float, p99_ms: float, name: str) -> LatencyModel:
    return LatencyModel.lognormal(p50_ms / 1000.0, p99_ms / 1000.0, name=name)


#: Default provider models.  Each is an assumption; ``docs/models.md`` gives the sources.
PROVIDERS: Final[dict[str, ProviderModel]] = {
    "memory": ProviderModel(
        "memory",
        get=_lognormal_ms(0.005, 0.02, "memory get"),
        set=_lognormal_ms(0.008, 0.03, "memory set"),
        commands=CommandsPerOp.none(),
        assumption="in-process dict plus JSON codec; provider call measured at ~0.5 us p50 "
        "on this project's benchmark, codec and Cache bookkeeping dominate; no backend "
        "commands",
    ),
    "redis-same-host": ProviderModel(
        "redis-same-host",
        get=_lognormal_ms(0.10, 0.30, "redis same-host get"),
        set=_lognormal_ms(0.11, 0.35, "redis same-host set"),
        assumption="redis-server on loopback through redis-py asyncio: measured ~0.10 ms p50, "
        "~0.2 ms p99 per command on a 2-core machine; p99 padded for contention",
    ),
    "redis-same-az": ProviderModel(
        "redis-same-az",
        get=_lognormal_ms(0.50, 2.0, "redis same-AZ get"),
        set=_lognormal_ms(0.55, 2.2, "redis same-AZ set"),
        pricing=_ELASTICACHE_MICRO,
        assumption="managed Redis in the application's availability zone: same-host client "
        "cost plus an in-zone round trip of a few hundred microseconds",
    ),
    "upstash-same-region": ProviderModel(
        "upstash-same-region",
        get=_lognormal_ms(2.0, 10.0, "upstash same-region get"),
        set=_lognormal_ms(3.0, 15.0, "upstash same-region set"),
        pricing=UPSTASH_PAYG,
        assumption="Upstash REST over HTTPS keep-alive from the same cloud region: server p99 "
        "<1 ms read / <5 ms write (Upstash docs) plus an HTTP round trip of a few ms",
    ),
    "upstash-cross-region": ProviderModel(
        "upstash-cross-region",
        get=_lognormal_ms(40.0, 100.0, "upstash cross-region get"),
        set=_lognormal_ms(45.0, 110.0, "upstash cross-region set"),
        pricing=UPSTASH_PAYG,
        assumption="Upstash REST from another region on the same continent: Upstash quotes "
        "<50 ms p99 same-continent; tails padded for the public internet",
    ),
}

_ALIASES: Final[dict[str, str]] = {
    "in-memory": "memory",
    "redis": "redis-same-az",
    "upstash": "upstash-same-region",
}

#: Default origin (database) models, assumptions like :data:`PROVIDERS`.
ORIGINS: Final[dict[str, LatencyModel]] = {
    "database": _lognormal_ms(5.0, 50.0, "database"),
    "slow-database": _lognormal_ms(30.0, 250.0, "slow database"),
    "http-api": _lognormal_ms(80.0, 400.0, "http api"),
}

#: The origin used when none is given: an indexed query on a managed database nearby.
DEFAULT_ORIGIN: Final = ORIGINS["database"]

ProviderLike = ProviderModel | str | LatencyModel


def provider_model(spec: ProviderLike) -> ProviderModel:
    """Resolve a provider name (``memory``, ``redis``, ``upstash-cross-region`` ...) or model.

    A bare :class:`LatencyModel` is used for every operation, with default commands.
    """
    if isinstance(spec, ProviderModel):
        return spec
    if isinstance(spec, LatencyModel):
        return ProviderModel(spec.name or "custom", get=spec, set=spec)
    key = _ALIASES.get(spec.lower(), spec.lower())
    try:
        return PROVIDERS[key]
    except KeyError:
        known = ", ".join(sorted([*PROVIDERS, *_ALIASES]))
        raise ValueError(f"unknown provider model {spec!r}; choose one of: {known}") from None


def origin_model(spec: LatencyModel | str | float | None) -> LatencyModel:
    """Resolve an origin: a model, a name from :data:`ORIGINS`, seconds, or None (default)."""
    if spec is None:
        return DEFAULT_ORIGIN
    if isinstance(spec, str):
        try:
            return ORIGINS[spec.lower()]
        except KeyError:
            known = ", ".join(sorted(ORIGINS))
            raise ValueError(f"unknown origin model {spec!r}; choose one of: {known}") from None
    return _as_model(spec, "origin")


@dataclass(frozen=True)
class Targets:
    """The success criteria a cache is judged on (fractions, not percent)."""

    hit_ratio: float = 0.80
    latency_reduction: float = 0.30
    origin_reduction: float = 0.40


@dataclass(frozen=True)
class _Counts:
    hits: float
    misses: float
    fills: float
    writes: float
    deletes: float

    @property
    def reads(self) -> float:
        return self.hits + self.misses

    @property
    def requests(self) -> float:
        return self.reads + self.writes + self.deletes


def _counts(result: Any) -> _Counts:
    """Hits, misses, origin fills, writes and deletes of any result-like object or mapping."""

    def get(name: str, default: float = 0.0) -> float:
        if isinstance(result, Mapping):
            value = result.get(name, default)
        else:
            value = getattr(result, name, default)
        return default if value is None else float(value)

    hits, misses = get("hits"), get("misses")
    if (isinstance(result, Mapping) and "writes" in result) or hasattr(result, "writes"):
        writes = get("writes")
    else:  # CacheStats: its sets include the fills after misses
        writes = max(0.0, get("sets") - misses)
    deletes = get("deletes")
    fills = get("origin_reads", misses)
    if hits + misses + writes + deletes <= 0:
        raise ValueError("the result has no requests (hits + misses + writes + deletes == 0)")
    return _Counts(hits, misses, fills, writes, deletes)


def _split(n: int, weights: Sequence[float]) -> list[int]:
    """Split ``n`` into integer parts proportional to ``weights`` (largest remainders)."""
    total = sum(weights)
    raw = [n * w / total for w in weights]
    parts = [math.floor(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - parts[i], reverse=True)
    for i in order[: n - sum(parts)]:
        parts[i] += 1
    return parts


def _response_samples(
    counts: _Counts,
    provider: ProviderModel,
    origin: LatencyModel,
    app: LatencyModel,
    n: int,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Per-request response times without and with the cache (seconds), stratified by outcome.

    Hit: GET.  Fill: GET + origin + SET.  A miss that waited on another fill
    (single flight): GET + origin.  Write: origin + SET.  Delete: origin + UNLINK.
    Without the cache every request is one origin call.  ``app`` is added to both.
    """
    joined = max(0.0, counts.misses - counts.fills)
    fills = counts.misses - joined
    n_hit, n_fill, n_join, n_write, n_del = _split(
        n, [counts.hits, fills, joined, counts.writes, counts.deletes]
    )
    parts = [
        provider.get.sample(n_hit, rng),
        provider.get.sample(n_fill, rng)
        + origin.sample(n_fill, rng)
        + provider.set.sample(n_fill, rng),
        provider.get.sample(n_join, rng) + origin.sample(n_join, rng),
        origin.sample(n_write, rng) + provider.set.sample(n_write, rng),
        origin.sample(n_del, rng) + provider.delete_latency.sample(n_del, rng),
    ]
    with_cache = np.concatenate(parts) + app.sample(n, rng)
    without = origin.sample(n, rng) + app.sample(n, rng)
    return without, with_cache


def _mean_with(counts: _Counts, p: ProviderModel, origin: LatencyModel) -> float:
    """Exact mean response time with the cache (seconds, without ``app``)."""
    joined = max(0.0, counts.misses - counts.fills)
    fills = counts.misses - joined
    total = (
        counts.hits * p.get.mean
        + fills * (p.get.mean + origin.mean + p.set.mean)
        + joined * (p.get.mean + origin.mean)
        + counts.writes * (origin.mean + p.set.mean)
        + counts.deletes * (origin.mean + p.delete_latency.mean)
    )
    return total / counts.requests


def _reduction(before: float, after: float) -> float:
    return (1.0 - after / before) * 100.0 if before > 0 else 0.0


@dataclass(frozen=True)
class Estimate:
    """What a result means with one provider at one request rate (one DataFrame row).

    Latencies are in milliseconds; reductions are percent (positive = better with
    the cache); ``*_ok`` tell whether each target of :class:`Targets` is met.
    """

    provider: str
    origin: str
    request_rate: float
    hit_ratio: float
    no_cache_mean_ms: float
    no_cache_p50_ms: float
    no_cache_p95_ms: float
    no_cache_p99_ms: float
    cache_mean_ms: float
    cache_p50_ms: float
    cache_p95_ms: float
    cache_p99_ms: float
    latency_reduction_pct: float
    p50_reduction_pct: float
    p95_reduction_pct: float
    p99_reduction_pct: float
    origin_rps_no_cache: float
    origin_rps_cache: float
    origin_reduction_pct: float
    commands_per_request: float
    commands_per_month: float
    monthly_cost_usd: float
    hit_ratio_ok: bool
    latency_ok: bool
    origin_ok: bool
    targets: Targets = field(default_factory=Targets, repr=False)

    @property
    def all_ok(self) -> bool:
        """Every target met."""
        return self.hit_ratio_ok and self.latency_ok and self.origin_ok

    def verdicts(self) -> dict[str, str]:
        """One human line per target, e.g. ``{"hit ratio": "PASS 86.0 % (target > 80 %)"}``."""
        t = self.targets

        def line(ok: bool, value: float, target: float, what: str) -> str:
            return f"{'PASS' if ok else 'FAIL'} {value:.1f} % ({what} {target * 100:.0f} %)"

        return {
            "hit ratio": line(self.hit_ratio_ok, self.hit_ratio * 100, t.hit_ratio, "target >"),
            "response time": line(
                self.latency_ok, self.latency_reduction_pct, t.latency_reduction, "reduction >="
            ),
            "database load": line(
                self.origin_ok, self.origin_reduction_pct, t.origin_reduction, "reduction >="
            ),
        }

    def summary(self) -> str:
        """A short multi-line report."""
        lines = [
            f"{self.provider} at {self.request_rate:g} req/s (origin: {self.origin})",
            f"  latency mean {self.no_cache_mean_ms:.2f} -> {self.cache_mean_ms:.2f} ms, "
            f"p99 {self.no_cache_p99_ms:.2f} -> {self.cache_p99_ms:.2f} ms",
            f"  origin {self.origin_rps_no_cache:.1f} -> {self.origin_rps_cache:.1f} req/s",
            f"  {self.commands_per_month:,.0f} commands/month, ${self.monthly_cost_usd:,.2f}/month",
        ]
        lines += [f"  {what}: {text}" for what, text in self.verdicts().items()]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """A flat dict (targets left out)."""
        row = asdict(self)
        row.pop("targets")
        row["all_ok"] = self.all_ok
        return row

    def to_frame(self) -> pd.DataFrame:
        """A one-row DataFrame."""
        import pandas as pd

        return pd.DataFrame([self.as_dict()])


def estimate(
    result: Any,
    *,
    provider: ProviderLike = "upstash",
    origin: LatencyModel | str | float | None = None,
    request_rate: float = 100.0,
    app: ModelLike = 0.0,
    commands: CommandsPerOp | float | None = None,
    storage_gb: float = 0.0,
    targets: Targets | None = None,
    samples: int = 200_000,
    seed: int = 0,
) -> Estimate:
    """Predict latency, origin load and cost of a result with ``provider`` at ``request_rate``.

    ``result`` is anything with ``hits`` and ``misses`` (and optionally
    ``sets``/``writes``, ``deletes``, ``origin_reads``): a simulation result, a
    live-replay result, ``CacheStats`` or a plain dict.  Every request reaches
    the origin without a cache; with it, fills, writes and deletes still do.
    ``commands`` overrides the provider's per-request accounting (a float is
    commands per request, e.g. a live run's ``commands_per_request``).  Latency
    percentiles come from ``samples`` stratified draws (seeded: repeatable);
    means are exact.  ``app`` is response time the cache cannot remove.
    """
    if request_rate < 0:
        raise ValueError(f"request_rate must be >= 0 requests per second, got {request_rate!r}")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples!r}")
    counts = _counts(result)
    model = provider_model(provider)
    origin_lat = origin_model(origin)
    app_lat = _as_model(app, "app")
    targets = targets or Targets()
    rng = np.random.default_rng(seed)
    without, with_cache = _response_samples(counts, model, origin_lat, app_lat, samples, rng)
    pct = (50.0, 95.0, 99.0)
    no_p = [float(v) * 1000.0 for v in np.percentile(without, pct)]
    ca_p = [float(v) * 1000.0 for v in np.percentile(with_cache, pct)]
    no_mean = (origin_lat.mean + app_lat.mean) * 1000.0
    ca_mean = (_mean_with(counts, model, origin_lat) + app_lat.mean) * 1000.0

    origin_share = (counts.fills + counts.writes + counts.deletes) / counts.requests
    rps_with = request_rate * origin_share
    if isinstance(commands, int | float):
        per_request = float(commands)
    else:
        per_op = commands or model.commands
        per_request = (
            per_op.total(counts.hits, counts.misses, counts.writes, counts.deletes)
            / counts.requests
        )
    per_month = request_rate * SECONDS_PER_MONTH * per_request
    hit_ratio = counts.hits / counts.reads if counts.reads else 0.0
    latency_cut = _reduction(no_mean, ca_mean)
    origin_cut = _reduction(request_rate, rps_with) if request_rate else (1 - origin_share) * 100
    return Estimate(
        provider=model.name,
        origin=origin_lat.name or origin_lat.kind,
        request_rate=float(request_rate),
        hit_ratio=hit_ratio,
        no_cache_mean_ms=no_mean,
        no_cache_p50_ms=no_p[0],
        no_cache_p95_ms=no_p[1],
        no_cache_p99_ms=no_p[2],
        cache_mean_ms=ca_mean,
        cache_p50_ms=ca_p[0],
        cache_p95_ms=ca_p[1],
        cache_p99_ms=ca_p[2],
        latency_reduction_pct=latency_cut,
        p50_reduction_pct=_reduction(no_p[0], ca_p[0]),
        p95_reduction_pct=_reduction(no_p[1], ca_p[1]),
        p99_reduction_pct=_reduction(no_p[2], ca_p[2]),
        origin_rps_no_cache=float(request_rate),
        origin_rps_cache=rps_with,
        origin_reduction_pct=origin_cut,
        commands_per_request=per_request,
        commands_per_month=per_month,
        monthly_cost_usd=model.pricing.monthly_cost(per_month, storage_gb),
        hit_ratio_ok=hit_ratio > targets.hit_ratio,
        latency_ok=latency_cut >= targets.latency_reduction * 100 - 1e-9,
        origin_ok=origin_cut >= targets.origin_reduction * 100 - 1e-9,
        targets=targets,
    )


def estimate_many(
    result: Any,
    providers: Iterable[ProviderLike] = tuple(PROVIDERS),
    **options: Any,
) -> pd.DataFrame:
    """:func:`estimate` for each provider: one row per provider (input to the cost plots)."""
    import pandas as pd

    rows = [estimate(result, provider=p, **options).as_dict() for p in providers]
    return pd.DataFrame(rows)


def latency_samples(
    result: Any,
    providers: Iterable[ProviderLike] = ("memory", "redis", "upstash"),
    *,
    origin: LatencyModel | str | float | None = None,
    app: ModelLike = 0.0,
    samples: int = 50_000,
    seed: int = 0,
) -> dict[str, FloatArray]:
    """Response times (seconds) without a cache and with each provider (for latency CDFs)."""
    counts = _counts(result)
    origin_lat = origin_model(origin)
    app_lat = _as_model(app, "app")
    out: dict[str, FloatArray] = {}
    for spec in providers:
        model = provider_model(spec)
        rng = np.random.default_rng(seed)
        without, with_cache = _response_samples(counts, model, origin_lat, app_lat, samples, rng)
        out.setdefault("no cache", without)
        out[model.name] = with_cache
    return out
