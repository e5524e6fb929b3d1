"""Broken (VAL-9): declares max_value_bytes=4096 but refuses a value of exactly 4096 bytes."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Val9LimitOffByOne(DictProvider):
    """Declares max_value_bytes=4096 but refuses a value of exactly 4096 bytes."""

    max_value_bytes = 4096

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Off by one: at the limit is refused."""
        if len(value.encode()) >= self.max_value_bytes:
            raise ValueError("value too large")
        await super().set(key, value, ttl)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Val9LimitOffByOne(clock)
