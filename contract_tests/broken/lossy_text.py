"""Broken: stores text as Latin-1, so other characters come back as ``?``."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class LossyText(DictProvider):
    """A backend column with the wrong character set."""

    async def set(self, key: str, value: str, ttl: float | None) -> None:
        """Store the Latin-1 rendering of ``value``."""
        mangled = value.encode("latin-1", "replace").decode("latin-1")
        await super().set(key, mangled, ttl)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return LossyText(clock)
