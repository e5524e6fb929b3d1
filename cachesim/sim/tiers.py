"""Predict a tiered cache (N instances, each with an L1, sharing one L2) from a workload.

:func:`simulate_tiers` replays a workload over ``instances`` virtual instances
(requests spread at random or by key), each with an L1 on the same eviction core
as :class:`~cachesim.providers.MemoryProvider`, over one shared L2, and applies
other instances' changes to each L1 when the backplane would deliver them (after
``propagation`` for pub/sub, at the instance's next poll for a polled log).  It
counts L1 and L2 hits, the L2 commands :class:`~cachesim.providers.TieredProvider`
sends (Upstash bills each), and every stale L1 read with its age: the staleness
window.  :func:`replay_tiers_live` replays the same requests through N real
``TieredProvider`` instances on a manual clock, to validate the prediction.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from cachesim.policies import MISSING, make_store
from cachesim.sim.models import UPSTASH_PAYG, LatencyModel, Pricing
from cachesim.sim.workload import OP_DELETE, OP_GET, OP_SET, Workload

__all__ = ["TierOptions", "TierResult", "replay_tiers_live", "simulate_tiers"]

Backplane = Literal["local", "pubsub", "polling", "none"]

#: Commands one operation sends to L2 (beyond the backplane), as TieredProvider sends them.
_READ = ("GET", "PTTL")  # one round trip, two billed commands


@dataclass(frozen=True)
class TierOptions:
    """The deployment to predict (names follow ``TieredProvider`` and the backplanes)."""

    instances: int = 4
    l1_size: int = 1000
    l1_policy: str = "lru"
    l1_ttl_cap: float | None = 60.0
    ttl: float | None = 3600.0
    l2_size: int | None = None
    backplane: Backplane = "polling"
    poll_interval: float = 0.5
    propagation: float = 0.002
    routing: Literal["random", "key"] = "random"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.instances < 1 or self.l1_size < 1:
            raise ValueError("instances and l1_size must be >= 1")
        if self.backplane not in ("local", "pubsub", "polling", "none"):
            raise ValueError(f"backplane must be local, pubsub, polling or none: {self.backplane}")
        if self.poll_interval <= 0 or self.propagation < 0:
            raise ValueError("poll_interval must be > 0 and propagation >= 0 seconds")


@dataclass
class TierResult:
    """What a tiered deployment did (or is predicted to do) with a workload."""

    options: TierOptions
    requests: int
    reads: int
    l1_hits: int
    l2_hits: int
    l2_misses: int
    writes: int
    deletes: int
    seconds: float
    commands_by_name: dict[str, int] = field(default_factory=dict)
    #: The same traffic on L2 alone: a GET per read, a SET per fill or write, an UNLINK per
    #: delete (L2's contents taken as in the tiered run).
    baseline_commands: int = 0
    stale_reads: int = 0
    staleness: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    engine: str = "simulated"

    @property
    def l1_hit_ratio(self) -> float:
        """L1 hits per read."""
        return self.l1_hits / self.reads if self.reads else 0.0

    @property
    def l2_hit_ratio(self) -> float:
        """L2 hits per read that missed L1."""
        below = self.l2_hits + self.l2_misses
        return self.l2_hits / below if below else 0.0

    @property
    def hit_ratio(self) -> float:
        """Reads served by either tier."""
        return (self.l1_hits + self.l2_hits) / self.reads if self.reads else 0.0

    @property
    def l2_commands(self) -> int:
        """Every command sent to L2, backplane (publishes, polls) included."""
        return sum(self.commands_by_name.values())

    def commands_per_1000(self, *, baseline: bool = False) -> float:
        """L2 commands per 1,000 requests (``baseline``: the same traffic without L1)."""
        total = self.baseline_commands if baseline else self.l2_commands
        return 1000 * total / self.requests if self.requests else 0.0

    def staleness_ms(self, q: float = 99) -> float:
        """Percentile ``q`` of the age of stale L1 reads (0 when there were none)."""
        return float(np.percentile(self.staleness, q) * 1000) if self.staleness.size else 0.0

    def latency_ms(
        self,
        l2: LatencyModel,
        l1: LatencyModel | None = None,
        *,
        baseline: bool = False,
        n: int = 20_000,
        seed: int = 0,
    ) -> tuple[float, float]:
        """(p50, p99) read latency in ms: L1 hits cost ``l1``, every L2 round trip ``l2``.

        A read that misses both tiers costs a read and a write round trip (the
        fill; one more for the backplane's publish).  ``baseline`` gives the same
        for the traffic without L1.
        """
        l1 = l1 or LatencyModel.fixed(0.00002)
        rng = np.random.default_rng(seed)
        if not self.reads:
            return 0.0, 0.0
        if baseline:
            p = [0.0, self.hit_ratio, 1 - self.hit_ratio]
            trips = (0, 1, 2)
        else:
            p = [self.l1_hit_ratio, self.l2_hits / self.reads, self.l2_misses / self.reads]
            publish = 0 if self.options.backplane in ("none", "local") else 1
            trips = (0, 1, 2 + publish)
        kind = rng.choice(3, size=n, p=np.asarray(p) / sum(p))
        total = np.where(kind == 0, l1.sample(n, rng), 0.0)
        for k, count in enumerate(trips):
            for _ in range(count):
                total = total + np.where(kind == k, l2.sample(n, rng), 0.0)
        return float(np.percentile(total, 50) * 1000), float(np.percentile(total, 99) * 1000)

    def monthly_cost(self, requests_per_second: float, pricing: Pricing = UPSTASH_PAYG) -> float:
        """Dollars per month for the L2 commands at this request rate (Upstash by default)."""
        per_request = self.l2_commands / self.requests if self.requests else 0.0
        return pricing.monthly_cost(per_request * requests_per_second * 30 * 86_400)

    def as_dict(self) -> dict[str, Any]:
        """Flat figures (options included) for a DataFrame row."""
        row: dict[str, Any] = asdict(self.options)
        row.update(
            engine=self.engine,
            requests=self.requests,
            reads=self.reads,
            l1_hit_ratio=self.l1_hit_ratio,
            l2_hit_ratio=self.l2_hit_ratio,
            hit_ratio=self.hit_ratio,
            l2_commands=self.l2_commands,
            commands_per_1000=self.commands_per_1000(),
            baseline_commands_per_1000=self.commands_per_1000(baseline=True),
            stale_reads=self.stale_reads,
            staleness_p99_ms=self.staleness_ms(99),
            staleness_max_ms=self.staleness_ms(100),
        )
        return row

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of :meth:`as_dict`."""
        return pd.DataFrame([self.as_dict()])


def _columns(workload: Workload, options: TierOptions) -> tuple[Any, Any, Any, Any, Any]:
    n = len(workload)
    keys = workload.key
    ops = workload.op if workload.op is not None else np.full(n, OP_GET, dtype=np.uint8)
    times = workload.time if workload.time is not None else np.arange(n, dtype=np.float64)
    default = math.inf if options.ttl is None else options.ttl
    ttls = (
        np.where(np.isnan(workload.ttl), default, workload.ttl).astype(np.float64)
        if workload.ttl is not None
        else np.full(n, default)
    )
    rng = np.random.default_rng(options.seed)
    if options.routing == "key":
        who = (keys * 2654435761 % 2**32) % options.instances
    else:
        who = rng.integers(0, options.instances, size=n)
    return keys, ops, times, ttls, who


def _l1_expiry(now: float, l2_expires: float | None, cap: float | None) -> float | None:
    expires = l2_expires
    if cap is not None:
        capped = now + cap
        expires = capped if expires is None else min(expires, capped)
    return expires


def simulate_tiers(
    workload: Workload, options: TierOptions | None = None, **overrides: Any
) -> TierResult:
    """Replay ``workload`` over ``options.instances`` tiered instances; return the prediction."""
    options = replace(options or TierOptions(), **overrides)
    keys, ops, times, ttls, who = _columns(workload, options)
    n_inst = options.instances
    l1s = [make_store(options.l1_policy, options.l1_size) for _ in range(n_inst)]
    l2 = make_store("lru", options.l2_size)
    cap = options.l1_ttl_cap
    commands: Counter[str] = Counter()
    baseline = 0
    version: dict[int, int] = {}  # key -> number of changes so far
    changed: dict[int, list[float]] = {}  # key -> time of each change
    pending: list[tuple[float, int, int]] = []  # (deliver at, instance, key)
    phase = np.random.default_rng(options.seed + 1).random(n_inst) * options.poll_interval
    publish = {"none": None, "local": None, "pubsub": "PUBLISH", "polling": "XADD"}
    publish_cmd = publish[options.backplane]
    reads = l1_hits = l2_hits = l2_misses = writes = deletes = 0
    stale_ages: list[float] = []

    def deliver_time(now: float, instance: int) -> float:
        if options.backplane == "pubsub":
            return now + options.propagation
        interval, start = options.poll_interval, float(phase[instance])
        return start + math.ceil((now - start) / interval) * interval

    def change(key: int, now: float, source: int) -> None:
        version[key] = version.get(key, 0) + 1
        changed.setdefault(key, []).append(now)
        l1s[source].delete(key)
        if publish_cmd is not None:
            commands[publish_cmd] += 1
        if options.backplane == "none":
            return
        for other in range(n_inst):
            if other == source:
                continue
            if options.backplane == "local":
                l1s[other].delete(key)
            else:
                heapq.heappush(pending, (deliver_time(now, other), other, key))

    for i in range(len(keys)):
        now = float(times[i])
        while pending and pending[0][0] <= now:
            _, other, key = heapq.heappop(pending)
            l1s[other].delete(key)
        key, op, inst = int(keys[i]), int(ops[i]), int(who[i])
        ttl = float(ttls[i])
        l2_expiry = None if math.isinf(ttl) else now + ttl
        if op == OP_GET:
            reads += 1
            baseline += 1  # without L1 every read is a GET
            cached = l1s[inst].get(key, now)
            if cached is not MISSING:
                l1_hits += 1
                current = version.get(key, 0)
                if cached != current:
                    stale_ages.append(now - changed[key][cached])
                continue
            for name in _READ:
                commands[name] += 1
            present = l2.get(key, now)
            if present is not MISSING:
                l2_hits += 1
                expires = _l1_expiry(now, l2.expires_at(key), cap)
                if expires is None or expires > now:
                    l1s[inst].put(key, version.get(key, 0), expires, now)
                continue
            l2_misses += 1
            commands["SET"] += 1
            baseline += 1
            l2.put(key, 1, l2_expiry, now)
            change(key, now, inst)
        elif op == OP_SET:
            writes += 1
            commands["SET"] += 1
            baseline += 1
            l2.put(key, 1, l2_expiry, now)
            change(key, now, inst)
        elif op == OP_DELETE:
            deletes += 1
            commands["UNLINK"] += 1
            baseline += 1
            l2.delete(key)
            change(key, now, inst)
    seconds = float(times[-1] - times[0]) if len(times) > 1 else 0.0
    if options.backplane == "polling":
        commands["XRANGE"] += int(n_inst * seconds / options.poll_interval)
    return TierResult(
        options=options,
        requests=len(keys),
        reads=reads,
        l1_hits=l1_hits,
        l2_hits=l2_hits,
        l2_misses=l2_misses,
        writes=writes,
        deletes=deletes,
        seconds=seconds,
        commands_by_name=dict(commands),
        baseline_commands=baseline,
        stale_reads=len(stale_ages),
        staleness=np.asarray(stale_ages, dtype=np.float64),
    )


async def replay_tiers_live(
    workload: Workload, options: TierOptions | None = None, **overrides: Any
) -> TierResult:
    """Replay through N real ``TieredProvider`` + ``Cache`` instances (local bus, manual clock).

    L1s and the shared memory L2 run on one :class:`~cachesim.clock.ManualClock`
    set to each request's time; reads use ``get_or_set`` (a miss fills), writes
    ``set``, deletes ``delete``, exactly as a cache-aside service would.
    """
    from cachesim.backplane import LocalBackplane, LocalBus
    from cachesim.cache import Cache
    from cachesim.clock import ManualClock
    from cachesim.providers.memory import MemoryProvider
    from cachesim.providers.tiered import TieredProvider

    options = replace(options or TierOptions(), **overrides)
    if options.backplane not in ("local", "none"):
        raise ValueError("the live replay runs the in-process backplane: backplane='local'")
    keys, ops, times, ttls, who = _columns(workload, options)
    clock = ManualClock(float(times[0]) if len(times) else 0.0)
    l2 = MemoryProvider(max_entries=options.l2_size, clock=clock, sweep_interval=None)
    bus = LocalBus()
    tiers = [
        TieredProvider(
            l1=MemoryProvider(
                max_entries=options.l1_size,
                policy=options.l1_policy,
                clock=clock,
                sweep_interval=None,
            ),
            l2=l2,
            backplane=LocalBackplane(bus) if options.backplane == "local" else None,
            l1_ttl_cap=options.l1_ttl_cap,
        )
        for _ in range(options.instances)
    ]
    caches = [Cache(t, namespace="live", clock=clock) for t in tiers]
    for cache in caches:
        await cache.initialize()
    try:
        reads = writes = deletes = 0
        for i in range(len(keys)):
            clock.set(max(clock.now(), float(times[i])))
            cache = caches[int(who[i])]
            key, op = str(int(keys[i])), int(ops[i])
            ttl = float(ttls[i])
            if op == OP_GET:
                reads += 1
                await cache.get_or_set(key, lambda: 1, ttl=ttl)
            elif op == OP_SET:
                writes += 1
                await cache.set(key, 1, ttl=ttl)
            elif op == OP_DELETE:
                deletes += 1
                await cache.delete(key)
    finally:
        for cache in caches:
            await cache.disconnect()
    return TierResult(
        options=options,
        requests=len(keys),
        reads=reads,
        l1_hits=sum(t.l1_hits for t in tiers),
        l2_hits=sum(t.l2_hits for t in tiers),
        l2_misses=sum(t.l2_misses for t in tiers),
        writes=writes,
        deletes=deletes,
        seconds=float(times[-1] - times[0]) if len(times) > 1 else 0.0,
        engine="live",
    )
