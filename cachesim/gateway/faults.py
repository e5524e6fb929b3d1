"""Fault injection: run-time switchable faults for the gateway, and a faulty provider wrapper.

Two layers, one vocabulary of seeded randomness:

* :class:`FaultController` is the switch the gateway consults on every data
  request (``/``, ``/pipeline``, ``/multi-exec``): added latency (fixed or drawn
  from a distribution) plus, at given rates, a 500, a 401, a hang, a dropped
  connection (before or after the command ran) or a malformed JSON body.  It is
  thread-safe, so a test can flip faults while the gateway runs in another thread.
* :class:`FaultyProvider` wraps any provider for faults that need no HTTP at all
  (raise before or after the real call, hang, latency) and counts what it injected.

Every random draw comes from a ``random.Random`` seeded by the plan, so a run can
be replayed; the seed in use is always reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import re
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Literal, TypeVar

from cachesim.errors import ProviderError
from cachesim.providers.base import OPERATIONS, Provider
from cachesim.providers.proxy import ProviderProxy

__all__ = [
    "FAULT_KINDS",
    "LATENCY_PRESETS",
    "PROVIDER_FAULT_KINDS",
    "FaultController",
    "FaultDecision",
    "FaultPlan",
    "FaultyProvider",
    "InjectedFault",
    "Latency",
]

logger = logging.getLogger("cachesim.gateway.faults")

T = TypeVar("T")
R = TypeVar("R")

#: Gateway faults, in the order a draw considers them.
#:
#: ``error``: HTTP 500 with a JSON error, command not run.  ``unauthorized``: HTTP
#: 401, not run.  ``hang``: no answer until the client gives up (or
#: ``hang_seconds``), not run.  ``drop``: connection closed without an answer, not
#: run.  ``drop_after``: the command runs, then the connection is closed (the
#: caller cannot know the outcome).  ``malformed``: the command runs and the answer
#: is a truncated, unparseable JSON body.
FAULT_KINDS: Final = ("error", "unauthorized", "hang", "drop", "drop_after", "malformed")

#: Provider faults (:class:`FaultyProvider`): ``error`` raises before the real call,
#: ``error_after`` raises after it ran, ``hang`` never answers.
PROVIDER_FAULT_KINDS: Final = ("error", "error_after", "hang")

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(ms|s|us)?\s*$", re.IGNORECASE)


def parse_duration(text: str) -> float:
    """``"30ms"``, ``"0.03"``, ``"0.03s"``, ``"500us"`` -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (examples: 30ms, 0.03, 0.03s)")
    value = float(match.group(1))
    unit = (match.group(2) or "s").lower()
    return value / 1000 if unit == "ms" else value / 1_000_000 if unit == "us" else value


