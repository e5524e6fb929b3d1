"""Broken (TTL-5): the upsert updates the value but not the expires column."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.sql_reference import SQLProvider


class Ttl5SqlUpsertKeepsExpiry(SQLProvider):
    """The upsert updates the value but not the expires column."""

    UPSERT = (
        "INSERT INTO cache (key, value, expires) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value"
    )


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl5SqlUpsertKeepsExpiry(clock)
