"""Broken (TTL-8): TTLs in milliseconds wrap at 32 bits (24.8 days)."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl8MillisecondOverflow(DictProvider):
    """TTLs in milliseconds wrap at 32 bits (24.8 days)."""

    def _expiry(self, ttl: float | None) -> float | None:
        if ttl is None:
            return None
        ms = int(ttl * 1000) & 0xFFFFFFFF
        if ms >= 2**31:
            ms -= 2**32
        return self.clock.now() + ms / 1000


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl8MillisecondOverflow(clock)
