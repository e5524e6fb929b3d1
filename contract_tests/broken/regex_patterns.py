"""Broken: treats glob patterns as unanchored regular expressions."""

from __future__ import annotations

import re
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class RegexPatterns(DictProvider):
    """``*`` -> ``.*``, ``?`` -> ``.``, everything else is regex syntax; prefix match only."""

    def _matching(self, pattern: str) -> list[str]:
        regex = pattern.replace("*", ".*").replace("?", ".")
        try:
            compiled = re.compile(regex)
        except re.error:
            return []
        return [k for k in list(self.data) if self._live(k) is not None and compiled.match(k)]


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return RegexPatterns(clock)
