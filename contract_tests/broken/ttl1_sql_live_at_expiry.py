"""Broken (TTL-1): rows are live while expires >= now (live at the instant)."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.sql_reference import SQLProvider


class Ttl1SqlLiveAtExpiry(SQLProvider):
    """Rows are live while expires >= now (live at the instant)."""

    LIVE = "(expires IS NULL OR expires >= ?)"


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl1SqlLiveAtExpiry(clock)