@dataclass(frozen=True)
class Latency:
    """Added delay per request: fixed, uniform or lognormal, optionally capped.

    Lognormal is the usual shape of a network round trip: ``median`` seconds with
    spread ``sigma`` (0.3 is a stable link, 1.0 a noisy one).
    """

    kind: Literal["fixed", "uniform", "lognormal"]
    a: float
    b: float = 0.0
    cap: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("fixed", "uniform", "lognormal"):
            raise ValueError(f"latency kind must be fixed, uniform or lognormal, got {self.kind!r}")
        for value in (self.a, self.b):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"latency parameters must be finite and >= 0, got {value!r}")
        if self.kind == "uniform" and self.b < self.a:
            raise ValueError("uniform latency needs low <= high")
        if self.kind == "lognormal" and self.a <= 0:
            raise ValueError("lognormal latency needs a median > 0")
        if self.cap is not None and not self.cap >= 0:
            raise ValueError("latency cap must be >= 0 seconds")

    @classmethod
    def fixed(cls, seconds: float) -> Latency:
        """Always ``seconds``."""
        return cls("fixed", float(seconds))

    @classmethod
    def uniform(cls, low: float, high: float) -> Latency:
        """Uniform between ``low`` and ``high`` seconds."""
        return cls("uniform", float(low), float(high))

    @classmethod
    def lognormal(cls, median: float, sigma: float = 0.5, cap: float | None = None) -> Latency:
        """Lognormal with the given ``median`` (seconds) and log-space spread ``sigma``."""
        return cls("lognormal", float(median), float(sigma), cap)

    @classmethod
    def parse(cls, text: str) -> Latency:
        """Parse ``30ms``, ``uniform:10ms:50ms``, ``lognormal:30ms:0.5[:cap]`` or a preset name."""
        text = text.strip()
        if text in LATENCY_PRESETS:
            return LATENCY_PRESETS[text]
        parts = text.split(":")
        try:
            if len(parts) == 1:
                return cls.fixed(parse_duration(parts[0]))
            if parts[0] == "fixed" and len(parts) == 2:
                return cls.fixed(parse_duration(parts[1]))
            if parts[0] == "uniform" and len(parts) == 3:
                return cls.uniform(parse_duration(parts[1]), parse_duration(parts[2]))
            if parts[0] == "lognormal" and len(parts) in (3, 4):
                cap = parse_duration(parts[3]) if len(parts) == 4 else None
                return cls.lognormal(parse_duration(parts[1]), float(parts[2]), cap)
        except ValueError as exc:
            raise ValueError(f"bad latency {text!r}: {exc}") from None
        presets = ", ".join(sorted(LATENCY_PRESETS))
        raise ValueError(
            f"bad latency {text!r}: use 30ms, uniform:10ms:50ms, lognormal:30ms:0.5[:cap] "
            f"or a preset ({presets})"
        )

    def sample(self, rng: random.Random) -> float:
        """Draw one delay in seconds."""
        if self.kind == "fixed":
            value = self.a
        elif self.kind == "uniform":
            value = rng.uniform(self.a, self.b)
        else:
            value = rng.lognormvariate(math.log(self.a), self.b)
        return value if self.cap is None else min(value, self.cap)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the admin endpoint accepts it back)."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "fixed":
            out["seconds"] = self.a
        elif self.kind == "uniform":
            out.update(low=self.a, high=self.b)
        else:
            out.update(median=self.a, sigma=self.b)
        if self.cap is not None:
            out["cap"] = self.cap
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | str) -> Latency:
        """Inverse of :meth:`to_dict`; also accepts the :meth:`parse` text forms."""
        if isinstance(data, str):
            return cls.parse(data)
        kind = data.get("kind", "fixed")
        cap = data.get("cap")
        cap = None if cap is None else float(cap)
        if kind == "fixed":
            return cls("fixed", float(data["seconds"]), cap=cap)
        if kind == "uniform":
            return cls("uniform", float(data["low"]), float(data["high"]), cap)
        if kind == "lognormal":
            return cls("lognormal", float(data["median"]), float(data.get("sigma", 0.5)), cap)
        raise ValueError(f"latency kind must be fixed, uniform or lognormal, got {kind!r}")


#: Rough round-trip shapes for emulating where an Upstash database sits relative
#: to the caller.  They are assumptions for experiments, not measurements.
LATENCY_PRESETS: Final[dict[str, Latency]] = {
    "same-region": Latency.lognormal(0.003, 0.4, cap=0.25),
    "same-continent": Latency.lognormal(0.030, 0.35, cap=0.5),
    "cross-ocean": Latency.lognormal(0.110, 0.25, cap=1.0),
}


