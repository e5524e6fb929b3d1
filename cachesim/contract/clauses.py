"""The clause registry, read from ``CONTRACT.md`` (the single source of the rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["Clause", "clauses", "contract_text"]

_HEADING = re.compile(
    r"^#### (?P<id>[A-Z]+-\d+) (?P<title>.+?)(?: \*\[requires (?P<req>[A-Z_]+)\]\*)?$"
)
_SECTION = re.compile(
    r"^## (?P<prefix>[A-Z]+): (?P<title>.+?)(?: \*\[requires (?P<req>[A-Z_]+)\]\*)?$"
)


@dataclass(frozen=True, slots=True)
class Clause:
    """One numbered rule of the contract."""

    id: str
    title: str
    section: str
    requires: str | None


def contract_text() -> str:
    """The text of the shipped ``CONTRACT.md``."""
    return resources.files("cachesim.contract").joinpath("CONTRACT.md").read_text("utf-8")


@cache
def clauses() -> dict[str, Clause]:
    """Every clause of ``CONTRACT.md`` by id, in document order."""
    found: dict[str, Clause] = {}
    section, section_req = "", None
    for line in contract_text().splitlines():
        if m := _SECTION.match(line):
            section, section_req = m["title"], m["req"]
        elif m := _HEADING.match(line):
            if m["id"] in found:
                raise ValueError(f"CONTRACT.md defines clause {m['id']} twice")
            found[m["id"]] = Clause(m["id"], m["title"], section, m["req"] or section_req)
    return found
