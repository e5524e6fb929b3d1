"""Broken (PAT-5, NS-6): the SCAN loop stops at the first empty page."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Pat5ScanStopsOnEmptyPage(ScanProvider):
    """The SCAN loop stops at the first empty page."""

    def _scan_all(self, match: str) -> set[str]:
        found: set[str] = set()
        cursor = 0
        while True:
            cursor, keys = self.scan(cursor, match)
            if not keys:
                return found
            found.update(keys)
            if cursor == 0:
                return found


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Pat5ScanStopsOnEmptyPage(clock)
