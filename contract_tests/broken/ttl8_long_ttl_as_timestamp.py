"""Broken (TTL-8): a TTL over 30 days is read as a Unix timestamp (memcached)."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl8LongTtlAsTimestamp(DictProvider):
    """A TTL over 30 days is read as a Unix timestamp (memcached)."""

    def _expiry(self, ttl: float | None) -> float | None:
        if ttl is not None and ttl > 30 * 86400:
            return ttl  # "an absolute time", as memcached reads it
        return super()._expiry(ttl)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl8LongTtlAsTimestamp(clock)
