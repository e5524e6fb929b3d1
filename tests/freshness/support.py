"""Helpers for the freshness tests: controllable factories and a backend that can fail."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from cachesim.providers.proxy import ProviderProxy


class Factory:
    """Counts calls; returns ``value`` (``value-<n>`` when value is None), or raises ``error``.

    ``gate`` (an Event) makes each call wait until it is set; ``started`` is set when a
    call begins; ``advance`` moves a ManualClock forward inside the call (a measured
    recompute time for XFetch).
    """

    def __init__(
        self,
        value: Any = None,
        *,
        error: BaseException | None = None,
        gate: asyncio.Event | None = None,
        clock: Any = None,
        advance: float = 0.0,
    ) -> None:
        self.value = value
        self.error = error
        self.gate = gate
        self.clock = clock
        self.advance = advance
        self.calls = 0
        self.finished = 0
        self.started = asyncio.Event()

    async def __call__(self) -> Any:
        self.calls += 1
        n = self.calls
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.clock is not None and self.advance:
            self.clock.advance(self.advance)
        self.finished += 1
        if self.error is not None:
            raise self.error
        return f"value-{n}" if self.value is None else self.value


class Switchable(ProviderProxy):
    """A provider whose backend can be switched off (every call raises ConnectionError)."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.down = False
        self.calls: list[str] = []

    async def _call(self, op: str, *args: Any) -> Any:
        self.calls.append(op)
        if self.down and op not in ("disconnect",):
            raise ConnectionError("backend down")
        return await super()._call(op, *args)


class FixedRandom(random.Random):
    """A Random whose ``random()`` returns a fixed value (for XFetch and jitter tests)."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


async def settle(rounds: int = 5) -> None:
    """Let background tasks run (no wall-clock sleep)."""
    for _ in range(rounds):
        await asyncio.sleep(0)
