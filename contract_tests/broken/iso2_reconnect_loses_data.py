"""Broken (ISO-2): declares PERSISTENT, but initialize() starts from an empty store."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from cachesim.providers import Capability
from contract_tests.broken.reference import DictProvider


class Iso2ReconnectLosesData(DictProvider):
    """Declares PERSISTENT, but initialize() starts from an empty store."""

    capabilities = DictProvider.capabilities | {Capability.PERSISTENT}

    async def initialize(self) -> None:
        """Opens a fresh store on every connect."""
        self.data = {}


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Iso2ReconnectLosesData(clock)
