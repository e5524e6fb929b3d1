"""Broken (NS-4): clear() puts the namespace into the MATCH pattern unescaped."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Ns4ScanUnescapedNamespace(ScanProvider):
    """Clear() puts the namespace into the MATCH pattern unescaped."""

    async def clear(self, namespace: str) -> int:
        """MATCH namespace:* with the namespace's own metacharacters active."""
        return await self.invalidate_pattern(namespace + ":*")


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ns4ScanUnescapedNamespace(clock)
