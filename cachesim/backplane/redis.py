"""A backplane over Redis pub/sub (redis-py, a real server or fakeredis).

Changes are published on ``<channel>:<namespace>``.  Freshness is proved, not
assumed: every ``heartbeat`` seconds the instance publishes the current
``time.monotonic()`` on a channel of its own through its publishing connection
and reads it back on its subscription.  Redis delivers messages in the order the
``PUBLISH`` commands ran, so when a heartbeat sent at ``t`` arrives, every change
whose publish finished before ``t`` has already been applied: ``synced_at()``
becomes ``t``.  A lost subscription is re-established with jittered exponential
backoff, and the provider drops its L1 each time (changes may have been missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Any

from cachesim.backplane.base import DEFAULT_CHANNEL, Backoff, BackplaneBase, Change, now
from cachesim.errors import ConfigurationError
from cachesim.redact import redact_url

__all__ = ["RedisBackplane"]

logger = logging.getLogger("cachesim.backplane")


class RedisBackplane(BackplaneBase):
    """Pub/sub backplane: ``RedisBackplane(url)`` or ``RedisBackplane(client=redis_client)``."""

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any | None = None,
        namespace: str = "default",
        channel: str = DEFAULT_CHANNEL,
        heartbeat: float = 0.25,
        backoff_base: float = 0.05,
        backoff_cap: float = 2.0,
        publish_timeout: float = 1.0,
    ) -> None:
        super().__init__(namespace=namespace, channel=channel)
        if (url is None) == (client is None):
            raise ConfigurationError("RedisBackplane needs exactly one of url= or client=")
        if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigurationError(
                f"RedisBackplane url must start with redis://, rediss:// or unix://, "
                f"got {redact_url(url)!r}"
            )
        if not heartbeat > 0 or not publish_timeout > 0:
            raise ConfigurationError("heartbeat and publish_timeout must be positive seconds")
        self._url = url
        self._client = client
        self._owns_client = client is None
        self.heartbeat = float(heartbeat)
        self.publish_timeout = float(publish_timeout)
        self._backoff = Backoff(backoff_base, backoff_cap)
        self._beat_channel = f"{self.channel}:beat:{self.instance_id}"
        self._started = False
        self.subscriptions = 0

    def __repr__(self) -> str:
        where = redact_url(self._url) if self._url else type(self._client).__name__
        return f"RedisBackplane({where}, namespace={self.namespace!r})"

    @property
    def client(self) -> Any:
        """The redis-py client (created on first use from ``url``)."""
        if self._client is None:
            import redis.asyncio

            assert self._url is not None
            self._client = redis.asyncio.Redis.from_url(
                self._url,
                decode_responses=True,
                socket_connect_timeout=self.publish_timeout,
                health_check_interval=0,
            )
        return self._client

    async def start(self, on_change: Any, on_reset: Any, l2: Any, bound: float) -> None:
        """Subscribe, start heartbeats and the retry outbox (idempotent)."""
        self._on_change, self._on_reset = on_change, on_reset
        self.bound = bound
        if self._started:
            return
        self._started = True
        self._spawn(self._listen(), "cachesim-backplane-listen")
        self._spawn(self._beat(), "cachesim-backplane-beat")
        self._spawn(self._flush_outbox(), "cachesim-backplane-outbox")

    async def stop(self) -> None:
        """Stop listening and close the client this backplane created."""
        self._started = False
        await self._cancel_tasks()
        self._synced = -math.inf
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _send(self, change: Change) -> None:
        await self.client.publish(self.channel, change.encode())

    async def _listen(self) -> None:
        """Subscribe and apply messages; on any failure, back off and subscribe again."""
        while self._started:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(self.channel, self._beat_channel)
                confirmed = 0
                while self._started:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    kind = message.get("type")
                    if kind == "subscribe":
                        confirmed += 1
                        if confirmed == 2:
                            # Subscribed: anything published from now on reaches us.  What
                            # was published while we were away is unknown, so L1 goes.
                            self.subscriptions += 1
                            if self.subscriptions > 1:
                                self.reconnects += 1
                            self._reset()
                            self._backoff.reset()
                        continue
                    if kind != "message" or confirmed < 2:
                        continue
                    self._on_message(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.errors += 1
                self._synced = -math.inf
                logger.warning(
                    "backplane subscription lost (%s); L1 bypassed until it is back",
                    type(exc).__name__,
                )
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            self._synced = -math.inf
            await asyncio.sleep(self._backoff.next_delay())

    def _on_message(self, channel: Any, data: Any) -> None:
        if isinstance(channel, bytes):
            channel = channel.decode("utf-8")
        if channel == self._beat_channel:
            with contextlib.suppress(ValueError):
                self._synced = max(self._synced, float(data))
            return
        try:
            change = Change.decode(data)
        except ValueError:
            self.errors += 1
            return
        self._deliver(change)

    async def _beat(self) -> None:
        """Publish ``time.monotonic()`` to our own channel every ``heartbeat`` seconds."""
        while True:
            sent = now()
            try:
                async with asyncio.timeout(self.publish_timeout):
                    await self.client.publish(self._beat_channel, repr(sent))
            except asyncio.CancelledError:
                raise
            except Exception:
                self.errors += 1
            await asyncio.sleep(self.heartbeat)

    def stats(self) -> dict[str, int]:
        """Counters, plus how many times the subscription was (re)established."""
        figures = super().stats()
        figures["backplane_subscriptions"] = self.subscriptions
        return figures
