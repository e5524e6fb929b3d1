"""Broken: delete() returns True whether or not the key existed."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class DeleteAlwaysTrue(DictProvider):
    """PSR-16 style delete result."""

    async def delete(self, key: str) -> bool:
        """Remove; always report success."""
        await super().delete(key)
        return True


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return DeleteAlwaysTrue(clock)
