"""Broken (CONC-6): declares ATOMIC_BULK, but delete_many yields to the loop between keys."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from cachesim.providers import Capability
from contract_tests.broken.reference import DictProvider


class Conc6DeleteManyYieldsBetweenKeys(DictProvider):
    """Each key is deleted after a loop tick, so a concurrent set_many survives in part."""

    capabilities = DictProvider.capabilities | {Capability.ATOMIC_BULK}

    async def delete_many(self, keys: Sequence[str]) -> int:
        """Delete the keys one by one, awaiting between them."""
        removed = 0
        for key in dict.fromkeys(keys):
            removed += await self.delete(key)
            await asyncio.sleep(0)
        return removed


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Conc6DeleteManyYieldsBetweenKeys(clock)