def _check_rates(rates: Mapping[str, float], kinds: Sequence[str]) -> dict[str, float]:
    clean: dict[str, float] = {}
    for kind, rate in rates.items():
        if kind not in kinds:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(kinds)}")
        rate = float(rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault rate for {kind!r} must be within [0, 1], got {rate!r}")
        if rate:
            clean[kind] = rate
    if sum(clean.values()) > 1.0 + 1e-9:
        raise ValueError(f"fault rates add up to more than 1: {clean}")
    return clean


@dataclass(frozen=True)
class FaultPlan:
    """What to inject: a rate per fault kind (at most one fault per request), plus latency."""

    rates: Mapping[str, float] = field(default_factory=dict)
    latency: Latency | None = None
    hang_seconds: float = 30.0
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rates", _check_rates(self.rates, FAULT_KINDS))
        if not self.hang_seconds > 0:
            raise ValueError(f"hang_seconds must be > 0, got {self.hang_seconds!r}")

    @property
    def active(self) -> bool:
        """Whether anything at all would be injected."""
        return bool(self.rates) or self.latency is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as served by the admin endpoint."""
        return {
            "rates": dict(self.rates),
            "latency": None if self.latency is None else self.latency.to_dict(),
            "hang_seconds": self.hang_seconds,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultPlan:
        """Build from the admin endpoint's JSON (``rates`` may also be given inline)."""
        known = {"rates", "latency", "hang_seconds", "seed"}
        rates = dict(data.get("rates") or {})
        for key, value in data.items():
            if key in FAULT_KINDS:
                rates[key] = value
            elif key not in known:
                raise ValueError(f"unknown fault setting {key!r}")
        latency = data.get("latency")
        seed = data.get("seed")
        return cls(
            rates={k: float(v) for k, v in rates.items()},
            latency=None if latency is None else Latency.from_dict(latency),
            hang_seconds=float(data.get("hang_seconds", 30.0)),
            seed=None if seed is None else int(seed),
        )


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do to one request: sleep ``delay`` seconds, then apply ``fault`` (or not)."""

    delay: float
    fault: str | None
    hang_seconds: float


_NO_FAULT: Final = FaultDecision(0.0, None, 30.0)


def _draw_fault(rng: random.Random, rates: Mapping[str, float], kinds: Sequence[str]) -> str | None:
    """One draw over ``kinds`` in order, each taking its rate's share of [0, 1); None = no fault.

    Draws nothing from ``rng`` when ``rates`` is empty.
    """
    if not rates:
        return None
    draw = rng.random()
    for kind in kinds:
        rate = rates.get(kind, 0.0)
        if draw < rate:
            return kind
        draw -= rate
    return None


class _FaultSwitch(ABC, Generic[R]):
    """``set`` and ``injected`` for a fault switch, over its ``plan`` and ``install``."""

    @property
    @abstractmethod
    def plan(self) -> FaultPlan:
        """The faults in force."""

    @abstractmethod
    def install(self, plan: FaultPlan) -> R:
        """Put ``plan`` in force."""

    def set(
        self,
        *,
        latency: Latency | str | None = None,
        hang_seconds: float = 30.0,
        seed: int | None = None,
        **rates: float,
    ) -> R:
        """Replace the plan: ``set(error=0.1, hang=0.05, latency="lognormal:30ms:0.5", seed=1)``."""
        if isinstance(latency, str):
            latency = Latency.parse(latency)
        return self.install(FaultPlan(rates, latency, hang_seconds, seed))

    @contextlib.contextmanager
    def injected(
        self,
        *,
        latency: Latency | str | None = None,
        hang_seconds: float = 30.0,
        seed: int | None = None,
        **rates: float,
    ) -> Iterator[R]:
        """Inject the given faults inside a ``with`` block, then restore the previous plan."""
        previous = self.plan
        try:
            yield self.set(latency=latency, hang_seconds=hang_seconds, seed=seed, **rates)
        finally:
            self.install(previous)


class FaultController(_FaultSwitch[FaultPlan]):
    """Run-time switch for the gateway's faults; safe to use from any thread.

    ``set(...)`` replaces the whole plan and reseeds the random source, so a plan
    with a seed replays the same sequence of decisions; ``injected(...)`` does
    the same for a ``with`` block and restores the previous plan afterwards.
    """

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self._plan = FaultPlan()
        self._rng = random.Random()
        self._counts: Counter[str] = Counter()
        self._requests = 0
        self.install(plan or FaultPlan())

    @property
    def plan(self) -> FaultPlan:
        """The plan in force."""
        return self._plan

    def install(self, plan: FaultPlan) -> FaultPlan:
        """Put ``plan`` in force (a plan without a seed gets a random one, recorded in it)."""
        if plan.seed is None:
            plan = FaultPlan(plan.rates, plan.latency, plan.hang_seconds, random.randrange(2**32))
        with self._lock:
            self._plan = plan
            self._rng = random.Random(plan.seed)
        if plan.active:
            logger.info("gateway faults set: %s", plan.to_dict())
        return plan

    def clear(self) -> None:
        """Inject nothing from now on (counters are kept)."""
        self.install(FaultPlan(seed=0))

    def decide(self) -> FaultDecision:
        """Draw the fate of one request (counted)."""
        with self._lock:
            plan = self._plan
            self._requests += 1
            if not plan.active:
                return _NO_FAULT
            delay = 0.0 if plan.latency is None else plan.latency.sample(self._rng)
            fault = _draw_fault(self._rng, plan.rates, FAULT_KINDS)
            if fault is not None:
                self._counts[fault] += 1
            if delay > 0:
                self._counts["latency"] += 1
            return FaultDecision(delay, fault, plan.hang_seconds)

    @property
    def counts(self) -> dict[str, int]:
        """Injected faults so far by kind (``latency`` counts delayed requests)."""
        with self._lock:
            return dict(self._counts)

    @property
    def requests(self) -> int:
        """Authenticated data requests seen so far (faulted or not)."""
        return self._requests

    def reset_counts(self) -> None:
        """Zero the counters."""
        with self._lock:
            self._counts.clear()
            self._requests = 0

    def snapshot(self) -> dict[str, Any]:
        """Plan and counters as JSON (what the admin endpoint returns)."""
        with self._lock:
            return {
                "plan": self._plan.to_dict(),
                "requests": self._requests,
                "injected": dict(self._counts),
            }


class InjectedFault(ProviderError):
    """A failure injected by :class:`FaultyProvider` (never a real backend error)."""


#: Every backend operation; closing and reading figures are never faulted.
_FAULTABLE_OPS: Final = frozenset(OPERATIONS) - {"disconnect", "get_stats"}


class FaultyProvider(ProviderProxy):
    """Wrap a provider and inject faults into its calls, with counters.

    ``error`` raises :class:`InjectedFault` before the real call; ``error_after``
    makes the real call and then raises (the caller cannot know a write landed);
    ``hang`` sleeps ``hang_seconds`` (the cache's timeout should cut it short);
    ``latency`` delays every call.  ``ops`` limits injection to some operations
    (default: every backend operation; ``disconnect`` and ``get_stats`` are never
    faulted).  The wrapper reports ``in_process = False`` so :class:`~cachesim.Cache`
    applies its timeout, as it would to a network provider.
    """

    def __init__(
        self,
        inner: Provider,
        *,
        error: float = 0.0,
        error_after: float = 0.0,
        hang: float = 0.0,
        latency: Latency | str | None = None,
        hang_seconds: float = 30.0,
        seed: int | None = None,
        ops: Sequence[str] | None = None,
    ) -> None:
        super().__init__(inner)
        self.injected: Counter[str] = Counter()
        self.calls = 0
        self._rng = random.Random()
        self._rates: dict[str, float] = {}
        self._latency: Latency | None = None
        self._ops: frozenset[str] = _FAULTABLE_OPS
        self.hang_seconds = hang_seconds
        self.seed: int | None = None
        self.set_faults(
            error=error,
            error_after=error_after,
            hang=hang,
            latency=latency,
            hang_seconds=hang_seconds,
            seed=seed,
            ops=ops,
        )

    # -- configuration ------------------------------------------------------------
    def set_faults(
        self,
        *,
        error: float = 0.0,
        error_after: float = 0.0,
        hang: float = 0.0,
        latency: Latency | str | None = None,
        hang_seconds: float = 30.0,
        seed: int | None = None,
        ops: Sequence[str] | None = None,
    ) -> None:
        """Replace the faults in force (and reseed; a random seed is recorded in ``seed``)."""
        rates = _check_rates(
            {"error": error, "error_after": error_after, "hang": hang}, PROVIDER_FAULT_KINDS
        )
        if ops is not None:
            unknown = set(ops) - _FAULTABLE_OPS
            if unknown:
                raise ValueError(
                    f"cannot fault {sorted(unknown)}; faultable: {sorted(_FAULTABLE_OPS)}"
                )
        if not hang_seconds > 0:
            raise ValueError(f"hang_seconds must be > 0, got {hang_seconds!r}")
        self._rates = rates
        self._latency = Latency.parse(latency) if isinstance(latency, str) else latency
        self._ops = _FAULTABLE_OPS if ops is None else frozenset(ops)
        self.hang_seconds = hang_seconds
        self.seed = random.randrange(2**32) if seed is None else seed
        self._rng = random.Random(self.seed)

    def clear_faults(self) -> None:
        """Stop injecting (counters are kept)."""
        self.set_faults(seed=self.seed)

    @property
    def faults_injected(self) -> int:
        """Total faults injected (latency not included)."""
        return sum(v for k, v in self.injected.items() if k != "latency")

    # -- provider surface ---------------------------------------------------------
    @property
    def in_process(self) -> bool:
        """Always False: injected hangs must be bounded by the cache's timeout."""
        return False

    def __repr__(self) -> str:
        return f"FaultyProvider({self.inner!r}, rates={self._rates}, seed={self.seed})"

    async def _run(self, op: str, call: Callable[[], Awaitable[T]]) -> T:
        self.calls += 1
        if op not in self._ops:
            return await call()
        delay = 0.0 if self._latency is None else self._latency.sample(self._rng)
        fault = _draw_fault(self._rng, self._rates, PROVIDER_FAULT_KINDS)
        if delay > 0:
            self.injected["latency"] += 1
            await asyncio.sleep(delay)
        if fault is None:
            return await call()
        self.injected[fault] += 1
        if fault == "error":
            raise InjectedFault(f"injected fault: {op} failed before reaching the backend")
        if fault == "hang":
            await asyncio.sleep(self.hang_seconds)
            raise InjectedFault(f"injected fault: {op} hung for {self.hang_seconds} s")
        await call()
        raise InjectedFault(f"injected fault: {op} ran but its answer was lost")

    async def _call(self, op: str, *args: Any) -> Any:
        """Every provider operation, with faults where ``ops`` allows them."""
        return await self._run(op, lambda: getattr(self.inner, op)(*args))

    async def get_stats(self) -> dict[str, Any]:
        """The wrapped provider's figures plus the injection counters (never faulted)."""
        stats = dict(await self.inner.get_stats())
        stats["faults_injected"] = dict(self.injected)
        stats["fault_seed"] = self.seed
        return stats
