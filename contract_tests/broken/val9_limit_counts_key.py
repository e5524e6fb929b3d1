"""Broken (VAL-9): declares max_value_bytes=65536 but the store counts key plus value against it."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Val9LimitCountsKey(DictProvider):
    """Declares max_value_bytes=65536 but the store counts key plus value against it."""

    max_value_bytes = 65536

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Refuses items whose key and value exceed the limit together."""
        if len(key.encode()) + len(value.encode()) > self.max_value_bytes:
            raise ValueError("item too large")
        await super().set(key, value, ttl)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Val9LimitCountsKey(clock)
