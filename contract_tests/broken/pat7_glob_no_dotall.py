"""Broken (PAT-7): patterns become regexes without DOTALL: * and ? stop at newlines."""

from __future__ import annotations

import re
from typing import Any

from cachesim.clock import Clock
from contract_tests.broken.reference import DictProvider


def _translate(
    pattern: str,
    *,
    dotall: bool = True,
    class_escapes: bool = True,
    bang: bool = False,
    end: str = r"\Z",
    flags: int = 0,
) -> re.Pattern[str]:
    """Glob to regex, with one of the usual mistakes switched on by the caller."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            i += 1
            negate = i < n and (pattern[i] == "^" or (bang and pattern[i] == "!"))
            if negate:
                i += 1
            items = []
            while i < n and pattern[i] != "]":
                if class_escapes and pattern[i] == "\\" and i + 1 < n:
                    i += 1
                    items.append(re.escape(pattern[i]))
                elif i + 2 < n and pattern[i + 1] == "-":
                    lo, hi = sorted((pattern[i], pattern[i + 2]))
                    items.append(re.escape(lo) + "-" + re.escape(hi))
                    i += 2
                else:
                    items.append(re.escape(pattern[i]))
                i += 1
            body = "".join(items)
            out.append(("[^" + body + "]") if negate else ("[" + body + "]" if body else "(?!)"))
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + end, flags | (re.DOTALL if dotall else 0))


class Pat7GlobNoDotall(DictProvider):
    """Patterns become regexes without DOTALL: * and ? stop at newlines."""

    def _matching(self, pattern: str) -> list[str]:
        regex = _translate(pattern, dotall=False)
        return [k for k in list(self.data) if self._live(k) is not None and regex.match(k)]


def factory(clock: Clock | None = None) -> Any:
    """The contract factory."""
    return Pat7GlobNoDotall(clock)
