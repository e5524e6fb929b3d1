"""Injectable time sources.

Everything in cachesim that needs the time (TTL expiry, circuit breaker, stats,
simulation) takes a :class:`Clock`, so tests and simulations never sleep.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock", "system_clock"]


@runtime_checkable
class Clock(Protocol):
    """A monotonic source of seconds (float)."""

    def now(self) -> float:
        """Return the current time in seconds; only differences are meaningful."""
        ...


class SystemClock:
    """The real monotonic clock (``time.monotonic``)."""

    __slots__ = ()

    def now(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"


system_clock = SystemClock()


class ManualClock:
    """A clock that only moves when told to: for tests and virtual-time simulation."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        """Return the current virtual time."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (must be >= 0) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance({seconds!r}))")
        self._now += float(seconds)
        return self._now

    def set(self, when: float) -> None:
        """Jump to absolute time ``when`` (must not be earlier than now)."""
        if when < self._now:
            raise ValueError(f"a clock cannot go backwards ({when!r} < {self._now!r})")
        self._now = float(when)

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"
