"""A two-tier provider: a small in-process L1 in front of a shared L2, kept honest by a backplane.

Reads try L1, then L2; an L2 hit fills L1 with the entry's *remaining* TTL read from
L2 (never longer), capped by ``l1_ttl_cap``.  Writes, deletes, bulk operations,
pattern invalidations and clears go to L2, drop the affected L1 entries here, and
are published on the backplane so every other instance drops them too.

The staleness bound is enforced by mechanism, not hope: L1 is served only while the
backplane proves it is in touch (``now - backplane.synced_at() <= staleness_bound``);
otherwise reads go to L2 and L1 is dropped.  A read never fills L1 if an invalidation
of that key (or a pattern/clear) arrived while it was reading L2.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from cachesim.backplane.base import Backplane, Change
from cachesim.backplane.local import LocalBackplane
from cachesim.backplane.polling import PollingBackplane
from cachesim.errors import ConfigurationError
from cachesim.keys import compile_glob
from cachesim.policies import MISSING
from cachesim.providers.base import Provider
from cachesim.providers.capabilities import Capability
from cachesim.providers.memory import MemoryProvider
from cachesim.providers.resp import ttl_ms

__all__ = ["TieredProvider", "l1_bypass"]

logger = logging.getLogger("cachesim.providers.tiered")

_BYPASS: contextvars.ContextVar[bool] = contextvars.ContextVar("cachesim_l1_bypass", default=False)

#: Capabilities a tiered provider never claims, whatever its L2 does: its L1 may keep an
#: entry that L2 evicted (EVICTION), and an L1 miss costs GET + PTTL, an L1 hit nothing
#: (the one-command-per-hit accounting of COMMAND_ACCOUNTING does not hold).
_NOT_INHERITED = frozenset({Capability.EVICTION, Capability.COMMAND_ACCOUNTING})


@contextlib.contextmanager
def l1_bypass() -> Iterator[None]:
    """Within this block (this task and tasks it starts), tiered reads skip L1.

    ``with l1_bypass(): await cache.get(key)`` reads L2 and does not fill L1: for
    the reads that must see other instances' writes at once (read-modify-write,
    checks after a deploy).
    """
    token = _BYPASS.set(True)
    try:
        yield
    finally:
        _BYPASS.reset(token)


def _positive(name: str, value: object, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


class _NoBackplane:
    """A single instance: nothing to hear, always in sync."""

    instance_id = "single"

    async def start(self, on_change: Any, on_reset: Any, l2: Any, bound: float) -> None:
        """Nothing to start."""

    async def publish(self, change: Change) -> None:
        """Nobody to tell."""

    def publish_later(self, change: Change) -> None:
        """Nobody to tell."""

    def synced_at(self) -> float:
        """Always in sync."""
        return math.inf

    async def stop(self) -> None:
        """Nothing to stop."""

    def stats(self) -> dict[str, int]:
        """No counters."""
        return {}

    def __repr__(self) -> str:
        return "None"


class TieredProvider:
    """L1 (an in-process :class:`MemoryProvider`) over a shared L2, with a backplane.

    ``l1`` must be bounded (``max_entries``); ``l1_ttl_cap`` (seconds, default 60)
    bounds how long any entry lives in L1; ``staleness_bound`` (seconds, default 2)
    is how far behind other instances' changes an L1 read may be: beyond it the
    backplane is considered lost, L1 is dropped and reads go to L2 until it is back.
    ``backplane=None`` is for a single instance (others' changes are then seen
    after at most ``l1_ttl_cap``).  ``fill_on_write`` also puts written values in
    L1 (default off: the next read fills it with L2's authoritative remaining TTL).
    """

    def __init__(
        self,
        l1: MemoryProvider | None = None,
        l2: Provider | None = None,
        backplane: Backplane | None = None,
        *,
        l1_ttl_cap: float | None = 60.0,
        staleness_bound: float = 2.0,
        fill_on_write: bool = False,
    ) -> None:
        if l2 is None:
            raise ConfigurationError(
                "TieredProvider needs l2= (the shared provider, e.g. RedisProvider.from_url(url))"
            )
        if isinstance(l2, TieredProvider):
            raise ConfigurationError("l2 must be a shared provider, not another TieredProvider")
        l1 = l1 if l1 is not None else MemoryProvider(max_entries=10_000)
        if not isinstance(l1, MemoryProvider):
            raise ConfigurationError(
                f"l1 must be a MemoryProvider (got {type(l1).__name__}): "
                "the L1 is invalidated synchronously by the backplane"
            )
        if l1.max_entries is None:
            raise ConfigurationError(
                "the L1 must be bounded: pass l1=MemoryProvider(max_entries=N)"
            )
        self.l1 = l1
        self.l2 = l2
        self.l1_ttl_cap = _positive("l1_ttl_cap", l1_ttl_cap, allow_none=True)
        bound = _positive("staleness_bound", staleness_bound)
        assert bound is not None
        self.staleness_bound = bound
        interval = getattr(backplane, "interval", None)
        if isinstance(interval, int | float) and interval >= bound:
            raise ConfigurationError(
                f"the backplane polls every {interval} s but staleness_bound is {bound} s: "
                "the bound must exceed the poll interval (e.g. 4x it)"
            )
        self.backplane: Backplane = backplane if backplane is not None else _NoBackplane()
        self.fill_on_write = bool(fill_on_write)
        self._store = l1.store
        self._epoch = 0  # bumped by every pattern / clear / reset of L1
        self._reading: dict[str, int] = {}  # keys with an L2 read in flight -> readers
        self._key_gen: dict[str, int] = {}  # ... -> invalidations seen meanwhile
        self._usable = False
        self.l1_hits = self.l1_misses = self.l2_hits = self.l2_misses = 0
        self.l1_fills = self.fills_skipped = self.bypassed_reads = 0
        self.l1_invalidations = self.l1_resets = self.backplane_losses = 0

    # -- provider description -----------------------------------------------------
    @property
    def name(self) -> str:
        """``tiered-<l2 name>``."""
        return f"tiered-{getattr(self.l2, 'name', 'custom')}"

    @property
    def capabilities(self) -> frozenset[Capability]:
        """L2's capabilities, minus eviction and per-hit command accounting.

        The clock is injectable only when both tiers take one.
        """
        caps = frozenset(getattr(self.l2, "capabilities", frozenset())) - _NOT_INHERITED
        if Capability.CLOCK_INJECTABLE not in self.l1.capabilities:
            caps -= {Capability.CLOCK_INJECTABLE}
        return caps

    @property
    def max_value_bytes(self) -> int | None:
        """The smaller of the tiers' limits."""
        limits = [v for v in (self.l1.max_value_bytes, self.l2.max_value_bytes) if v]
        return min(limits) if limits else None

    @property
    def in_process(self) -> bool:
        """In-process only when L2 and the backplane are."""
        return bool(getattr(self.l2, "in_process", False)) and isinstance(
            self.backplane, LocalBackplane | _NoBackplane
        )

    @property
    def clock(self) -> Any:
        """L1's clock (TTLs in L1 are measured on it)."""
        return self.l1.clock

    @clock.setter
    def clock(self, clock: Any) -> None:
        self.l1.clock = clock
        self.l1._now = clock.now
        if hasattr(self.l2, "clock"):
            self.l2.clock = clock
            if isinstance(self.l2, MemoryProvider):
                self.l2._now = clock.now

    def __repr__(self) -> str:
        return f"TieredProvider(l1={self.l1!r}, l2={self.l2!r}, backplane={self.backplane!r})"

    # -- lifecycle ----------------------------------------------------------------
    async def initialize(self) -> None:
        """Connect L2, start L1's sweep and the backplane (idempotent)."""
        await self.l2.initialize()
        await self.l1.initialize()
        await self.backplane.start(self._on_change, self._on_reset, self.l2, self.staleness_bound)

    async def disconnect(self) -> None:
        """Stop the backplane and release both tiers; L1 is emptied."""
        try:
            await self.backplane.stop()
        finally:
            self._drop_l1()
            await self.l1.disconnect()
            await self.l2.disconnect()

    # -- L1 bookkeeping -----------------------------------------------------------
    def l1_active(self) -> bool:
        """Whether L1 is being served now (the backplane is in touch within the bound)."""
        return self._l1_ok()

    def _l1_ok(self) -> bool:
        """Whether L1 may be used now (the backplane is in touch); drop it when not."""
        if _BYPASS.get():
            return False
        fresh = time.monotonic() - self.backplane.synced_at() <= self.staleness_bound
        if fresh:
            self._usable = True
        elif self._usable:
            self._usable = False
            self.backplane_losses += 1
            logger.warning(
                "tiered cache: backplane out of touch for more than %.3g s; L1 dropped and "
                "bypassed until it is back",
                self.staleness_bound,
            )
            self._drop_l1()
        return fresh

    def _drop_l1(self) -> None:
        self._epoch += 1
        if len(self._store):
            self.l1_resets += 1
        self._store.clear()

    def _forget(self, keys: Sequence[str]) -> None:
        store, reading, gen = self._store, self._reading, self._key_gen
        for key in keys:
            store.delete(key)
            if key in reading:
                gen[key] = gen.get(key, 0) + 1

    def _forget_matching(self, pattern: str) -> None:
        self._epoch += 1
        match = compile_glob(pattern).match
        for key in list(self._store.keys(self.l1.clock.now())):
            if match(key.encode("utf-8")):
                self._store.delete(key)

    def _forget_namespace(self, namespace: str) -> None:
        self._epoch += 1
        prefix = namespace + ":"
        for key in list(self._store.keys(self.l1.clock.now())):
            if key.startswith(prefix):
                self._store.delete(key)

    def _on_change(self, change: Change) -> None:
        """Apply another instance's change to L1 (called by the backplane)."""
        if change.op == "keys":
            self.l1_invalidations += len(change.keys)
            self._forget(change.keys)
        elif change.op == "pattern" and change.pattern is not None:
            self._forget_matching(change.pattern)
        elif change.op == "clear" and change.namespace is not None:
            self._forget_namespace(change.namespace)
        else:
            self._drop_l1()

    def _on_reset(self) -> None:
        """The backplane may have missed changes: L1 goes."""
        self._drop_l1()

    def _l1_ttl(self, started: float, remaining: float | None) -> float | None:
        """Absolute L1 expiry: L2's remaining TTL from when the read began, then the cap."""
        expires = None if remaining is None else started + remaining
        if self.l1_ttl_cap is not None:
            capped = self.l1.clock.now() + self.l1_ttl_cap
            expires = capped if expires is None else min(expires, capped)
        return expires

    # -- reading L2 with the remaining TTL ------------------------------------------
    async def _l2_read(self, keys: Sequence[str]) -> list[tuple[str | None, float | None, bool]]:
        """``(value, remaining seconds or None = no expiry, ttl known)`` per key."""
        l2 = self.l2
        if isinstance(l2, MemoryProvider):
            now, store = l2.clock.now(), l2.store
            out: list[tuple[str | None, float | None, bool]] = []
            for key in keys:
                value = store.get(key, now)
                if value is MISSING:
                    out.append((None, None, True))
                else:
                    exp = store.expires_at(key)
                    out.append((value, None if exp is None else exp - now, True))
            return out
        client = getattr(l2, "client", None)
        commands = getattr(l2, "commands", None)
        if client is None or commands is None:
            values = await l2.get_many(keys) if len(keys) > 1 else [await l2.get(keys[0])]
            return [(v, None, False) for v in values]
        if hasattr(client, "execute_command"):  # redis-py
            async with client.pipeline(transaction=False) as pipe:
                self._queue(pipe, keys, commands)
                replies = await pipe.execute()
        else:  # upstash-redis
            pipe = client.pipeline()
            self._queue(pipe, keys, commands)
            replies = await pipe.exec()
        values = [replies[0]] if len(keys) == 1 else list(replies[0])
        ttls = replies[1:]
        result: list[tuple[str | None, float | None, bool]] = []
        for raw, pttl in zip(values, ttls, strict=True):
            text: str | None = raw.decode("utf-8") if isinstance(raw, bytes) else raw
            ms = int(pttl)
            if text is None or ms == -2:
                result.append((None, None, True))
            else:
                result.append((text, None if ms < 0 else ms / 1000.0, True))
        return result

    @staticmethod
    def _queue(pipe: Any, keys: Sequence[str], commands: Any) -> None:
        if len(keys) == 1:
            pipe.get(keys[0])
            commands["GET"] += 1
        else:
            pipe.mget(*keys)
            commands["MGET"] += 1
        for key in keys:
            pipe.pttl(key)
        commands["PTTL"] += len(keys)

    async def _read_through(self, keys: Sequence[str]) -> list[str | None]:
        """Read ``keys`` from L2 and fill L1 unless an invalidation raced the read."""
        reading, gen = self._reading, self._key_gen
        for key in keys:
            reading[key] = reading.get(key, 0) + 1
        epoch = self._epoch
        seen = {key: gen.get(key, 0) for key in keys}
        started = self.l1.clock.now()
        try:
            rows = await self._l2_read(keys)
            values: list[str | None] = []
            now = self.l1.clock.now()
            fill = self._epoch == epoch and self._l1_ok()
            for key, (value, remaining, known) in zip(keys, rows, strict=True):
                values.append(value)
                if value is None:
                    self.l2_misses += 1
                    continue
                self.l2_hits += 1
                if not (fill and known and gen.get(key, 0) == seen[key]):
                    self.fills_skipped += 1
                    continue
                expires = self._l1_ttl(started, remaining)
                if expires is not None and expires <= now:
                    continue
                self._store.put(key, value, expires, now)
                self.l1_fills += 1
            return values
        finally:
            for key in keys:
                left = reading[key] - 1
                if left:
                    reading[key] = left
                else:
                    del reading[key]
                    gen.pop(key, None)

    # -- reads --------------------------------------------------------------------
    async def get(self, key: str) -> str | None:
        """L1, else L2 (filling L1)."""
        if not self._l1_ok():
            self.bypassed_reads += 1
            return await self.l2.get(key)
        value = self._store.get(key, self.l1.clock.now())
        if value is not MISSING:
            self.l1_hits += 1
            return value
        self.l1_misses += 1
        return (await self._read_through([key]))[0]

    async def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """L1 for what it has, one L2 round trip for the rest."""
        if not keys:
            return []
        if not self._l1_ok():
            self.bypassed_reads += len(keys)
            return await self.l2.get_many(keys)
        now, get = self.l1.clock.now(), self._store.get
        found: list[str | None] = []
        missing: list[str] = []
        for key in keys:
            value = get(key, now)
            if value is MISSING:
                found.append(None)
                missing.append(key)
            else:
                found.append(value)
        self.l1_hits += len(keys) - len(missing)
        self.l1_misses += len(missing)
        if not missing:
            return found
        unique = list(dict.fromkeys(missing))
        fetched = dict(zip(unique, await self._read_through(unique), strict=True))
        return [v if v is not None else fetched.get(k) for k, v in zip(keys, found, strict=True)]

    async def has(self, key: str) -> bool:
        """L1, else L2's answer (no fill)."""
        if self._l1_ok() and self._store.contains(key, self.l1.clock.now()):
            self.l1_hits += 1
            return True
        return await self.l2.has(key)

    async def count(self, pattern: str) -> int | None:
        """L2's count (L1 holds a subset)."""
        return await self.l2.count(pattern)

    # -- writes -------------------------------------------------------------------
    async def _publish(self, change: Change, ok: bool) -> None:
        if ok:
            await self.backplane.publish(change)
        else:  # the write failed or was cancelled: it may still have landed in L2
            self.backplane.publish_later(change)

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """L2, then drop L1 here and everywhere (fill here with ``fill_on_write``)."""
        await self.set_many([(key, value)], ttl, _single=True)

    async def set_many(
        self, items: Sequence[tuple[str, str]], ttl: float | None, *, _single: bool = False
    ) -> None:
        """L2 in one call, then drop the keys from every L1."""
        if not items:
            return
        keys = [k for k, _ in items]
        px: list[Any] = [] if ttl is None else ["PX", ttl_ms(ttl)]
        raw = [("SET", k, v, *px) for k, v in items]
        if _single:
            await self._write(keys, lambda: self.l2.set(items[0][0], items[0][1], ttl), raw)
        else:
            await self._write(keys, lambda: self.l2.set_many(items, ttl), raw)
        if self.fill_on_write and self._l1_ok():
            now = self.l1.clock.now()
            expires = self._l1_ttl(now, ttl)
            for key, value in items:
                self._store.put(key, value, expires, now)

    async def delete(self, key: str) -> bool:
        """L2, then drop L1 here and everywhere."""
        return bool(await self._delete([key], single=True))

    async def delete_many(self, keys: Sequence[str]) -> int:
        """L2 in one call, then drop L1 here and everywhere."""
        if not keys:
            return 0
        return int(await self._delete(keys, single=False))

    async def _delete(self, keys: Sequence[str], *, single: bool) -> int | bool:
        def call() -> Awaitable[Any]:
            return self.l2.delete(keys[0]) if single else self.l2.delete_many(keys)

        replies = await self._write(keys, call, [("UNLINK", *keys)])
        return int(replies[0]) if isinstance(replies, list) else replies

    def _log_backplane(self) -> PollingBackplane | None:
        """The polling backplane when its log lives in L2's client (writes then pipeline)."""
        bp = self.backplane
        if (
            isinstance(bp, PollingBackplane)
            and bp.provider is self.l2
            and getattr(self.l2, "client", None) is not None
            and getattr(self.l2, "commands", None) is not None
        ):
            return bp
        return None

    async def _write(
        self, keys: Sequence[str], call: Callable[[], Awaitable[Any]], raw: list[tuple[Any, ...]]
    ) -> Any:
        """Run a write on L2 and tell the other instances, dropping the keys from L1 around it.

        With a polled log in L2 the write and its log entry go in one pipeline (one
        round trip); otherwise the change is published after the write returned.
        """
        change = Change("keys", self.backplane.instance_id, tuple(keys))
        log = self._log_backplane()
        self._forget(keys)
        ok = False
        try:
            if log is not None:
                result: Any = await self._pipeline(raw, log, change)
            else:
                result = await call()
            ok = True
        finally:
            self._forget(keys)
            if log is None or not ok:
                await self._publish(change, ok)
        return result

    async def _pipeline(
        self, raw: list[tuple[Any, ...]], log: PollingBackplane, change: Change
    ) -> list[Any]:
        """``raw`` commands plus the log's ``XADD`` in one request; the commands' replies."""
        client: Any = getattr(self.l2, "client")  # noqa: B009
        counter: Any = getattr(self.l2, "commands")  # noqa: B009
        commands = [*raw, log.xadd_command(change)]
        for command in commands:
            counter[str(command[0])] += 1
        if hasattr(client, "execute_command"):  # redis-py
            async with client.pipeline(transaction=False) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                replies = await pipe.execute()
        else:  # upstash-redis
            pipe = client.pipeline()
            for command in commands:
                pipe.execute(list(command))
            replies = await pipe.exec()
        log.published += 1
        return list(replies[:-1])

    async def invalidate_pattern(self, pattern: str) -> int:
        """L2 (SCAN), then every L1 drops matching keys."""
        self._forget_matching(pattern)
        ok = False
        try:
            removed = await self.l2.invalidate_pattern(pattern)
            ok = True
        finally:
            self._forget_matching(pattern)
            change = Change("pattern", self.backplane.instance_id, pattern=pattern)
            await self._publish(change, ok)
        return removed

    async def clear(self, namespace: str) -> int:
        """L2's namespace, then every L1 drops it."""
        self._forget_namespace(namespace)
        ok = False
        try:
            removed = await self.l2.clear(namespace)
            ok = True
        finally:
            self._forget_namespace(namespace)
            change = Change("clear", self.backplane.instance_id, namespace=namespace)
            await self._publish(change, ok)
        return removed

    # -- stats --------------------------------------------------------------------
    async def get_stats(self) -> dict[str, Any]:
        """Tier and backplane counters, L2's figures (``commands`` ...) at the top level."""
        stats: dict[str, Any] = dict(await self.l2.get_stats())
        stats.update(
            {
                "l1_hits": self.l1_hits,
                "l1_misses": self.l1_misses,
                "l2_hits": self.l2_hits,
                "l2_misses": self.l2_misses,
                "l1_fills": self.l1_fills,
                "l1_fills_skipped": self.fills_skipped,
                "l1_bypassed_reads": self.bypassed_reads,
                "l1_invalidations": self.l1_invalidations,
                "l1_resets": self.l1_resets,
                "l1_entries": len(self._store),
                "backplane_losses": self.backplane_losses,
                "l1": await self.l1.get_stats(),
            }
        )
        stats.update(self.backplane.stats())
        return stats
