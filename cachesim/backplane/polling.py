"""A backplane that keeps a change log in the shared backend and polls it.

For backends without a long-lived connection (Upstash over REST, serverless
workers): every change is appended to a Redis stream (``XADD ... MAXLEN ~ N``)
through the L2 provider's own client, and each instance reads what is new
(``XRANGE key (last_id + COUNT n``) every ``interval`` seconds.  A poll sent at
``t`` that comes back caught up proves every change appended before ``t`` has
been applied, so ``synced_at()`` becomes ``t``.  Failed polls back off
(jittered, exponential, capped); the provider stops serving L1 once its last
good poll is older than the staleness bound.  Every command is counted in the L2
provider's ``commands`` (Upstash bills each one).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from typing import Any

from cachesim.backplane.base import DEFAULT_CHANNEL, Backoff, BackplaneBase, Change, now
from cachesim.errors import ConfigurationError

__all__ = ["PollingBackplane"]

logger = logging.getLogger("cachesim.backplane")


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _payload(fields: Any) -> str | None:
    """The ``m`` field of a stream entry, as redis-py (dict) or Upstash (flat list) gives it."""
    if isinstance(fields, dict):
        value = fields.get("m", fields.get(b"m"))
        return None if value is None else _text(value)
    if isinstance(fields, list | tuple):
        items = [_text(f) for f in fields]
        for name, value in zip(items[::2], items[1::2], strict=False):
            if name == "m":
                return value
    return None


class PollingBackplane(BackplaneBase):
    """Change log in a Redis stream in the L2 backend, polled every ``interval`` seconds."""

    def __init__(
        self,
        interval: float = 0.5,
        *,
        provider: Any | None = None,
        namespace: str = "default",
        channel: str = DEFAULT_CHANNEL,
        max_log: int = 10_000,
        batch: int = 500,
        backoff_cap: float = 5.0,
        poll_timeout: float = 5.0,
    ) -> None:
        super().__init__(namespace=namespace, channel=channel)
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise ConfigurationError(f"interval must be positive seconds, got {interval!r}")
        if max_log < 100 or batch < 1:
            raise ConfigurationError("max_log must be >= 100 entries and batch >= 1")
        self.interval = float(interval)
        self.max_log = int(max_log)
        self.batch = int(batch)
        self.poll_timeout = float(poll_timeout)
        self._provider = provider
        self._backoff = Backoff(self.interval, max(backoff_cap, self.interval))
        self._last_id: str | None = None
        self._started = False
        self.polls = self.poll_errors = 0

    def __repr__(self) -> str:
        return f"PollingBackplane(interval={self.interval!r}, namespace={self.namespace!r})"

    # -- the backend --------------------------------------------------------------
    def _client(self) -> Any:
        client = getattr(self._provider, "client", None)
        if client is None:
            raise ConfigurationError(
                "PollingBackplane keeps its log in a Redis-command provider (redis, fakeredis, "
                "upstash): pass provider= or use it in a TieredProvider over one"
            )
        return client

    def _count(self, name: str) -> None:
        commands = getattr(self._provider, "commands", None)
        if commands is not None:
            commands[name] += 1

    async def _command(self, *args: Any) -> Any:
        client = self._client()
        self._count(str(args[0]))
        if hasattr(client, "execute_command"):  # redis-py
            return await client.execute_command(*args)
        return await client.execute(list(args))  # upstash-redis

    async def _tail_id(self) -> str:
        reply = await self._command("XREVRANGE", self.channel, "+", "-", "COUNT", 1)
        return _text(reply[0][0]) if reply else "0-0"

    async def _read(self, after: str) -> Sequence[Any]:
        reply = await self._command("XRANGE", self.channel, f"({after}", "+", "COUNT", self.batch)
        return reply or []

    # -- lifecycle ----------------------------------------------------------------
    async def start(self, on_change: Any, on_reset: Any, l2: Any, bound: float) -> None:
        """Find the end of the log, then poll it in the background (idempotent)."""
        self._on_change, self._on_reset = on_change, on_reset
        self.bound = bound
        if self._provider is None:
            self._provider = l2
        self._client()  # raises ConfigurationError for an unsuitable provider
        if self._started:
            return
        self._started = True
        self._spawn(self._poll_forever(), "cachesim-backplane-poll")
        self._spawn(self._flush_outbox(), "cachesim-backplane-outbox")

    async def stop(self) -> None:
        """Stop polling."""
        self._started = False
        await self._cancel_tasks()
        self._synced = -math.inf
        self._last_id = None

    @property
    def provider(self) -> Any:
        """The provider whose backend holds the log (L2 once started)."""
        return self._provider

    def xadd_command(self, change: Change) -> tuple[Any, ...]:
        """The ``XADD`` that appends ``change`` to the log (trimmed to about ``max_log``)."""
        return ("XADD", self.channel, "MAXLEN", "~", self.max_log, "*", "m", change.encode())

    async def _send(self, change: Change) -> None:
        await self._command(*self.xadd_command(change))

    async def poll(self) -> int:
        """Apply every change appended since the last poll; return how many were read."""
        sent = now()
        async with asyncio.timeout(self.poll_timeout):
            if self._last_id is None or sent - self._synced > self.bound:
                # First poll, or out of touch for longer than the bound: start at the
                # log's end (entries may have been trimmed) and let the provider drop L1.
                self._last_id = await self._tail_id()
                self._reset()
                self._synced = sent
                return 0
            read = 0
            while True:
                entries = await self._read(self._last_id)
                for entry in entries:
                    self._last_id = _text(entry[0])
                    payload = _payload(entry[1])
                    if payload is None:
                        continue
                    try:
                        change = Change.decode(payload)
                    except ValueError:
                        self.errors += 1
                        continue
                    self._deliver(change)
                read += len(entries)
                if len(entries) < self.batch:
                    break
        self.polls += 1
        self._synced = max(self._synced, sent)
        return read

    async def _poll_forever(self) -> None:
        failing = False
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.poll_errors += 1
                self.errors += 1
                if not failing:
                    logger.warning(
                        "backplane poll failed (%s); retrying with backoff", type(exc).__name__
                    )
                failing = True
                await asyncio.sleep(self._backoff.next_delay())
                continue
            if failing:
                self.reconnects += 1
                failing = False
            self._backoff.reset()
            await asyncio.sleep(self.interval)

    def stats(self) -> dict[str, int]:
        """Counters, plus polls made and failed."""
        figures = super().stats()
        figures["backplane_polls"] = self.polls
        figures["backplane_poll_errors"] = self.poll_errors
        return figures
