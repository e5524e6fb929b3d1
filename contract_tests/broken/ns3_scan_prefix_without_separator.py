"""Broken (NS-3): clear() matches <namespace>* and so also clears <namespace>2."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from cachesim.keys import escape_glob
from contract_tests.broken.scan_reference import ScanProvider


class Ns3ScanPrefixWithoutSeparator(ScanProvider):
    """Clear() matches <namespace>* and so also clears <namespace>2."""

    async def clear(self, namespace: str) -> int:
        """MATCH namespace* (the separator forgotten)."""
        return await self.invalidate_pattern(escape_glob(namespace) + "*")


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Ns3ScanPrefixWithoutSeparator(clock)
