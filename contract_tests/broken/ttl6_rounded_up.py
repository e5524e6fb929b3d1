"""Broken (TTL-6): sub-second TTLs are rounded up to whole seconds."""

from __future__ import annotations

import math
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl6RoundedUp(DictProvider):
    """Sub-second TTLs are rounded up to whole seconds."""

    def _expiry(self, ttl: float | None) -> float | None:
        return super()._expiry(None if ttl is None else float(math.ceil(ttl)))


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl6RoundedUp(clock)
