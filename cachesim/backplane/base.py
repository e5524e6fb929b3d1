"""What every backplane shares: the change message, the protocol, counters and backoff.

A backplane carries *changes* (keys written or deleted, a pattern invalidated, a
namespace cleared) from the instance that made them to every other instance's
L1, and tells the tiered provider how fresh its view is: :meth:`Backplane.synced_at`
is a ``time.monotonic()`` reading such that every change published before it has
been applied here.  The provider serves L1 only while ``now - synced_at`` is within
its staleness bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from cachesim.errors import ConfigurationError

__all__ = [
    "DEFAULT_CHANNEL",
    "Backoff",
    "Backplane",
    "BackplaneBase",
    "Change",
    "ChangeHandler",
    "ResetHandler",
]

logger = logging.getLogger("cachesim.backplane")

#: Prefix of every backplane channel / change-log key (outside any cache namespace).
DEFAULT_CHANNEL = "__cachesim_backplane__"

_OPS = ("keys", "pattern", "clear", "all")


@dataclass(frozen=True, slots=True)
class Change:
    """One change to forward: ``op`` is ``keys``, ``pattern``, ``clear`` or ``all``.

    ``keys`` are full (namespaced) keys; ``pattern`` a Redis glob over full keys;
    ``namespace`` the namespace a ``clear`` removed.  ``sender`` is the publishing
    instance's id, so an instance can ignore its own messages.
    """

    op: str
    sender: str
    keys: tuple[str, ...] = ()
    pattern: str | None = None
    namespace: str | None = None

    def encode(self) -> str:
        """Compact JSON text for the wire."""
        body: dict[str, Any] = {"o": self.op, "s": self.sender}
        if self.keys:
            body["k"] = list(self.keys)
        if self.pattern is not None:
            body["p"] = self.pattern
        if self.namespace is not None:
            body["n"] = self.namespace
        return orjson.dumps(body).decode("utf-8")

    @classmethod
    def decode(cls, text: str | bytes) -> Change:
        """Parse :meth:`encode`'s output (ValueError when it is not a change)."""
        body = orjson.loads(text)
        if not isinstance(body, dict) or body.get("o") not in _OPS:
            raise ValueError("not a backplane change message")
        return cls(
            op=str(body["o"]),
            sender=str(body.get("s", "")),
            keys=tuple(str(k) for k in body.get("k", ())),
            pattern=body.get("p"),
            namespace=body.get("n"),
        )


ChangeHandler = Callable[[Change], None]
ResetHandler = Callable[[], None]


@runtime_checkable
class Backplane(Protocol):
    """How a :class:`~cachesim.providers.TieredProvider` talks to its peers."""

    instance_id: str

    async def start(
        self, on_change: ChangeHandler, on_reset: ResetHandler, l2: Any, bound: float
    ) -> None:
        """Begin delivering other instances' changes to ``on_change`` (idempotent).

        ``on_reset`` is called whenever changes may have been missed (after a
        (re)subscription): the provider then drops its L1.  ``l2`` is the shared
        provider, for backplanes that keep their log in it; ``bound`` the
        provider's staleness bound (a backplane out of touch for longer resets).
        """
        ...

    async def publish(self, change: Change) -> None:
        """Send ``change`` to every other instance; on failure queue it for retry and raise."""
        ...

    def publish_later(self, change: Change) -> None:
        """Queue ``change`` for a background send (after a failed or cancelled write)."""
        ...

    def synced_at(self) -> float:
        """``time.monotonic()`` before which every published change has been applied here."""
        ...

    async def stop(self) -> None:
        """Stop delivering and release connections (idempotent)."""
        ...

    def stats(self) -> dict[str, int]:
        """Counters: ``backplane_messages``, ``backplane_published``, ``..._reconnects`` ..."""
        ...


class Backoff:
    """Exponential backoff with full jitter between ``base`` and ``cap`` seconds."""

    def __init__(self, base: float = 0.05, cap: float = 2.0) -> None:
        if not 0 < base <= cap:
            raise ConfigurationError(
                f"backoff needs 0 < base <= cap seconds, got base={base!r} cap={cap!r}"
            )
        self.base, self.cap = base, cap
        self.attempt = 0

    def next_delay(self) -> float:
        """The next delay (grows with each call until :meth:`reset`)."""
        ceiling = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """Start again from ``base`` (after a success)."""
        self.attempt = 0


