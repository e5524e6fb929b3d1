"""Live replay of a freshness scenario: the real :class:`~cachesim.Cache`, in virtual time.

:func:`replay_freshness_live` replays a workload with N concurrent asyncio
clients through real ``Cache`` objects over one :class:`MemoryProvider` (one
``Cache`` per simulated process, so single flight is per process, as in
production), against the same :class:`~cachesim.sim.freshness.SlowOrigin` as
the virtual engine.  Nothing sleeps: the event loop is a
:class:`VirtualTimeLoop`, whose clock jumps to the next timer whenever every
task is waiting, and that clock is the ``ManualClock`` the cache and the
provider expire entries by.  Origin calls ``await asyncio.sleep(duration)``
in virtual time.  Hits, fills, joins, errors, latencies, ages and the
concurrent origin calls per key therefore come from the real code paths and
can be compared with :func:`~cachesim.sim.freshness.simulate_freshness` read
by read.

It replays what the cache layer implements: a TTL with single flight per
process (``lock="local"``, ``None``), plain get-then-set cache-aside
(``lock="none"``) and no cache at all (``options=None``).  Other options
raise :class:`~cachesim.errors.ConfigurationError` naming them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import math
import selectors
from typing import Any, Final

import numpy as np

from cachesim.cache import Cache, CacheEvent
from cachesim.clock import ManualClock
from cachesim.errors import ConfigurationError
from cachesim.providers.memory import MemoryProvider
from cachesim.sim.freshness import (
    ERROR,
    FALLBACK,
    FILL,
    FRESH,
    JOINED,
    STALE,
    FreshnessOptions,
    FreshnessResult,
    SlowOrigin,
    _check_run,
    _columns,
    _resolve,
    _warmup,
    build_result,
)
from cachesim.sim.workload import Workload

__all__ = ["OriginError", "VirtualTimeLoop", "replay_freshness_live"]

_MISS: Final = object()
#: The freshness counters of ``CacheStats`` a live replay reports (whole run).
COUNTERS: Final = (
    "background_refreshes",
    "early_recomputes",
    "fail_safe_activations",
    "lock_waits",
    "lock_timeouts",
)
_current: contextvars.ContextVar[int] = contextvars.ContextVar("cachesim_fresh_read", default=-1)


class OriginError(Exception):
    """The simulated origin failed this call."""


class _VirtualSelector(selectors.DefaultSelector):
    """Polls without blocking; when nothing is ready, moves the clock to the next timer."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if events:
            return events
        if timeout is None:
            raise RuntimeError(
                "the virtual-time event loop has nothing scheduled and nothing ready: "
                "a task waits for something that can never happen (a deadlock)"
            )
        if timeout > 0:
            self._clock.advance(timeout)
        return events


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose time is a :class:`ManualClock` that jumps ahead.

    ``asyncio.sleep``, ``call_later`` and ``asyncio.timeout`` all run on the
    clock: when every task waits for a timer the clock advances to it at
    once.  Only for in-process work (no real I/O should be awaited).
    """

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.clock = clock or ManualClock()
        super().__init__(_VirtualSelector(self.clock))

    def time(self) -> float:
        """The virtual clock's reading."""
        return self.clock.now()


def _check_live(options: FreshnessOptions | None) -> None:
    """Refuse what the live replay cannot reproduce read by read, saying why."""
    if options is None or options.plain:
        return
    wanted = [
        name
        for name, value in (
            ("jitter", options.jitter),
            ("grace", options.grace),
            ("fail_safe", options.fail_safe),
            ("eager_refresh", options.eager_refresh),
            ("xfetch_beta", options.xfetch_beta),
            ("soft_timeout", options.soft_timeout),
            ("hard_timeout", options.hard_timeout),
        )
        if value
    ]
    if options.lock_mode == "distributed":
        wanted.append("lock='distributed'")
    random_or_lock = [
        name
        for name in ("jitter", "xfetch_beta", "lock='distributed'")
        if name.split("=")[0] in [w.split("=")[0] for w in wanted]
    ]
    if random_or_lock or options.lock_mode == "none":
        raise ConfigurationError(
            "live replay reproduces grace, fail_safe, eager_refresh and the factory timeouts "
            "read by read; jitter and xfetch_beta draw from the cache's own random generator "
            "and the distributed lock polls with random jitter, and lock='none' has no "
            f"options path ({', '.join(random_or_lock) or 'lock=none'} asked): compare those "
            "with simulate_freshness() statistically"
        )


