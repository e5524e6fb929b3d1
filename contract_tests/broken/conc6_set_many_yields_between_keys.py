"""Broken (CONC-6): declares ATOMIC_BULK, but set_many yields to the loop between keys."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from cachesim.providers import Capability
from contract_tests.broken.reference import DictProvider


class Conc6SetManyYieldsBetweenKeys(DictProvider):
    """Each key is written after a loop tick, so overlapping set_many calls mix."""

    capabilities = DictProvider.capabilities | {Capability.ATOMIC_BULK}

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Write the keys one by one, awaiting between them."""
        for key, value in items:
            await self.set(key, value, ttl)
            await asyncio.sleep(0)


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Conc6SetManyYieldsBetweenKeys(clock)
