"""Broken (TTL-5): set_many(ttl=None) keeps each key's old expiry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Ttl5SetManyKeepsExpiry(DictProvider):
    """Set_many(ttl=None) keeps each key's old expiry."""

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Writes values; only a finite TTL touches the expiry."""
        for key, value in items:
            old = self.data.get(key)
            expires = self._expiry(ttl) if ttl is not None or old is None else old[1]
            self.data[key] = (value, expires)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ttl5SetManyKeepsExpiry(clock)
