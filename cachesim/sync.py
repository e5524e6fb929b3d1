"""A blocking facade over :class:`~cachesim.Cache` for sync code (Django, Flask, workers).

:class:`SyncCache` runs the wrapped async :class:`~cachesim.Cache` on one private
event loop in a daemon thread and hands each call to it with
:func:`asyncio.run_coroutine_threadsafe`, so it is safe to call from any number of
threads and every call has exactly the semantics of the async API.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import os
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from cachesim import forks
from cachesim.cache import Cache, CacheEvent

if TYPE_CHECKING:
    from types import TracebackType

    from cachesim.settings import CacheSettings
    from cachesim.stats import CacheStats

__all__ = ["SyncCache"]

logger = logging.getLogger("cachesim.sync")

T = TypeVar("T")

_JOIN_TIMEOUT = 5.0


class _FactoryInterrupted(RuntimeError):
    """The thread running a ``get_or_set`` factory was interrupted (e.g. KeyboardInterrupt)."""


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Thread target: run ``loop`` until stopped, then cancel leftovers and close it."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        try:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Stop the loop thread and wait for it (finalizer: must not reference the SyncCache)."""
    if not loop.is_closed():
        with contextlib.suppress(RuntimeError):  # closed in the meantime
            loop.call_soon_threadsafe(loop.stop)
    if thread is not threading.current_thread():
        thread.join(_JOIN_TIMEOUT)


def _call_factory(factory: Callable[[], Any]) -> tuple[Any, Exception | None]:
    """Run a sync factory in this thread: ``(value, None)`` or ``(None, error)``."""
    try:
        value = factory()
    except Exception as exc:
        return None, exc
    if inspect.isawaitable(value):
        if inspect.iscoroutine(value):
            value.close()
        return None, TypeError(
            "SyncCache.get_or_set factory returned an awaitable; pass a sync factory "
            "or use the async Cache.get_or_set"
        )
    return value, None