class BackplaneBase:
    """Counters, the retry outbox and task bookkeeping shared by the built-in backplanes."""

    #: Largest number of unsent changes kept for retry; beyond it they collapse to ``all``.
    outbox_limit = 1000
    #: Bound on one background resend (a foreground publish is bounded by the cache's timeout).
    send_timeout = 5.0

    def __init__(self, *, namespace: str = "default", channel: str = DEFAULT_CHANNEL) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ConfigurationError("backplane namespace must be a non-empty string")
        self.instance_id = uuid.uuid4().hex
        self.namespace = namespace
        self.channel = f"{channel}:{namespace}"
        self._on_change: ChangeHandler | None = None
        self._on_reset: ResetHandler | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: deque[Change] = deque()
        self._outbox_wake = asyncio.Event()
        self._synced = -math.inf
        self.bound = math.inf
        self.messages = self.published = self.publish_errors = 0
        self.reconnects = self.errors = self.ignored_own = 0

    # -- for subclasses -----------------------------------------------------------
    def _deliver(self, change: Change) -> None:
        """Hand a received change to the provider (own messages are ignored)."""
        if change.sender == self.instance_id:
            self.ignored_own += 1
            return
        self.messages += 1
        if self._on_change is not None:
            self._on_change(change)

    def _reset(self) -> None:
        if self._on_reset is not None:
            self._on_reset()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def _cancel_tasks(self) -> None:
        tasks, self._tasks = self._tasks, []
        # Some client libraries swallow a cancellation that lands inside their own
        # timeouts: cancel again until every task has ended.
        pending = {t for t in tasks if not t.done()}
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.1)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()

    async def _send(self, change: Change) -> None:  # pragma: no cover - abstract
        raise NotImplementedError  # abstract

    # -- publishing ---------------------------------------------------------------
    async def publish(self, change: Change) -> None:
        """Send now; on failure queue it for the background retry, then re-raise.

        The write that produced ``change`` is then reported as not confirmed: other
        instances will drop their copies only when the retry gets through.
        """
        try:
            await self._send(change)
        except asyncio.CancelledError:
            self.publish_later(change)
            raise
        except Exception as exc:
            self.publish_errors += 1
            logger.warning("backplane publish failed (%s); retrying", type(exc).__name__)
            self.publish_later(change)
            raise
        self.published += 1

    def publish_later(self, change: Change) -> None:
        """Queue ``change``; an overflowing outbox collapses to one ``all`` change."""
        if len(self._outbox) >= self.outbox_limit:
            self._outbox.clear()
            change = Change("all", self.instance_id)
        self._outbox.append(change)
        self._outbox_wake.set()

    async def _flush_outbox(self) -> None:
        """Retry queued changes with backoff until each is sent."""
        backoff = Backoff()
        while True:
            await self._outbox_wake.wait()
            while self._outbox:
                change = self._outbox[0]
                try:
                    async with asyncio.timeout(self.send_timeout):
                        await self._send(change)
                except Exception:
                    self.publish_errors += 1
                    await asyncio.sleep(backoff.next_delay())
                    continue
                backoff.reset()
                self.published += 1
                self._outbox.popleft()
            self._outbox_wake.clear()

    # -- reading ------------------------------------------------------------------
    def synced_at(self) -> float:
        """Monotonic time before which every published change has been applied here."""
        return self._synced

    def stats(self) -> dict[str, int]:
        """Backplane counters (prefixed ``backplane_``)."""
        return {
            "backplane_messages": self.messages,
            "backplane_published": self.published,
            "backplane_publish_errors": self.publish_errors,
            "backplane_pending": len(self._outbox),
            "backplane_reconnects": self.reconnects,
            "backplane_errors": self.errors,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self.namespace!r})"


def now() -> float:
    """The backplane clock: ``time.monotonic()`` (system-wide on one host)."""
    return time.monotonic()
