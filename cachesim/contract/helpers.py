"""Small helpers for contract tests: counting factories and log capture."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Iterator
from typing import Any

__all__ = ["AsyncFactory", "CountingFactory", "capture_logs"]


class CountingFactory:
    """A sync ``get_or_set`` factory that counts its calls and returns a fresh ``value``."""

    def __init__(self, value: Any = None, *, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return copy.deepcopy(self.value)


class AsyncFactory(CountingFactory):
    """An async factory; with ``gated=True`` it waits for :meth:`release` before answering."""

    def __init__(
        self, value: Any = None, *, error: BaseException | None = None, gated: bool = False
    ) -> None:
        super().__init__(value, error=error)
        self.started = asyncio.Event()
        self.gate = asyncio.Event()
        if not gated:
            self.gate.set()

    def release(self) -> None:
        """Let waiting calls finish."""
        self.gate.set()

    async def __call__(self) -> Any:
        self.calls += 1
        self.started.set()
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return copy.deepcopy(self.value)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def capture_logs(name: str = "cachesim") -> Iterator[list[logging.LogRecord]]:
    """Collect every record logged on ``name`` (and below) at any level."""
    handler = _ListHandler()
    target = logging.getLogger(name)
    old_level = target.level
    target.addHandler(handler)
    target.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        target.removeHandler(handler)
        target.setLevel(old_level)
