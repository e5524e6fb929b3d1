"""Broken (ISO-1): entries live in a class attribute shared by every instance."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class Iso1ClassLevelStore(DictProvider):
    """Entries live in a class attribute shared by every instance."""

    shared: dict[str, tuple[str, float | None]] = {}  # noqa: RUF012 - the bug

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.data = self.shared


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Iso1ClassLevelStore(clock)
