"""A backplane from Redis' own invalidation messages (client-side caching, ``BCAST`` mode).

``CLIENT TRACKING ON REDIRECT <id> BCAST PREFIX <p> ...`` makes redis-server send the
name of every key under the tracked prefixes that anyone modifies (a write, a delete,
an expiry, a flush) to a subscription on ``__redis__:invalidate``.  Nothing needs to
be published, and writes made by clients that know nothing of the tiered cache (an
admin script, another service, a plain ``Cache``) reach every L1 too.

Freshness is proved the same way as :class:`~cachesim.backplane.RedisBackplane`'s:
every ``heartbeat`` seconds the instance writes a short-lived key whose *name*
carries ``time.monotonic()`` under a tracked prefix of its own; when that key's
invalidation arrives, every change made before it has been applied.  A lost
subscription or tracking connection is rebuilt with backoff, and L1 is dropped.
Requires redis-server 6 or later (fakeredis does not implement tracking).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Sequence
from typing import Any

from cachesim.backplane.base import DEFAULT_CHANNEL, Backoff, BackplaneBase, Change, now
from cachesim.errors import ConfigurationError
from cachesim.redact import redact_url

__all__ = ["TrackingBackplane"]

logger = logging.getLogger("cachesim.backplane")

_CHANNEL = "__redis__:invalidate"


class TrackingBackplane(BackplaneBase):
    """``TrackingBackplane(url, prefixes=("app:",))``: track the cache namespaces' keys."""

    def __init__(
        self,
        url: str,
        *,
        prefixes: Sequence[str],
        namespace: str = "default",
        channel: str = DEFAULT_CHANNEL,
        heartbeat: float = 0.25,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
    ) -> None:
        super().__init__(namespace=namespace, channel=channel)
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(
                f"TrackingBackplane url must start with redis://, rediss:// or unix://, "
                f"got {redact_url(url)!r}"
            )
        if isinstance(prefixes, str) or not prefixes or not all(prefixes):
            raise ConfigurationError(
                "prefixes must be a non-empty list of key prefixes, e.g. ('app:',) for "
                "Cache(namespace='app')"
            )
        if not heartbeat > 0:
            raise ConfigurationError("heartbeat must be positive seconds")
        self._url = url
        self.prefixes = tuple(prefixes)
        self.heartbeat = float(heartbeat)
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._beat_prefix = f"{self.channel}:beat:{self.instance_id}:"
        self._name = f"cachesim-bp-{self.instance_id[:16]}"
        self._writer: Any = None
        self._started = False
        self.subscriptions = 0

    def __repr__(self) -> str:
        return f"TrackingBackplane({redact_url(self._url)}, prefixes={self.prefixes!r})"

    def _client(self, **options: Any) -> Any:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(
            self._url, decode_responses=True, socket_connect_timeout=2.0, **options
        )

    async def start(self, on_change: Any, on_reset: Any, l2: Any, bound: float) -> None:
        """Subscribe, switch tracking on, start heartbeats (idempotent)."""
        self._on_change, self._on_reset = on_change, on_reset
        self.bound = bound
        if self._started:
            return
        self._started = True
        self._writer = self._client()
        self._spawn(self._listen(), "cachesim-backplane-track")
        self._spawn(self._beat(), "cachesim-backplane-beat")

    async def stop(self) -> None:
        """Stop listening; the tracking connection closes with it."""
        self._started = False
        await self._cancel_tasks()
        self._synced = -math.inf
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                await writer.aclose()

    async def _send(self, change: Change) -> None:
        """Nothing to send: redis-server announces every modified key itself."""

    async def _listen(self) -> None:
        while self._started:
            sub = self._client(client_name=self._name)
            control = self._client(single_connection_client=True)
            pubsub = sub.pubsub()
            try:
                await pubsub.subscribe(_CHANNEL)
                while (message := await pubsub.get_message(timeout=1.0)) is None or (
                    message.get("type") != "subscribe"
                ):
                    pass
                ids = [c["id"] for c in await control.client_list() if c.get("name") == self._name]
                if len(ids) != 1:
                    raise ConnectionError("could not identify the subscription connection")
                args = ["CLIENT", "TRACKING", "ON", "REDIRECT", ids[0], "BCAST"]
                for prefix in (*self.prefixes, self._beat_prefix):
                    args += ["PREFIX", prefix]
                await control.execute_command(*args)
                self.subscriptions += 1
                if self.subscriptions > 1:
                    self.reconnects += 1
                self._reset()
                self._backoff.reset()
                while self._started:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._on_invalidate(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors += 1
                logger.warning(
                    "backplane tracking lost (%s); L1 bypassed until it is back", type(exc).__name__
                )
            finally:
                self._synced = -math.inf
                for closing in (pubsub, sub, control):
                    with contextlib.suppress(Exception):
                        await closing.aclose()
            if self._started:
                await asyncio.sleep(self._backoff.next_delay())

    def _on_invalidate(self, data: Any) -> None:
        if data is None:  # FLUSHDB / FLUSHALL
            self._deliver(Change("all", "redis"))
            return
        keys = [k.decode("utf-8") if isinstance(k, bytes) else str(k) for k in data]
        changed = []
        for key in keys:
            if key.startswith(self._beat_prefix):
                with contextlib.suppress(ValueError):
                    self._synced = max(self._synced, float(key[len(self._beat_prefix) :]))
            else:
                changed.append(key)
        if changed:
            self._deliver(Change("keys", "redis", tuple(changed)))

    async def _beat(self) -> None:
        """Write a short-lived key named after ``time.monotonic()`` every ``heartbeat`` s."""
        while True:
            sent = now()
            try:
                async with asyncio.timeout(2.0):
                    await self._writer.set(f"{self._beat_prefix}{sent!r}", "1", px=2000)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.errors += 1
            await asyncio.sleep(self.heartbeat)

    def stats(self) -> dict[str, int]:
        """Counters, plus how many times tracking was (re)established."""
        figures = super().stats()
        figures["backplane_subscriptions"] = self.subscriptions
        return figures
