"""A small circuit breaker so a dead backend costs nothing per call."""

from __future__ import annotations

from enum import StrEnum

from cachesim.clock import Clock

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    """Closed: calls go through.  Open: calls are skipped.  Half-open: one probe goes."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; probes again after ``reset_after`` s."""

    __slots__ = (
        "_clock",
        "_failures",
        "_opened_at",
        "_probing",
        "reset_after",
        "state",
        "threshold",
    )

    def __init__(self, clock: Clock, threshold: int = 5, reset_after: float = 5.0) -> None:
        if threshold < 1:
            raise ValueError(f"breaker threshold must be >= 1, got {threshold!r}")
        if reset_after <= 0:
            raise ValueError(f"breaker reset_after must be > 0 seconds, got {reset_after!r}")
        self._clock = clock
        self.threshold = threshold
        self.reset_after = reset_after
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    def allow(self) -> bool:
        """Whether a call may go to the backend now."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN:
            if self._clock.now() - self._opened_at < self.reset_after:
                return False
            self.state = BreakerState.HALF_OPEN
            self._probing = False
        if self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> BreakerState:
        """A call succeeded: close the breaker.  Returns the previous state."""
        previous = self.state
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._probing = False
        return previous

    def record_failure(self) -> BreakerState:
        """A call failed: count it, open when the threshold is reached.  Returns the new state."""
        self._failures += 1
        self._probing = False
        if self.state is BreakerState.HALF_OPEN or self._failures >= self.threshold:
            self.state = BreakerState.OPEN
            self._opened_at = self._clock.now()
        return self.state