def _entry_options(options: FreshnessOptions) -> Any:
    """The cache layer's ``EntryOptions`` for ``options`` (only called when it exists)."""
    import cachesim

    entry_options = cachesim.EntryOptions  # type: ignore[attr-defined,unused-ignore]
    return entry_options(
        ttl=options.ttl,
        grace=options.grace,
        fail_safe=options.fail_safe,
        fail_safe_throttle=options.fail_safe_throttle,
        eager_refresh=options.eager_refresh,
        soft_timeout=options.soft_timeout,
        hard_timeout=options.hard_timeout,
    )


async def _replay(
    keys: np.ndarray,
    times: np.ndarray,
    options: FreshnessOptions | None,
    origin: SlowOrigin,
    clients: int | None,
    processes: int,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    n = keys.size
    outcomes = np.full(n, ERROR, dtype=np.uint8)
    latencies = np.zeros(n, dtype=np.float64)
    ages = np.full(n, math.nan, dtype=np.float64)
    hit = np.zeros(n, dtype=np.bool_)
    calls: list[tuple[float, int, bool]] = []
    calls_per_key: dict[int, int] = {}
    inflight: dict[int, int] = {}
    clock = loop.clock if isinstance(loop, VirtualTimeLoop) else ManualClock()

    async def call_origin(key: int) -> dict[str, float]:
        count = calls_per_key.get(key, 0)
        calls_per_key[key] = count + 1
        start = loop.time()
        duration, ok = origin.call(key, count, start)
        concurrency = inflight.get(key, 0) + 1
        inflight[key] = concurrency
        calls.append((start, concurrency, ok))
        call_id = len(calls) - 1
        try:
            await asyncio.sleep(duration)
        finally:
            inflight[key] -= 1
        if not ok:
            raise OriginError(f"origin call {count} for key {key} failed")
        return {"t": loop.time(), "c": call_id}

    def listener(event: CacheEvent) -> None:
        i = _current.get()
        if i >= 0 and event.op == "get" and event.hit:
            hit[i] = True

    provider = MemoryProvider(clock=clock, sweep_interval=None)
    caches: list[Cache] = []
    fresh_path = options is not None and not options.plain
    if options is not None:
        extra = {"options": _entry_options(options)} if fresh_path else {}
        for _ in range(processes):
            cache = Cache(
                provider, namespace="fresh", clock=clock, default_ttl=options.ttl, **extra
            )
            cache.subscribe(listener)
            await cache.initialize()
            caches.append(cache)
    local = options is not None and options.lock_mode == "local"

    async def read_with_options(i: int) -> None:
        """A read through the freshness path, classified by what it got and when."""
        assert options is not None
        key = int(keys[i])
        mine: list[int] = []

        async def factory() -> dict[str, float]:
            value = await call_origin(key)
            mine.append(int(value["c"]))
            return value

        start = loop.time()
        try:
            value = await caches[i % processes].get_or_set(f"k{key}", factory)
        except Exception:  # the origin's error or the hard timeout reaches the reader
            outcomes[i] = ERROR
        else:
            now = loop.time()
            ages[i] = now - float(value["t"])
            stale = ages[i] >= options.ttl - 1e-9
            if now == start:  # answered without waiting
                outcomes[i] = STALE if stale else FRESH
            elif stale:
                outcomes[i] = FALLBACK
            else:
                outcomes[i] = FILL if int(value["c"]) in mine else JOINED
        latencies[i] = loop.time() - float(times[i])

    async def read(i: int) -> None:
        if fresh_path:
            await read_with_options(i)
            return
        key = int(keys[i])
        called = False

        async def factory() -> dict[str, float]:
            nonlocal called
            called = True
            return await call_origin(key)

        token = _current.set(i)
        try:
            if options is None:
                value = await factory()
            elif local:
                value = await caches[i % processes].get_or_set(f"k{key}", factory, ttl=options.ttl)
            else:
                cache = caches[i % processes]
                value = await cache.get(f"k{key}", default=_MISS)
                if value is _MISS:
                    value = await factory()
                    await cache.set(f"k{key}", value, ttl=options.ttl)
        except OriginError:
            outcomes[i] = ERROR
        else:
            ages[i] = loop.time() - float(value["t"])
            outcomes[i] = FILL if called else (FRESH if hit[i] else JOINED)
        finally:
            _current.reset(token)
        latencies[i] = loop.time() - float(times[i])

    next_index = 0

    async def client() -> None:
        nonlocal next_index
        while next_index < n:
            i = next_index
            next_index += 1
            delay = float(times[i]) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await read(i)

    if clients is None:  # one client per request: start each read at its arrival
        tasks = []
        for i in range(n):
            delay = float(times[i]) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(read(i)))
        await asyncio.gather(*tasks)
    else:
        await asyncio.gather(*(client() for _ in range(clients)))
    counters: dict[str, int] = {}
    for cache in caches:
        stats = await cache.get_stats(count_keys=False)
        for name in COUNTERS:
            counters[name] = counters.get(name, 0) + int(getattr(stats, name, 0) or 0)
    for cache in caches:  # background refreshes still running are cancelled here
        await cache.disconnect()
    return {
        "outcomes": outcomes,
        "latencies": latencies,
        "ages": ages,
        "calls": calls,
        "counters": counters,
    }


