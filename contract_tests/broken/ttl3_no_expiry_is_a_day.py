"""Broken (TTL-3): ttl=None stores with the backend's own default of one day."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl3NoExpiryIsADay(DictProvider):
    """Ttl=None stores with the backend's own default of one day."""

    def _expiry(self, ttl: float | None) -> float | None:
        return super()._expiry(86400 if ttl is None else ttl)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl3NoExpiryIsADay(clock)