def _resolve(reply: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if reply.done():  # the flight was cancelled (e.g. the SyncCache is closing)
        return
    if error is not None:
        reply.set_exception(error)
    else:
        reply.set_result(value)


class SyncCache:
    """Blocking access to a :class:`~cachesim.Cache`, safe from any thread.

    One background event loop (in a daemon thread) owns the wrapped cache; every
    method submits a coroutine to it and waits.  Hand the cache over entirely: do
    not also use it from another event loop.  Listeners registered with
    :meth:`subscribe` run on the background thread.  Use as a context manager, or
    call :meth:`close` when done (a forgotten SyncCache stops its thread when it
    is garbage collected).  Fork-safe: in a forked child (gunicorn ``--preload``,
    Celery prefork, multiprocessing) the first call starts a fresh loop thread and
    the cache and its provider use fresh connections and flights; the parent's are
    left untouched.
    """

    def __init__(self, cache: Cache, *, thread_name: str | None = None) -> None:
        if not isinstance(cache, Cache):
            raise TypeError(f"SyncCache wraps a cachesim.Cache, got {type(cache).__name__}")
        self.cache = cache
        self._thread_name = thread_name or f"cachesim-sync-{cache.namespace}"
        self._closed = False
        self._lock = threading.RLock()
        self._start()
        forks.register(self)

    def _after_fork(self) -> None:
        """In a forked child: only this thread survived; a lock held by another is void."""
        self._lock = threading.RLock()

    def _start(self) -> None:
        self._pid = os.getpid()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=_run_loop, args=(self._loop,), name=self._thread_name, daemon=True
        )
        self._thread.start()
        self._finalizer = weakref.finalize(self, _stop_loop, self._loop, self._thread)

    def _current_loop(self) -> asyncio.AbstractEventLoop:
        """The background loop, restarted once in a forked child (threads do not survive fork)."""
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._finalizer.detach()  # the parent's loop is not ours to stop
                    forks.keep_from_parent(self._loop)
                    self._start()
        return self._loop

    @classmethod
    def from_env(cls, settings: CacheSettings | None = None, **overrides: Any) -> SyncCache:
        """Build the cache the environment describes (see :meth:`Cache.from_env`)."""
        return cls(Cache.from_env(settings, **overrides))

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"SyncCache({self.cache!r}, {state})"

    @property
    def namespace(self) -> str:
        """The wrapped cache's namespace."""
        return self.cache.namespace

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._closed

    # -- plumbing -----------------------------------------------------------------
    def _check_caller(self) -> None:
        if self._closed:
            raise RuntimeError("this SyncCache is closed")
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "SyncCache called from its own event loop thread (e.g. inside a listener); "
                "that would deadlock. Use the async Cache there"
            )

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        # Under the lock so that nothing is queued behind the loop's stop in close().
        with self._lock:
            try:
                self._check_caller()
                return asyncio.run_coroutine_threadsafe(coro, self._current_loop())
            except BaseException:
                coro.close()  # never leave an un-awaited coroutine behind
                raise

    @staticmethod
    def _wait(future: concurrent.futures.Future[T]) -> T:
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt while waiting: stop the work too
            raise

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._wait(self._submit(coro))

    # -- lifecycle ----------------------------------------------------------------
    def initialize(self) -> None:
        """Connect the provider (an unreachable backend is logged, not raised)."""
        self._run(self.cache.initialize())

    def disconnect(self) -> None:
        """Release the provider's connections; the SyncCache stays usable."""
        self._run(self.cache.disconnect())

    def close(self) -> None:
        """Disconnect the provider and stop the background loop (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._check_caller()
            try:
                self._run(self.cache.disconnect())
            except Exception:  # shutting down must not fail
                logger.warning("SyncCache could not disconnect its cache cleanly")
            self._closed = True
        self._finalizer()

    def __enter__(self) -> SyncCache:
        self.initialize()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reads --------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """Return the cached value, or ``default`` on a miss (a cached None is returned)."""
        return self._run(self.cache.get(key, default))

    def has(self, key: str) -> bool:
        """Whether ``key`` holds a live entry (False when the backend fails)."""
        return self._run(self.cache.has(key))

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return ``{key: value}`` for the keys that hit (misses are absent)."""
        return self._run(self.cache.get_many(list(keys)))

    # -- writes -------------------------------------------------------------------
    def set(self, key: str, value: Any, ttl: float | timedelta | None = None) -> bool:
        """Store ``value`` (see :meth:`Cache.set`); False when the write was dropped."""
        return self._run(self.cache.set(key, value, ttl))

    def set_many(self, items: Mapping[str, Any], ttl: float | timedelta | None = None) -> bool:
        """Store several entries with one TTL (see :meth:`Cache.set_many`)."""
        return self._run(self.cache.set_many(dict(items), ttl))

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if a live entry existed."""
        return self._run(self.cache.delete(key))

    def delete_many(self, keys: Iterable[str]) -> int:
        """Remove keys; return how many live entries existed."""
        return self._run(self.cache.delete_many(list(keys)))

    def invalidate_pattern(self, pattern: str) -> int:
        """Remove keys of this namespace matching the Redis glob ``pattern``; return the count."""
        return self._run(self.cache.invalidate_pattern(pattern))

    def clear(self) -> int:
        """Remove every entry of this namespace (never anything else); return the count."""
        return self._run(self.cache.clear())

    # -- get_or_set ---------------------------------------------------------------
    def get_or_set(
        self,
        key: str,
        factory: Callable[[], T],
        ttl: float | timedelta | None = None,
    ) -> T:
        """Return the cached value, or compute it with the sync ``factory`` and cache it.

        The factory runs in the calling thread, never on the background loop, so it
        may block.  Single-flight across threads: the call goes through
        :meth:`Cache.get_or_set` on the loop, whose flight asks the leading caller's
        thread to run the factory while concurrent callers for the same key wait
        for that one result.  A factory error reaches every waiter and nothing is
        cached; a cached None is a value.
        """
        if inspect.iscoroutinefunction(factory):
            raise TypeError(
                "SyncCache.get_or_set needs a sync factory; use the async Cache.get_or_set "
                "for coroutine functions"
            )
        loop = self._current_loop()
        # Completed (on the loop) with the future the factory's result must go to,
        # if and only if this call leads the flight.
        request: concurrent.futures.Future[asyncio.Future[Any]] = concurrent.futures.Future()
        abandoned = threading.Event()

        async def bridge() -> Any:
            reply: asyncio.Future[Any] = loop.create_future()
            request.set_result(reply)
            if abandoned.is_set():  # the caller gave up before we asked
                _resolve(reply, None, _FactoryInterrupted("the get_or_set caller went away"))
            return await reply

        outcome: concurrent.futures.Future[Any] = self._submit(
            self.cache.get_or_set(key, bridge, ttl)
        )
        try:
            either: list[concurrent.futures.Future[Any]] = [outcome, request]
            concurrent.futures.wait(either, return_when=concurrent.futures.FIRST_COMPLETED)
            if not outcome.done():
                value, error = _call_factory(factory)
                try:
                    loop.call_soon_threadsafe(_resolve, request.result(), value, error)
                except RuntimeError:  # the loop closed while the factory ran
                    raise RuntimeError("this SyncCache was closed during get_or_set") from None
            result: T = self._wait(outcome)
            return result
        except BaseException:
            # Never leave other waiters hanging on a flight whose factory will not run.
            abandoned.set()
            if request.done():
                interrupted = _FactoryInterrupted("the get_or_set factory was interrupted")
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_resolve, request.result(), None, interrupted)
            outcome.cancel()
            raise

    # -- stats and listeners ------------------------------------------------------
    def get_stats(self, *, count_keys: bool = True) -> CacheStats:
        """Snapshot the counters (see :meth:`Cache.get_stats`)."""
        return self._run(self.cache.get_stats(count_keys=count_keys))

    def reset_stats(self) -> None:
        """Zero the counters and latency windows (entries are untouched)."""

        async def reset() -> None:
            self.cache.reset_stats()

        self._run(reset())

    def subscribe(self, listener: Callable[[CacheEvent], None]) -> Callable[[], None]:
        """Call ``listener(event)`` (on the background thread) for every operation.

        Returns a function that unsubscribes; it may be called from any thread.
        """

        async def add() -> Callable[[], None]:
            return self.cache.subscribe(listener)

        remove = self._run(add())

        def unsubscribe() -> None:
            async def run() -> None:
                remove()

            if self._closed:
                remove()
            else:
                self._run(run())

        return unsubscribe
