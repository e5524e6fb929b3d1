"""Broken (TTL-8): TTLs are capped at 30 days."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl8Capped30Days(DictProvider):
    """TTLs are capped at 30 days."""

    def _expiry(self, ttl: float | None) -> float | None:
        return super()._expiry(None if ttl is None else min(ttl, 30 * 86400))


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl8Capped30Days(clock)
