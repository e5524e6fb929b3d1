"""Freshness and resilience for :class:`~cachesim.Cache`: what ``EntryOptions`` do.

:class:`Freshness` runs ``get_or_set`` for entries with options (grace, fail-safe,
early refresh, XFetch, soft/hard factory timeouts, the distributed stampede lock),
writes and reads the versioned envelope (:mod:`cachesim.envelope`) and keeps tags as
invalidation timestamps.  The semantics are documented in ``docs/cache.md``,
"Freshness and resilience"; this module is their one implementation.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from cachesim import codec
from cachesim.clock import SystemClock
from cachesim.envelope import ENVELOPE_TAG, Envelope, decode_envelope, encode_envelope
from cachesim.errors import ConfigurationError, FactoryTimeoutError
from cachesim.locks import StampedeLock, require_lock_capabilities
from cachesim.options import EntryOptions, validate_tags

if TYPE_CHECKING:
    from cachesim.cache import Cache

__all__ = [
    "DEFAULT_TAG_TTL",
    "FRESHNESS_COUNTERS",
    "LAST_GOOD_ENTRIES",
    "Freshness",
    "lock_key",
    "tag_key",
]

logger = logging.getLogger("cachesim")

#: How long a tag's invalidation marker lives (and the longest a tagged entry is kept).
DEFAULT_TAG_TTL: Final = 7 * 24 * 3600.0
#: Keys whose last good value each process keeps for fail-safe while the backend is down.
LAST_GOOD_ENTRIES: Final = 10_000
#: The counters this module adds to ``CacheStats`` (names pinned in the design).
FRESHNESS_COUNTERS: Final = (
    "stale_served",
    "fail_safe_activations",
    "background_refreshes",
    "early_recomputes",
    "lock_waits",
    "lock_timeouts",
)
_MIN_BACKOFF: Final = 1.0  # seconds before a failed background refresh is retried
_MAX_TTL: Final = 365 * 24 * 3600.0


def tag_key(prefix: str, tag: str) -> str:
    """The full key of ``tag``'s invalidation marker (``<namespace>:__tag:<tag>``)."""
    return f"{prefix}__tag:{tag}"


def lock_key(prefix: str, key: str) -> str:
    """The full key of ``key``'s distributed lock (``<namespace>:__lock:<key>``)."""
    return f"{prefix}__lock:{key}"


class _Skipped(Exception):
    """A background refresh found another process refreshing (it holds the lock)."""


