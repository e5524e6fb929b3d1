"""The :class:`Cache` service: one behaviour over every provider."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar, overload

import orjson

from cachesim import codec, forks
from cachesim.breaker import BreakerState, CircuitBreaker
from cachesim.clock import Clock, system_clock
from cachesim.envelope import ENVELOPE_TAG
from cachesim.errors import (
    ConfigurationError,
    InvalidKeyError,
    InvalidTTLError,
    UnstorableValueError,
)
from cachesim.freshness import DEFAULT_TAG_TTL, Freshness
from cachesim.keys import MAX_KEY_BYTES, escape_glob, validate_key, validate_pattern
from cachesim.options import EntryOptions
from cachesim.providers.base import Provider
from cachesim.providers.capabilities import Capability
from cachesim.redact import redact_text
from cachesim.stats import CacheStats, LatencyWindow

if TYPE_CHECKING:
    from types import TracebackType

    from cachesim.settings import CacheSettings

__all__ = ["MAX_TTL", "MIN_TTL", "NO_EXPIRY", "Cache", "CacheEvent", "validate_ttl"]

logger = logging.getLogger("cachesim")
_decode = codec.decode
_loads = orjson.loads  # untagged stored text is plain JSON
_TAGGED = ("b", "j")  # first letters of codec's tagged forms
# What decoding foreign or corrupt stored text raises (JSONDecodeError and
# UnicodeDecodeError are ValueErrors; RecursionError for absurd nesting).
_DECODE_ERRORS = (ValueError, RecursionError)
# Programmer errors a provider may raise: they reach the caller, never the breaker.
_PROGRAMMER_ERRORS = (
    ConfigurationError,
    InvalidKeyError,
    InvalidTTLError,
    UnstorableValueError,
)

T = TypeVar("T")

#: Pass as ``ttl`` (or ``default_ttl``) to store an entry that never expires.
NO_EXPIRY: Final[float] = math.inf

#: Smallest TTL: providers store expiry with millisecond resolution.
MIN_TTL: Final[float] = 0.001

#: Largest finite TTL (365 days): what every built-in provider stores exactly.  Longer
#: lifetimes are refused with :class:`InvalidTTLError`; store forever with NO_EXPIRY.
MAX_TTL: Final[float] = 365 * 24 * 3600.0


_CLOSED = BreakerState.CLOSED


_READS = frozenset({"get", "get_many"})


def _foreign_entry(exc: Exception) -> bool:
    """Whether a read failed on what is stored under the key, not on the backend."""
    return isinstance(exc, UnicodeDecodeError) or str(exc).startswith("WRONGTYPE")


class _Failed:
    __slots__ = ()


_FAILED: Final = _Failed()
_UNDECODABLE: Final = object()
_ENVELOPE: Final = object()  # stored text is an entry envelope (written with EntryOptions)
_PLAIN: Final = EntryOptions()


class _Landed(NamedTuple):
    """A fill of the key that landed while a get_or_set read was under way."""

    flight: asyncio.Future[str]


class CacheEvent(NamedTuple):
    """One operation seen by a :meth:`Cache.subscribe` listener.

    ``op`` is ``get``, ``set``, ``delete``, ``invalidate`` or ``clear``; ``hit``
    is set for reads; ``ttl`` (seconds, None = no expiry) and ``size`` (stored
    bytes) for writes; ``time`` is the cache clock's reading.
    """

    time: float
    op: str
    key: str
    hit: bool | None = None
    ttl: float | None = None
    size: int | None = None


Listener = Callable[[CacheEvent], None]


def validate_ttl(ttl: object, *, name: str = "ttl") -> float:
    """Return ``ttl`` as seconds (``math.inf`` = no expiry) or raise :class:`InvalidTTLError`."""
    if isinstance(ttl, timedelta):
        ttl = ttl.total_seconds()
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise InvalidTTLError(
            f"{name} must be a number of seconds (int, float or timedelta), got "
            f"{type(ttl).__name__}; use NO_EXPIRY for entries that never expire"
        )
    seconds = float(ttl)
    if math.isnan(seconds):
        raise InvalidTTLError(f"{name} must be a number of seconds, got NaN")
    if seconds < MIN_TTL:
        raise InvalidTTLError(
            f"{name} must be at least {MIN_TTL} s (millisecond resolution), got {ttl!r}; "
            "to remove an entry call delete(), to keep it forever pass ttl=NO_EXPIRY"
        )
    if MAX_TTL < seconds < math.inf:
        raise InvalidTTLError(
            f"{name} must be at most {MAX_TTL:.0f} s (365 days), got {ttl!r}; "
            "to keep an entry forever pass ttl=NO_EXPIRY"
        )
    return seconds


class Cache:
    """An async cache over any provider, with the same semantics everywhere.

    Keys are namespaced (stored as ``<namespace>:<key>``); values round-trip as
    JSON types (plus top-level bytes) and are copied on the way in and out; a
    cached ``None`` is a value, not a miss.  Backend failures never reach the
    caller: reads become misses, writes are dropped, each call is bounded by
    ``timeout`` and a circuit breaker skips a dead backend.  Programmer errors
    (bad key, bad TTL, unstorable value) raise at once.  ``options`` (an
    :class:`~cachesim.EntryOptions`) are the default entry options: grace,
    fail-safe, early refresh, factory timeouts, the distributed lock, tags.
    """

    def __init__(
        self,
        provider: Provider,
        *,
        namespace: str = "cache",
        default_ttl: float | timedelta = 3600.0,
        timeout: float = 1.0,
        bulk_timeout: float = 30.0,
        breaker_threshold: int = 5,
        breaker_reset: float = 5.0,
        clock: Clock | None = None,
        max_value_bytes: int | None = None,
        options: EntryOptions | None = None,
        tag_ttl: float = DEFAULT_TAG_TTL,
    ) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError("namespace must be a non-empty string (e.g. 'app')")
        try:
            validate_key(namespace)
        except InvalidKeyError as exc:
            raise ConfigurationError(f"namespace is not a usable key prefix: {exc}") from None
        for label, value in (("timeout", timeout), ("bulk_timeout", bulk_timeout)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ConfigurationError(
                    f"{label} must be a positive number of seconds, got {value!r}"
                )
        self.provider = provider
        self.namespace = namespace
        self.default_ttl = validate_ttl(default_ttl, name="default_ttl")
        self.timeout = float(timeout)
        self.bulk_timeout = float(bulk_timeout)
        self.clock: Clock = clock or getattr(provider, "clock", None) or system_clock
        limits = [v for v in (max_value_bytes, getattr(provider, "max_value_bytes", None)) if v]
        self.max_value_bytes: int | None = min(limits) if limits else None
        self._prefix = namespace + ":"
        self._pattern_prefix = escape_glob(namespace) + ":"
        self._in_process = bool(getattr(provider, "in_process", False))
        # In-process providers may offer a synchronous read; it skips a coroutine per hit.
        self._get_now: Callable[[str], str | None] | None = (
            getattr(provider, "get_now", None) if self._in_process else None
        )
        self._breaker = CircuitBreaker(self.clock, breaker_threshold, breaker_reset)
        self._healthy = True
        self._flights: dict[str, asyncio.Future[str]] = {}
        # get_or_set reads under way per key, fills that landed during them, a landing count.
        self._reading: dict[str, int] = {}
        self._landed: dict[str, tuple[int, asyncio.Future[str]]] = {}
        self._landings = 0
        self._decoding = True  # False after a decode error, until an entry decodes again
        self._listeners: list[Listener] = []
        self._latency: dict[str, LatencyWindow] = {}
        self._latency_get = self._latency["get"] = LatencyWindow()
        self.hits = self.misses = self.sets = self.deletes = 0
        self.errors = self.timeouts = self.short_circuited = 0
        self.decode_errors = 0
        #: The freshness engine: EntryOptions, tags, fail-safe, locks (and their counters).
        self.freshness = Freshness(self, tag_ttl=tag_ttl)
        #: Default entry options of this cache (None: plain TTL entries).
        self.options: EntryOptions | None = (
            None if options is None else self.freshness.check(options)
        )
        forks.register(self)

    def _after_fork(self) -> None:
        """In a forked child: the parent's in-flight fills belong to the parent's loop."""
        forks.keep_from_parent((self._flights, self._landed))
        self._flights = {}
        self.freshness.after_fork()
        self._reading = {}
        self._landed = {}

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_env(cls, settings: CacheSettings | None = None, **overrides: Any) -> Cache:
        """Build the cache the environment describes (``CACHE_PROVIDER``, ``CACHE_*`` ...)."""
        from cachesim.settings import CacheSettings, create_provider

        settings = settings or CacheSettings()
        options: dict[str, Any] = {
            "namespace": settings.namespace,
            "default_ttl": settings.default_ttl,
            "timeout": settings.timeout,
        }
        options.update(overrides)
        return cls(create_provider(settings), **options)

    def __repr__(self) -> str:
        return f"Cache({self.provider!r}, namespace={self.namespace!r})"

    # -- lifecycle ----------------------------------------------------------------
    async def initialize(self) -> None:
        """Connect the provider.  An unreachable backend is logged, not raised."""
        await self._call("initialize", self.provider.initialize, timeout=self.timeout)

    async def disconnect(self) -> None:
        """Release the provider's connections (errors are logged, not raised)."""
        await self.freshness.close()  # background refreshes still running
        try:
            async with asyncio.timeout(self.timeout):
                await self.provider.disconnect()
        except Exception as exc:  # a failing close must not break shutdown
            logger.warning(
                "cache provider did not disconnect cleanly: %s",
                type(exc).__name__,
                extra={"cache_namespace": self.namespace, "cache_provider": self._provider_name},
            )

    async def __aenter__(self) -> Cache:
        await self.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    # -- listeners ----------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every operation; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, op: str, key: str, **fields: Any) -> None:
        event = CacheEvent(self.clock.now(), op, key, **fields)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not break the cache call
                logger.exception(
                    "cache listener %r failed on %s",
                    listener,
                    op,
                    extra={"cache_namespace": self.namespace, "cache_op": op},
                )

    # -- helpers ------------------------------------------------------------------
    @property
    def _provider_name(self) -> str:
        return str(getattr(self.provider, "name", type(self.provider).__name__))

    def _key(self, key: object) -> str:
        if type(key) is str and 0 < len(key) <= MAX_KEY_BYTES and key.isascii():
            return self._prefix + key  # fast path: plainly valid
        return self._prefix + validate_key(key)

    def _ttl(self, ttl: object) -> float | None:
        seconds = self.default_ttl if ttl is None else validate_ttl(ttl)
        return None if seconds == math.inf else seconds

    def _encode(self, value: Any) -> str:
        text = codec.encode(value)
        limit = self.max_value_bytes
        if limit is None or len(text) <= limit // 4:
            return text  # at most 4 UTF-8 bytes per character: surely within the limit
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
        if size > limit:
            raise UnstorableValueError(
                f"value is {size} bytes once encoded; this cache's limit is {limit} "
                f"bytes ({self._provider_name} provider). Store a smaller value or split it"
            )
        return text

    async def _call(
        self,
        op: str,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> T | _Failed:
        """Run one provider call: breaker, timeout, fail-open, counting and logging."""
        breaker = self._breaker
        if breaker.state is not _CLOSED and not breaker.allow():
            self.short_circuited += 1
            return _FAILED
        start = time.perf_counter()
        try:
            if self._in_process:
                result = await fn(*args)
            else:
                task = asyncio.current_task()
                cancelling = task.cancelling() if task is not None else 0
                async with asyncio.timeout(timeout or self.timeout):
                    result = await fn(*args)
                if task is not None and task.cancelling() > cancelling:
                    # A client library swallowed our caller's cancellation: restore it.
                    raise asyncio.CancelledError
        except TimeoutError:
            self.timeouts += 1
            self._failure(op, None)
            return _FAILED
        except _PROGRAMMER_ERRORS:
            raise  # the caller's mistake, not the backend's: never counted, never fails open
        except Exception as exc:  # any backend fault: fail open
            if op in _READS and _foreign_entry(exc):
                # Stored bytes that are not text, or a non-string Redis type, that
                # another application put under our key: a miss, not a backend fault.
                self._undecodable(op, exc)
                return None  # type: ignore[return-value]
            self.errors += 1
            self._failure(op, exc)
            return _FAILED
        window = self._latency.get(op)
        if window is None:
            window = self._latency[op] = LatencyWindow()
        window.add(time.perf_counter() - start)
        if breaker.state is not _CLOSED or not self._healthy:
            self._recovered()
        return result

    def _failure(self, op: str, exc: BaseException | None) -> None:
        previous = self._breaker.state
        state = self._breaker.record_failure()
        extra = {
            "cache_namespace": self.namespace,
            "cache_provider": self._provider_name,
            "cache_op": op,
            "cache_error": type(exc).__name__ if exc else "timeout",
        }
        if self._healthy:
            self._healthy = False
            what = f"{type(exc).__name__}: {exc}" if exc else f"no answer within {self.timeout} s"
            # Client errors may quote the URL or the credentials: never log them.
            what = redact_text(what, getattr(self.provider, "_secrets", ()))
            logger.warning(
                "cache backend failing (%s on %s); serving misses and dropping writes",
                what[:300],
                op,
                extra=extra,
            )
        if state is BreakerState.OPEN and previous is not BreakerState.OPEN:
            logger.warning(
                "cache circuit breaker opened; backend calls skipped for %.1f s",
                self._breaker.reset_after,
                extra=extra,
            )

    def _undecodable(self, op: str, exc: BaseException) -> None:
        """A stored entry could not be read back: count it; log when decoding starts failing."""
        self.decode_errors += 1
        if self._decoding:
            self._decoding = False
            logger.warning(
                "cache entry could not be decoded (%s on %s): foreign or corrupt stored "
                "text, served as a miss (get_or_set overwrites it)",
                type(exc).__name__,
                op,
                extra={
                    "cache_namespace": self.namespace,
                    "cache_provider": self._provider_name,
                    "cache_op": op,
                    "cache_error": "decode",
                },
            )

    def _decoded_again(self) -> None:
        self._decoding = True
        logger.info(
            "cache entries decode again",
            extra={"cache_namespace": self.namespace, "cache_provider": self._provider_name},
        )

    def _decode_entry(self, op: str, text: str) -> Any:
        """The stored text's value, _ENVELOPE, or _UNDECODABLE (counted and logged)."""
        try:
            value = codec.decode(text)
        except _DECODE_ERRORS as exc:
            if text[:1] == ENVELOPE_TAG:
                return _ENVELOPE  # written with options: the caller unwraps it
            self._undecodable(op, exc)
            return _UNDECODABLE
        if not self._decoding:
            self._decoded_again()
        return value

    def _recovered(self) -> None:
        self._breaker.record_success()
        self._healthy = True
        logger.info(
            "cache backend recovered",
            extra={"cache_namespace": self.namespace, "cache_provider": self._provider_name},
        )

    # -- reads --------------------------------------------------------------------
    async def get(self, key: str, default: Any = None) -> Any:
        """Return the cached value, or ``default`` on a miss (a cached None is returned as None)."""
        full = self._key(key)
        get_now = self._get_now
        if get_now is not None and self._breaker.state is _CLOSED:
            start = time.perf_counter()
            try:
                text: Any = get_now(full)
            except Exception as exc:  # fail open, exactly as _call does
                self.errors += 1
                self._failure("get", exc)
                text = None
            else:
                self._latency_get.add(time.perf_counter() - start)
        else:
            text = await self._call("get", self.provider.get, full)
        if text is not None and text is not _FAILED:
            try:
                value = _loads(text) if text[:1] not in _TAGGED else _decode(text)
            except _DECODE_ERRORS as exc:
                if text[:1] != ENVELOPE_TAG:
                    self._undecodable("get", exc)
                elif (fresh := await self.freshness.fresh_text(text)) is not None:
                    value = self._decode_entry("get", fresh)  # written with options, fresh
                    if value is not _UNDECODABLE:
                        self.hits += 1
                        if self._listeners:
                            self._emit("get", key, hit=True)
                        return value
            else:
                self.hits += 1
                if not self._decoding:
                    self._decoded_again()
                if self._listeners:
                    self._emit("get", key, hit=True)
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("cache hit %s", full, extra={"cache_key": full})
                return value
        self.misses += 1
        if self._listeners:
            self._emit("get", key, hit=False)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("cache miss %s", full, extra={"cache_key": full})
        return default

    async def has(self, key: str) -> bool:
        """Whether ``key`` holds a live entry (False when the backend fails)."""
        result = await self._call("has", self.provider.has, self._key(key))
        return result is True

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return ``{key: value}`` for the keys that hit (misses are absent)."""
        by_full = {self._key(k): k for k in keys}  # validated first, then deduplicated
        if not by_full:
            return {}
        fulls = list(by_full)
        texts = await self._call("get_many", self.provider.get_many, fulls)
        if texts is None or isinstance(texts, _Failed):
            texts = [None] * len(fulls)
        elif any(t is not None and t[:1] == ENVELOPE_TAG for t in texts):
            texts = await self.freshness.fresh_texts(texts)  # entries written with options
        wanted = list(by_full.values())
        found: dict[str, Any] = {}
        for key, text in zip(wanted, texts, strict=True):
            if text is not None:
                value = self._decode_entry("get_many", text)
                if value is not _UNDECODABLE:
                    found[key] = value
        self.hits += len(found)
        self.misses += len(wanted) - len(found)
        if self._listeners:
            for key in wanted:
                self._emit("get", key, hit=key in found)
        return found

    # -- writes -------------------------------------------------------------------
    async def set(
        self,
        key: str,
        value: Any,
        ttl: float | timedelta | None = None,
        *,
        tags: Iterable[str] | None = None,
        options: EntryOptions | None = None,
    ) -> bool:
        """Store ``value`` (TTL in seconds; None = the default; NO_EXPIRY = never).

        With ``tags`` (see :meth:`invalidate_tag`) or entry options (``options=``, or the
        cache's defaults) the entry is written with its freshness metadata.  Returns
        False when the backend failed and the write was dropped.
        """
        full = self._key(key)
        if tags is not None or options is not None or self.options is not None:
            opts = self._options(options)
            seconds = self._ttl(ttl if ttl is not None else opts.ttl)
            return await self.freshness.set(key, full, value, seconds, opts, tags)
        seconds = self._ttl(ttl)
        text = self._encode(value)
        result = await self._call("set", self.provider.set, full, text, seconds)
        if isinstance(result, _Failed):
            return False
        self.sets += 1
        if self._listeners:
            self._emit("set", key, ttl=seconds, size=len(text))
        return True

    async def set_many(
        self, items: Mapping[str, Any], ttl: float | timedelta | None = None
    ) -> bool:
        """Store several entries with one TTL; all are validated before anything is written."""
        seconds = self._ttl(ttl)
        encoded = [(self._key(k), self._encode(v)) for k, v in items.items()]
        if not encoded:
            return True
        result = await self._call("set_many", self.provider.set_many, encoded, seconds)
        if isinstance(result, _Failed):
            return False
        self.sets += len(encoded)
        if self._listeners:
            for key, (_, text) in zip(items, encoded, strict=True):
                self._emit("set", key, ttl=seconds, size=len(text))
        return True

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True if a live entry existed (False also when the backend failed)."""
        full = self._key(key)
        if self.freshness.last_good:
            self.freshness.forget((full,))
        result = await self._call("delete", self.provider.delete, full)
        existed = result is True
        self.deletes += existed
        if self._listeners:
            self._emit("delete", key)
        return existed

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Remove keys; return how many live entries existed."""
        by_full = {self._key(k): k for k in keys}  # validated first, then deduplicated
        if not by_full:
            return 0
        fulls, wanted = list(by_full), list(by_full.values())
        if self.freshness.last_good:
            self.freshness.forget(fulls)
        result = await self._call("delete_many", self.provider.delete_many, fulls)
        removed = 0 if isinstance(result, _Failed) else int(result)
        self.deletes += removed
        if self._listeners:
            for key in wanted:
                self._emit("delete", key)
        return removed

    async def invalidate_pattern(self, pattern: str) -> int:
        """Remove keys of this namespace matching the Redis glob ``pattern``; return the count.

        Best effort and not atomic: a key written while the scan runs may survive.
        """
        validate_pattern(pattern)
        self.freshness.forget()  # fail-safe copies of this process: the pattern may cover them
        result = await self._call(
            "invalidate_pattern",
            self.provider.invalidate_pattern,
            self._pattern_prefix + pattern,
            timeout=self.bulk_timeout,
        )
        removed = 0 if isinstance(result, _Failed) else int(result)
        self.deletes += removed
        if self._listeners:
            self._emit("invalidate", pattern)
        return removed

    async def clear(self) -> int:
        """Remove every entry of this namespace (never anything else); return the count."""
        self.freshness.forget()
        result = await self._call(
            "clear", self.provider.clear, self.namespace, timeout=self.bulk_timeout
        )
        removed = 0 if isinstance(result, _Failed) else int(result)
        self.deletes += removed
        if self._listeners:
            self._emit("clear", "*")
        return removed

    # -- freshness ----------------------------------------------------------------
    def _options(self, options: EntryOptions | None) -> EntryOptions:
        """The options of one call: its own (checked), else the cache's, else plain."""
        if options is not None:
            return self.freshness.check(options)
        return self.options or _PLAIN

    async def invalidate_tag(self, tag: str) -> int | None:
        """Hide every entry tagged ``tag`` written until now, on every provider, without SCAN.

        Writes one marker (``<namespace>:__tag:<tag>`` = now); reads of tagged entries
        compare it with their write time.  Returns None (how many entries were hidden is
        unknown by design), or 0 when the backend failed and nothing was invalidated.
        """
        return await self.freshness.invalidate_tag(tag)

    # -- get_or_set ---------------------------------------------------------------
    @overload
    async def get_or_set(
        self,
        key: str,
        factory: Callable[[], Awaitable[T]],
        ttl: float | timedelta | None = None,
        *,
        options: EntryOptions | None = None,
    ) -> T: ...

    @overload
    async def get_or_set(
        self,
        key: str,
        factory: Callable[[], T],
        ttl: float | timedelta | None = None,
        *,
        options: EntryOptions | None = None,
    ) -> T: ...

    async def get_or_set(
        self,
        key: str,
        factory: Callable[[], Any],
        ttl: float | timedelta | None = None,
        *,
        options: EntryOptions | None = None,
    ) -> Any:
        """Return the cached value, or compute it with ``factory`` (sync or async) and cache it.

        Single-flight: concurrent misses on one key in this process call the
        factory once and all get its value (each its own copy).  A factory error
        reaches every waiter and nothing is cached.  If the backend is down the
        factory's value is still returned.  With entry options (``options=``, or the
        cache's defaults) grace, fail-safe, early refresh, factory timeouts and the
        distributed lock apply (docs/cache.md, "Freshness and resilience").
        """
        if options is not None or self.options is not None:
            opts = self._options(options)
            seconds = self._ttl(ttl if ttl is not None else opts.ttl)
            return await self.freshness.get_or_set(key, self._key(key), factory, seconds, opts)
        full = self._key(key)
        seconds = self._ttl(ttl)
        flight = self._flights.get(full)
        write = True
        if flight is None:
            text = await self._read_for_fill(full)
            if isinstance(text, _Landed):  # a fill landed while this read was under way
                flight = text.flight
            elif text is not None and not isinstance(text, _Failed):
                value = self._decode_entry("get_or_set", text)
                if value is _ENVELOPE:  # written with options: a hit only while fresh
                    fresh = await self.freshness.fresh_text(text)
                    value = _UNDECODABLE if fresh is None else self._decode_entry("get", fresh)
                if value is not _UNDECODABLE:
                    self.hits += 1
                    if self._listeners:
                        self._emit("get", key, hit=True)
                    return value
            else:
                # After a failed read, skip the fill write: the call stays within one timeout.
                write = not isinstance(text, _Failed)
        self.misses += 1
        if self._listeners:
            self._emit("get", key, hit=False)
        if flight is None:
            flight = self._flights.get(full)
        if flight is None:
            flight = asyncio.ensure_future(self._fill(key, full, factory, seconds, write))
            self._flights[full] = flight
            flight.add_done_callback(functools.partial(self._land, full))
        text = await asyncio.shield(flight)
        return codec.decode(text)

    async def _read_for_fill(self, full: str) -> str | _Failed | _Landed | None:
        """get_or_set's read; a miss that a fill overtook returns that fill's flight.

        A read sent before a fill of the same key was written can answer after the
        fill landed (a busy pool, replies out of order, a read that timed out):
        without this, that stale miss would start a second flight and call the
        factory again.  While reads of a key are under way, a landing fill is
        remembered (its finished future) for them; the record goes with the last one.
        """
        get_now = self._get_now
        if get_now is not None and self._breaker.state is _CLOSED:
            start = time.perf_counter()
            try:  # in-process: nothing can land during this read
                text = get_now(full)
            except Exception as exc:  # fail open, exactly as _call does
                self.errors += 1
                self._failure("get", exc)
                return _FAILED
            self._latency_get.add(time.perf_counter() - start)
            return text
        reading = self._reading
        reading[full] = reading.get(full, 0) + 1
        since = self._landings
        try:
            result = await self._call("get", self.provider.get, full)
        finally:
            left = reading[full] - 1
            landed = self._landed.get(full)
            if left:
                reading[full] = left
            else:
                del reading[full]
                self._landed.pop(full, None)
        stale = result is None or isinstance(result, _Failed)
        if stale and landed is not None and landed[0] > since:
            return _Landed(landed[1])
        return result

    def _land(self, full: str, flight: asyncio.Future[str]) -> None:
        """A flight finished: forget it, remember it for reads it overtook, mark its error seen."""
        if self._flights.get(full) is flight:
            del self._flights[full]
        if flight.cancelled():
            return
        flight.exception()
        self._landings += 1
        if full in self._reading:
            self._landed[full] = (self._landings, flight)

    async def _fill(
        self,
        key: str,
        full: str,
        factory: Callable[[], Any],
        seconds: float | None,
        write: bool,
    ) -> str:
        value = factory()
        if inspect.isawaitable(value):
            value = await value
        text = self._encode(value)
        if not write:
            return text
        result = await self._call("set", self.provider.set, full, text, seconds)
        if not isinstance(result, _Failed):
            self.sets += 1
            if self._listeners:
                self._emit("set", key, ttl=seconds, size=len(text))
        return text

    # -- stats --------------------------------------------------------------------
    async def get_stats(self, *, count_keys: bool = True) -> CacheStats:
        """Snapshot the counters; count this namespace's keys when the provider can."""
        keys: int | None = None
        provider = self.provider
        if count_keys and Capability.COUNT_KEYS in getattr(provider, "capabilities", ()):
            counted = await self._call(
                "count", provider.count, self._pattern_prefix + "*", timeout=self.bulk_timeout
            )
            keys = None if isinstance(counted, _Failed) else counted
        provider_stats: dict[str, Any] = {}
        try:
            async with asyncio.timeout(self.timeout):
                provider_stats = await provider.get_stats()
        except Exception:  # stats must never fail the caller (a timeout included)
            provider_stats = {}
        latency = {}
        for op, window in self._latency.items():
            summary = window.summary()
            if summary is not None:
                latency[op] = summary
        return CacheStats(
            namespace=self.namespace,
            provider=self._provider_name,
            hits=self.hits,
            misses=self.misses,
            sets=self.sets,
            deletes=self.deletes,
            errors=self.errors,
            timeouts=self.timeouts,
            short_circuited=self.short_circuited,
            decode_errors=self.decode_errors,
            **self.freshness.counters(),
            keys=keys,
            breaker_state=str(self._breaker.state),
            latency=latency,
            provider_stats=provider_stats,
        )

    def reset_stats(self) -> None:
        """Zero the counters and latency windows (entries are untouched)."""
        self.hits = self.misses = self.sets = self.deletes = 0
        self.errors = self.timeouts = self.short_circuited = 0
        self.decode_errors = 0
        self.freshness.reset()
        for window in self._latency.values():
            window.clear()
