"""Broken: stores every entry without expiry."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class TTLIgnored(DictProvider):
    """Declares TTL but never expires anything."""

    def _expiry(self, ttl: float | None) -> float | None:
        return None


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return TTLIgnored(clock)