class Freshness:
    """The freshness engine of one :class:`~cachesim.Cache` (see the module docstring).

    Counters (:data:`FRESHNESS_COUNTERS`) are attributes; ``rng`` drives jitter and
    XFetch (seed it for reproducible runs).  Times stored in envelopes come from
    ``wall``: Unix time when the cache runs on the system clock, else the injected
    clock, so a ``ManualClock`` drives every window exactly.
    """

    def __init__(
        self,
        cache: Cache,
        *,
        tag_ttl: float = DEFAULT_TAG_TTL,
        last_good_entries: int = LAST_GOOD_ENTRIES,
        rng: random.Random | None = None,
    ) -> None:
        from cachesim import cache as cache_module

        if isinstance(tag_ttl, bool) or not isinstance(tag_ttl, int | float) or not tag_ttl > 0:
            raise ConfigurationError(
                f"tag_ttl must be a positive number of seconds, got {tag_ttl!r}"
            )
        self.cache = cache
        self.tag_ttl = min(float(tag_ttl), _MAX_TTL)
        self.rng = rng or random.Random()
        clock = cache.clock
        from cachesim.providers.sqlite import UnixClock

        # Envelope times must agree across processes: Unix time on the real clocks.
        self.wall: Callable[[], float] = (
            time.time if isinstance(clock, SystemClock | UnixClock) else clock.now
        )
        self._failed_type = type(cache_module._FAILED)
        self.flights: dict[str, asyncio.Future[Envelope]] = {}
        self.reads: dict[str, asyncio.Future[Any]] = {}
        self.tasks: set[asyncio.Future[Envelope]] = set()
        self.last_good: OrderedDict[str, Envelope] = OrderedDict()
        self.last_good_entries = last_good_entries
        self._backoff: dict[str, float] = {}
        # Every duration (lock deadlines, refresh backoff) runs on the cache's clock, so a
        # ManualClock drives them in tests and simulations.
        self.lock = StampedeLock(
            cache.provider, cache._call, self.failed, rng=self.rng, monotonic=clock.now
        )
        self.reset()

    # -- counters -------------------------------------------------------------------
    def reset(self) -> None:
        """Zero the counters."""
        self.stale_served = self.fail_safe_activations = self.background_refreshes = 0
        self.early_recomputes = self.lock_waits = self.lock_timeouts = 0

    def counters(self) -> dict[str, int]:
        """The counters by name."""
        return {name: getattr(self, name) for name in FRESHNESS_COUNTERS}

    def failed(self, result: object) -> bool:
        """Whether a ``Cache._call`` result is the failure sentinel."""
        return type(result) is self._failed_type

    # -- options ----------------------------------------------------------------------
    def check(self, options: EntryOptions) -> EntryOptions:
        """Validate ``options`` against the provider (distributed lock capabilities)."""
        if not isinstance(options, EntryOptions):
            raise ConfigurationError(
                f"options must be an EntryOptions, got {type(options).__name__}"
            )
        if options.lock == "distributed":
            require_lock_capabilities(self.cache.provider)
        return options

    # -- envelopes --------------------------------------------------------------------
    def make(
        self,
        text: str,
        ttl: float | None,
        options: EntryOptions,
        tags: tuple[str, ...],
        *,
        compute: float = 0.0,
        now: float | None = None,
    ) -> Envelope:
        """A new envelope for ``text`` written now (``ttl`` None: never expires)."""
        now = self.wall() if now is None else now
        fresh: float | None
        keep: float | None
        if ttl is None:
            fresh = keep = None
        else:
            if options.jitter:
                ttl = min(ttl * (1.0 + options.jitter * self.rng.random()), _MAX_TTL)
            fresh = now + ttl
            keep = fresh + options.stale_window
        if tags:
            horizon = now + self.tag_ttl
            keep = horizon if keep is None else min(keep, horizon)
            fresh = keep if fresh is None else min(fresh, keep)
        return Envelope(text, now, fresh, keep, compute, tags)

    def physical_ttl(self, envelope: Envelope) -> float | None:
        """The provider TTL for ``envelope``: until ``keep_until`` (None: no expiry)."""
        if envelope.keep_until is None:
            return None
        return min(max(envelope.keep_until - self.wall(), 0.001), _MAX_TTL)

    async def unwrap(self, stored: str, now: float | None = None) -> Envelope | None:
        """The envelope in ``stored`` if it is still kept and not hidden by a tag.

        Plain (pre-options) text comes back as an envelope that never goes stale.
        """
        if stored[:1] != ENVELOPE_TAG:
            return Envelope(stored, -math.inf, None, None)
        envelope = decode_envelope(stored)
        now = self.wall() if now is None else now
        if envelope is None or not envelope.is_kept(now):
            return None
        if envelope.tags and await self.hidden_by_tags([envelope]):
            return None
        return envelope

    async def fresh_text(self, stored: str) -> str | None:
        """For plain reads: the codec text if ``stored`` is fresh and visible, else None."""
        now = self.wall()
        envelope = await self.unwrap(stored, now)
        if envelope is None or not envelope.is_fresh(now):
            return None
        return envelope.text

    async def fresh_texts(self, stored: Sequence[str | None]) -> list[str | None]:
        """:meth:`fresh_text` for a batch, with one tag read for all of it."""
        now = self.wall()
        out: list[str | None] = []
        tagged: list[tuple[int, Envelope]] = []
        for text in stored:
            if text is None or text[:1] != ENVELOPE_TAG:
                out.append(text)
                continue
            envelope = decode_envelope(text)
            if envelope is None or not envelope.is_kept(now) or not envelope.is_fresh(now):
                out.append(None)
                continue
            out.append(envelope.text)
            if envelope.tags:
                tagged.append((len(out) - 1, envelope))
        if tagged:
            hidden = await self.hidden_each([e for _, e in tagged])
            for (index, _), gone in zip(tagged, hidden, strict=True):
                if gone:
                    out[index] = None
        return out

    # -- tags -------------------------------------------------------------------------
    async def hidden_by_tags(self, envelopes: Sequence[Envelope]) -> bool:
        """Whether any of ``envelopes`` is hidden by a tag invalidation."""
        return any(await self.hidden_each(envelopes))

    async def hidden_each(self, envelopes: Sequence[Envelope]) -> list[bool]:
        """For each envelope, whether a tag invalidated it (a failed read hides it)."""
        tags = sorted({t for e in envelopes for t in e.tags})
        if not tags:
            return [False] * len(envelopes)
        cache = self.cache
        keys = [tag_key(cache._prefix, t) for t in tags]
        texts = await cache._call("get_many", cache.provider.get_many, keys)
        if not isinstance(texts, list):  # the backend failed: cannot tell, so never serve
            return [True] * len(envelopes)  # what may have been invalidated
        marks: dict[str, float] = {}
        for tag, text in zip(tags, texts, strict=True):
            if text is not None:
                try:
                    marks[tag] = float(text)
                except ValueError:
                    marks[tag] = math.inf  # damaged marker: treat as invalidated
        return [any(marks.get(t, -math.inf) >= e.written for t in e.tags) for e in envelopes]

    async def invalidate_tag(self, tag: str) -> int | None:
        """Write ``tag``'s marker (now): hides every entry with the tag written until now.

        Returns None (the number of hidden entries is unknown by design), or 0 when
        the backend failed and nothing was invalidated.
        """
        if not isinstance(tag, str):
            raise ConfigurationError(f"tag must be a string such as 'user:1', got {tag!r}")
        (tag,) = validate_tags((tag,))
        cache = self.cache
        now = self.wall()
        for full in [k for k, e in self.last_good.items() if tag in e.tags]:
            del self.last_good[full]
        result = await cache._call(
            "set", cache.provider.set, tag_key(cache._prefix, tag), repr(now), self.tag_ttl
        )
        if self.failed(result):
            return 0
        if cache._listeners:
            cache._emit("invalidate", f"tag:{tag}")
        return None

    # -- writes -----------------------------------------------------------------------
    async def store(self, key: str, full: str, envelope: Envelope) -> bool:
        """Write ``envelope`` under ``full`` (fail-open); True if the backend took it."""
        cache = self.cache
        text = encode_envelope(envelope)
        seconds = self.physical_ttl(envelope)
        result = await cache._call("set", cache.provider.set, full, text, seconds)
        if self.failed(result):
            return False
        cache.sets += 1
        if cache._listeners:
            cache._emit("set", key, ttl=seconds, size=len(text))
        return True

    async def set(
        self,
        key: str,
        full: str,
        value: Any,
        ttl: float | None,
        options: EntryOptions,
        tags: Iterable[str] | None,
    ) -> bool:
        """``Cache.set`` with options or tags: write an envelope."""
        all_tags = tuple(sorted(set(options.tags) | set(validate_tags(tags))))
        envelope = self.make(self.cache._encode(value), ttl, options, all_tags)
        self.remember(full, envelope, options)
        return await self.store(key, full, envelope)

    def remember(self, full: str, envelope: Envelope, options: EntryOptions) -> None:
        """Keep the last good value of ``full`` for fail-safe while the backend is down."""
        if not options.fail_safe:
            return
        last = self.last_good
        last[full] = envelope
        last.move_to_end(full)
        while len(last) > self.last_good_entries:
            last.popitem(last=False)

    # -- get_or_set -------------------------------------------------------------------
    async def get_or_set(
        self,
        key: str,
        full: str,
        factory: Callable[[], Any],
        ttl: float | None,
        options: EntryOptions,
    ) -> Any:
        """``Cache.get_or_set`` with options (see docs/cache.md for every case)."""
        cache = self.cache
        if cache._in_process:
            stored = await cache._call("get", cache.provider.get, full)
        else:
            stored = await self.read(full)
        now = self.wall()
        write = True
        envelope: Envelope | None = None
        if self.failed(stored):
            write = False  # the backend is failing: answer within one timeout, skip writes
            envelope = self.last_good.get(full) if options.fail_safe else None
            if envelope is not None and not envelope.is_kept(now):
                envelope = None
        elif isinstance(stored, str):
            envelope = await self.unwrap(stored, now)
        fallback: Envelope | None = None
        if envelope is not None:
            self.remember(full, envelope, options)
            if envelope.is_fresh(now):
                self._hit(key)
                if self.due_early(envelope, now, options):
                    self.refresh(key, full, factory, ttl, options, early=True)
                return codec.decode(envelope.text)
            late = envelope.stale_for(now)
            retry = envelope.retry_after
            if retry is not None and now < retry and late < options.fail_safe_seconds:
                self._hit(key)  # fail-safe throttle: the stale value, no factory call
                self.stale_served += 1
                return codec.decode(envelope.text)
            if late < options.grace_seconds:
                self._hit(key)
                self.stale_served += 1
                self.refresh(key, full, factory, ttl, options, early=False)
                return codec.decode(envelope.text)
            if late < options.fail_safe_seconds:
                fallback = envelope
        elif stored is None and options.fail_safe:
            # The backend lost the entry (restart, eviction): this process's last good
            # value is no hit, but it answers if the factory fails.
            fallback = await self._local_fallback(full, now, options)
        cache.misses += 1
        if cache._listeners:
            cache._emit("get", key, hit=False)
        return await self.foreground(key, full, factory, ttl, options, fallback, write)

    async def _local_fallback(
        self, full: str, now: float, options: EntryOptions
    ) -> Envelope | None:
        candidate = self.last_good.get(full)
        if candidate is None or not candidate.is_kept(now):
            return None
        if candidate.stale_for(now) >= options.fail_safe_seconds:
            return None
        if candidate.tags and await self.hidden_by_tags([candidate]):
            return None
        return candidate

    def forget(self, fulls: Iterable[str] | None = None) -> None:
        """Drop this process's last good copies (of ``fulls``, or all): they were deleted."""
        if fulls is None:
            self.last_good.clear()
            return
        for full in fulls:
            self.last_good.pop(full, None)

    async def read(self, full: str) -> Any:
        """One backend read of ``full`` shared by every concurrent caller in this process.

        A burst of N ``get_or_set`` on one key sends one ``GET``, not N (fewer round trips,
        fewer billed commands, and no read storm on a cold key).
        """
        pending = self.reads.get(full)
        if pending is None:
            cache = self.cache
            pending = asyncio.ensure_future(cache._call("get", cache.provider.get, full))
            self.reads[full] = pending
            pending.add_done_callback(lambda f: self._read_done(full, f))
        return await asyncio.shield(pending)

    def _read_done(self, full: str, done: asyncio.Future[Any]) -> None:
        if self.reads.get(full) is done:
            del self.reads[full]
        if not done.cancelled():
            done.exception()

    def _hit(self, key: str) -> None:
        cache = self.cache
        cache.hits += 1
        if cache._listeners:
            cache._emit("get", key, hit=True)

    def due_early(self, envelope: Envelope, now: float, options: EntryOptions) -> bool:
        """Whether a fresh entry should be refreshed early now (eager or XFetch)."""
        fresh_until = envelope.fresh_until
        if fresh_until is None:
            return False
        if options.eager_refresh is not None:
            span = fresh_until - envelope.written
            return now >= envelope.written + options.eager_refresh * span
        if options.xfetch_beta is not None and envelope.compute > 0:
            draw = 1.0 - self.rng.random()  # in (0, 1]
            return now - envelope.compute * options.xfetch_beta * math.log(draw) >= fresh_until
        return False

    def refresh(
        self,
        key: str,
        full: str,
        factory: Callable[[], Any],
        ttl: float | None,
        options: EntryOptions,
        *,
        early: bool,
    ) -> None:
        """Start one background refresh of ``full`` unless one is running or backing off."""
        if full in self.flights:
            return
        until = self._backoff.get(full)
        if until is not None:
            if self.cache.clock.now() < until:
                return
            del self._backoff[full]
        flight = self._launch(full, self.fill(key, full, factory, ttl, options, None, True, True))
        self.background_refreshes += 1
        if early:
            self.early_recomputes += 1
        del flight

    def _launch(self, full: str, work: Awaitable[Envelope]) -> asyncio.Future[Envelope]:
        flight = asyncio.ensure_future(work)
        self.flights[full] = flight
        self.tasks.add(flight)
        flight.add_done_callback(lambda f: self._landed(full, f))
        return flight

    def _landed(self, full: str, flight: asyncio.Future[Envelope]) -> None:
        self.tasks.discard(flight)
        if self.flights.get(full) is flight:
            del self.flights[full]
        if flight.cancelled():
            return
        exc = flight.exception()  # marks it retrieved: waiters may all have left
        if exc is not None:
            # A failed refresh, or one skipped because another process holds the lock
            # (and is refreshing the shared entry): do not retry on every read.
            backoff = self._backoff
            if len(backoff) > LAST_GOOD_ENTRIES:
                backoff.clear()
            backoff[full] = self.cache.clock.now() + _MIN_BACKOFF

    async def foreground(
        self,
        key: str,
        full: str,
        factory: Callable[[], Any],
        ttl: float | None,
        options: EntryOptions,
        fallback: Envelope | None,
        write: bool,
    ) -> Any:
        """Wait for the key's one fill, bounded by the soft and hard timeouts."""
        flight = self.flights.get(full)
        if flight is None or flight.done():
            flight = self._launch(
                full, self.fill(key, full, factory, ttl, options, fallback, write, False)
            )
        soft = options.soft_timeout_seconds if fallback is not None else None
        limit = soft if soft is not None else options.hard_timeout_seconds
        if limit is None:
            await asyncio.wait((flight,))
        else:
            await asyncio.wait((flight,), timeout=limit)
        if not flight.done():
            if fallback is not None:
                self._served_fallback(fallback)
                self.background_refreshes += 1  # the factory finishes in the background
                return codec.decode(fallback.text)
            raise FactoryTimeoutError(
                f"the factory for {key!r} did not answer within hard_timeout="
                f"{options.hard_timeout_seconds} s and no stale value was available; it keeps "
                "running and its value will be cached"
            )
        exc = flight.exception()
        if exc is not None and isinstance(exc, _Skipped):
            # We joined a background refresh that found another process refreshing: fill.
            return await self.foreground(key, full, factory, ttl, options, fallback, write)
        if exc is not None:
            if fallback is not None:
                self._served_fallback(fallback)
                return codec.decode(fallback.text)
            raise exc
        envelope = flight.result()
        if not envelope.is_fresh(self.wall()):
            self.stale_served += 1  # a lock wait that timed out with a stale value in hand
        return codec.decode(envelope.text)

    def _served_fallback(self, fallback: Envelope) -> None:
        if not fallback.is_fresh(self.wall()):
            self.stale_served += 1

    async def fill(
        self,
        key: str,
        full: str,
        factory: Callable[[], Any],
        ttl: float | None,
        options: EntryOptions,
        fallback: Envelope | None,
        write: bool,
        background: bool,
    ) -> Envelope:
        """The one factory run of ``full`` in this process (lock, factory, write)."""
        cache = self.cache
        token: str | None = None
        lock_name = lock_key(cache._prefix, key)
        if options.lock == "distributed":
            # Tried even after a failed read: a transient error must not bypass the lock.
            outcome = await self.lock.acquire_or_wait(
                lock_name,
                lambda: self._lock_read(full),
                ttl=options.effective_lock_ttl,
                wait=0.0 if background else options.effective_lock_wait,
            )
            if outcome.waited and not background:
                self.lock_waits += 1
            if outcome.kind == "filled":
                assert outcome.text is not None
                envelope = await self.unwrap(outcome.text)
                if envelope is not None:
                    self.remember(full, envelope, options)
                    return envelope
            elif outcome.kind == "timeout":
                if background:
                    raise _Skipped
                self.lock_timeouts += 1
                if fallback is not None:
                    return fallback
            elif outcome.kind == "acquired":
                token = outcome.token
                write = True  # the backend answers: waiters elsewhere need our value
        try:
            return await self._run_factory(key, full, factory, ttl, options, fallback, write)
        finally:
            if token is not None:
                await self.lock.release(lock_name, token)

    async def _lock_read(self, full: str) -> str | None:
        """For lock waiters: the stored text of ``full`` if it is fresh, else None."""
        cache = self.cache
        stored = await cache._call("get", cache.provider.get, full)
        if not isinstance(stored, str):
            return None
        envelope = await self.unwrap(stored)
        if envelope is None or not envelope.is_fresh(self.wall()):
            return None
        return stored

    async def _run_factory(
        self,
        key: str,
        full: str,
        factory: Callable[[], Any],
        ttl: float | None,
        options: EntryOptions,
        fallback: Envelope | None,
        write: bool,
    ) -> Envelope:
        cache = self.cache
        clock = cache.clock
        started = clock.now()
        try:
            value = factory()
            if inspect.isawaitable(value):
                value = await value
        except Exception:
            if fallback is not None:
                await self._throttle(key, full, fallback, options, write)
            raise
        compute = max(0.0, clock.now() - started)
        envelope = self.make(cache._encode(value), ttl, options, options.tags, compute=compute)
        self.remember(full, envelope, options)
        if write:
            await self.store(key, full, envelope)
        return envelope

    async def _throttle(
        self, key: str, full: str, fallback: Envelope, options: EntryOptions, write: bool
    ) -> None:
        """Fail-safe: keep serving ``fallback`` for the throttle before trying again."""
        self.fail_safe_activations += 1
        now = self.wall()
        retry = now + options.throttle
        if fallback.keep_until is not None:
            retry = min(retry, fallback.keep_until)
        throttled = Envelope(
            fallback.text,
            fallback.written,
            fallback.fresh_until,
            fallback.keep_until,
            fallback.compute,
            fallback.tags,
            retry,
        )
        self.remember(full, throttled, options)
        logger.warning(
            "cache factory failed; fail-safe serves the value %.1f s past its expiry "
            "(retrying in %.1f s)",
            fallback.stale_for(now),
            retry - now,
            extra={"cache_namespace": self.cache.namespace, "cache_op": "get_or_set"},
        )
        if write and fallback.written != -math.inf:
            await self.store(key, full, throttled)

    # -- lifecycle --------------------------------------------------------------------
    def after_fork(self) -> None:
        """In a forked child: refreshes and reads in flight belong to the parent's loop."""
        from cachesim import forks

        forks.keep_from_parent((self.flights, self.reads, self.tasks))
        self.flights, self.reads, self.tasks = {}, {}, set()

    async def close(self) -> None:
        """Cancel background refreshes still running (at disconnect)."""
        tasks = [t for t in self.tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
