"""Broken (PAT-5): invalidate_pattern reads one SCAN page of COUNT 1000."""

from __future__ import annotations

from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.scan_reference import ScanProvider


class Pat5ScanFirstPageOnly(ScanProvider):
    """Invalidate_pattern reads one SCAN page of COUNT 1000."""

    def _scan_all(self, match: str) -> set[str]:
        self.PAGE = 1000
        try:
            return set(self.scan(0, match)[1])
        finally:
            del self.PAGE


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Pat5ScanFirstPageOnly(clock)
