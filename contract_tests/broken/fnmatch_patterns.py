"""Broken: matches patterns with fnmatch (``[!a]`` negates, no backslash escapes)."""

from __future__ import annotations

import fnmatch
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


class FnmatchPatterns(DictProvider):
    """Shell-style matching instead of Redis glob."""

    def _matching(self, pattern: str) -> list[str]:
        return [
            k
            for k in list(self.data)
            if self._live(k) is not None and fnmatch.fnmatchcase(k, pattern)
        ]


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return FnmatchPatterns(clock)