def _run_in_loop(coro_factory: Any) -> Any:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro_factory())
    finally:
        loop.close()


def replay_freshness_live(
    workload: Workload,
    options: FreshnessOptions | Any | None,
    *,
    origin: SlowOrigin | None = None,
    clients: int | None = None,
    processes: int = 1,
    warmup: int | float = 0,
    limit: int | None = None,
    name: str | None = None,
) -> FreshnessResult:
    """Replay ``workload`` through real ``Cache`` objects in virtual time; same result type.

    The arguments mean what they mean for
    :func:`~cachesim.sim.freshness.simulate_freshness`.  Runs its own
    :class:`VirtualTimeLoop` (in a helper thread when called from a running
    event loop, e.g. a notebook), so it is a plain function.
    """
    resolved = _resolve(options)
    _check_live(resolved)
    origin = origin or SlowOrigin()
    keys, times = _columns(workload, limit)
    warm = _warmup(warmup, keys.size)
    _check_run(clients, processes, warm, keys.size)

    def job() -> Any:
        return _replay(keys, times, resolved, origin, clients, int(processes))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        out = _run_in_loop(job)
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            out = pool.submit(_run_in_loop, job).result()
    label = name or (resolved.label if resolved is not None else "no cache")
    result = build_result(
        name=label,
        options=resolved,
        engine="live",
        origin=origin,
        clients=clients,
        processes=int(processes),
        warmup=warm,
        times=times,
        outcomes=out["outcomes"],
        latencies=out["latencies"],
        ages=out["ages"],
        calls=out["calls"],
        refreshes=(),
        activations=(),
        soft=(),
        hard=(),
        lock_waits=(),
        lock_timeouts=(),
    )
    if resolved is not None and not resolved.plain:
        # The cache's own counters (whole run, warm-up included); it does not count
        # soft and hard timeouts apart, so those stay unknown.
        for counter, value in out["counters"].items():
            setattr(result, counter, value)
        result.soft_timeouts = result.hard_timeouts = None
    return result
