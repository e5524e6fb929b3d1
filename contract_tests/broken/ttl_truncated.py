"""Broken: truncates TTLs to whole seconds (a sub-second TTL becomes no expiry)."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class TTLTruncated(DictProvider):
    """``int(ttl)`` seconds, and 0 means forever (like some memcached clients)."""

    def _expiry(self, ttl: float | None) -> float | None:
        whole = None if ttl is None else int(ttl)
        return None if not whole else self.clock.now() + whole


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return TTLTruncated(clock)
