"""Broken (CONC-5): set_many sends its pipeline in a background task and returns at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Conc5FireAndForgetPipeline(ScanProvider):
    """Set_many sends its pipeline in a background task and returns at once."""

    async def set_many(self, items: Sequence[tuple[str, str]], ttl: float | None) -> None:
        """Fire and forget: the write lands a few round trips later."""
        pending = list(items)

        async def flush() -> None:
            for _ in range(3):
                await self._roundtrip()
            for key, value in pending:
                self._put(key, value, ttl)

        self.commands["PIPELINE SET"] += 1
        self.tasks = getattr(self, "tasks", set())
        task = asyncio.ensure_future(flush())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        await self._roundtrip()


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Conc5FireAndForgetPipeline(clock)
