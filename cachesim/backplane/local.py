"""An in-process backplane: a bus shared by the tiered providers of one process.

For tests, notebooks and simulations: delivery is synchronous (a change reaches
every other subscriber before ``publish`` returns), and a subscriber can be cut
off and restored with :meth:`LocalBackplane.disconnect` / :meth:`reconnect` to
exercise the loss-and-recovery path without a network.
"""

from __future__ import annotations

import math
from typing import Any

from cachesim.backplane.base import DEFAULT_CHANNEL, BackplaneBase, Change

__all__ = ["LocalBackplane", "LocalBus"]


class LocalBus:
    """Subscribers by channel; :data:`default_bus` connects ``LocalBackplane()`` instances."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[LocalBackplane]] = {}

    def join(self, backplane: LocalBackplane) -> None:
        """Subscribe ``backplane`` to its channel (once)."""
        members = self._subscribers.setdefault(backplane.channel, [])
        if backplane not in members:
            members.append(backplane)

    def leave(self, backplane: LocalBackplane) -> None:
        """Unsubscribe ``backplane``."""
        members = self._subscribers.get(backplane.channel, [])
        if backplane in members:
            members.remove(backplane)

    def send(self, change: Change, channel: str) -> int:
        """Deliver ``change`` to every connected subscriber of ``channel``; return how many."""
        delivered = 0
        for member in list(self._subscribers.get(channel, ())):
            if member.connected:
                member._deliver(change)
                delivered += 1
        return delivered


#: The bus ``LocalBackplane()`` uses unless given one.
default_bus = LocalBus()


class LocalBackplane(BackplaneBase):
    """Backplane over an in-process :class:`LocalBus` (synchronous, lossless while connected)."""

    def __init__(
        self,
        bus: LocalBus | None = None,
        *,
        namespace: str = "default",
        channel: str = DEFAULT_CHANNEL,
    ) -> None:
        super().__init__(namespace=namespace, channel=channel)
        self.bus = bus or default_bus
        self.connected = False
        self._started = False

    async def start(self, on_change: Any, on_reset: Any, l2: Any, bound: float) -> None:
        """Join the bus."""
        self._on_change, self._on_reset = on_change, on_reset
        self.bound = bound
        if not self._started:
            self._started = True
            self.bus.join(self)
            self.connected = True
            self._spawn(self._flush_outbox(), "cachesim-backplane-outbox")

    async def stop(self) -> None:
        """Leave the bus."""
        self._started = self.connected = False
        self.bus.leave(self)
        await self._cancel_tasks()

    async def _send(self, change: Change) -> None:
        if not self.connected:
            raise ConnectionError("local backplane is disconnected")
        self.bus.send(change, self.channel)

    def synced_at(self) -> float:
        """Always current while connected (delivery is synchronous); never while cut off."""
        return math.inf if self.connected else -math.inf

    def disconnect(self) -> None:
        """Cut this subscriber off: it misses changes and stops serving its L1."""
        self.connected = False

    def reconnect(self) -> None:
        """Restore delivery; the provider drops its L1 first (changes were missed)."""
        if not self.connected and self._started:
            self.reconnects += 1
            self._reset()
            self.connected = True
