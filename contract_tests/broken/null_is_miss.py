"""Broken: a stored JSON ``null`` reads back as a miss."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class NullIsMiss(DictProvider):
    """Treats the text ``null`` as "nothing stored"."""

    async def get(self, key: str) -> str | None:
        """The value, unless it is ``null``."""
        value = self._live(key)
        return None if value == "null" else value


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return NullIsMiss(clock)
