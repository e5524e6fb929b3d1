"""The clause registry, read from ``CONTRACT.md`` (the single source of the rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["COMMON_FIXES", "Clause", "clauses", "contract_text", "explain"]

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
    rule: str = ""

    def headline(self) -> str:
        """``TTL-5 A write replaces the TTL: <first sentence of the rule>``."""
        return f"{self.id} {self.title}: {self.rule}" if self.rule else f"{self.id} {self.title}"


def contract_text() -> str:
    """The text of the shipped ``CONTRACT.md``."""
    return resources.files("cachesim.contract").joinpath("CONTRACT.md").read_text("utf-8")


@cache
def clauses() -> dict[str, Clause]:
    """Every clause of ``CONTRACT.md`` by id, in document order."""
    found: dict[str, Clause] = {}
    section, section_req = "", None
    current: Clause | None = None
    body: list[str] = []

    def close() -> None:
        if current is not None:
            text = " ".join(" ".join(body).split())
            rule = text.split(". ")[0].rstrip(".:") + "." if text else ""
            found[current.id] = Clause(
                current.id, current.title, current.section, current.requires, rule
            )

    for line in contract_text().splitlines():
        if m := _SECTION.match(line):
            close()
            current, body = None, []
            section, section_req = m["title"], m["req"]
        elif m := _HEADING.match(line):
            close()
            if m["id"] in found:
                raise ValueError(f"CONTRACT.md defines clause {m['id']} twice")
            current = Clause(m["id"], m["title"], section, m["req"] or section_req)
            found[m["id"]] = current
            body = []
        elif current is not None and (body or line.strip()):
            if not line.strip() or line.startswith(("-", "|", "`" * 3, "---")):
                if body:  # the rule is the first paragraph
                    close()
                    current = None
                continue
            body.append(line.strip())
    close()
    return found


#: The usual cause of a clause's violation and its fix, shown under a failure.
COMMON_FIXES: dict[str, str] = {
    "TTL-1": "an entry expires when now >= written_at + ttl (not >); keep the TTL in "
    "milliseconds, not truncated to whole seconds",
    "TTL-3": "NO_EXPIRY reaches the provider as ttl=None: store without any expiry",
    "TTL-5": "every write must reset the expiry: an upsert must also update the expiry column, "
    "a separate expiry map must be overwritten (or cleared for ttl=None), and delete must "
    "drop the old expiry too",
    "TTL-7": "filter expired entries in every read, count and scan, not only in get",
    "TTL-8": "memcached reads a TTL over 30 days as a Unix timestamp, and milliseconds overflow "
    "32 bits after 24.8 days: convert long TTLs explicitly",
    "TTL-10": "a read must not touch the expiry (no GETEX/GAT/touch, no sliding expiry)",
    "NS-2": "count what was removed, after filtering expired entries",
    "NS-3": "match the namespace as an exact prefix followed by ':'; SQL LIKE treats _ and % "
    "as wildcards (and is case-insensitive in SQLite): use LIKE ... ESCAPE or "
    "substr(key, 1, n) = prefix",
    "NS-4": "escape the namespace (escape_glob) before building a pattern; in SQL escape "
    "_ % and the escape character",
    "NS-5": "escape the namespace wherever it becomes a pattern (glob, LIKE, regex)",
    "PAT-1": "Redis globs are not fnmatch or regex: [!a] is literal, [^a] negates, \\ escapes "
    "(also inside classes), * and ? match newlines (re.DOTALL), the whole key must match; "
    "compare with cachesim.contract.glob.stringmatch",
    "PAT-2": "SCAN may return a key more than once: deduplicate before counting",
    "PAT-5": "loop SCAN until the cursor returns to 0: pages can be empty long before the end",
    "PAT-7": "follow Redis' stringmatchlen for the edge cases (see cachesim.contract.glob)",
    "OP-5": "a get_many answer must stay aligned with the keys asked, including the last "
    "partial chunk of a batched MGET",
    "OP-6": "write the last partial batch too (non-round counts), and every batch's TTL",
    "OP-7": "count the keys that existed, once each, including the last partial batch",
    "STAT-4": "count only live keys of this namespace (not DBSIZE, not expired rows)",
    "STAT-6": "count every command sent, including those inside pipelines and batches",
    "SHARE-1": "keep state in the backend, not in per-instance caches",
    "ISO-1": "keep per-instance state in instance attributes, not mutable class attributes",
    "ISO-2": "keep entries in the backend across disconnect() and initialize()",
    "CONC-5": "do not read-modify-write shared state across an await: apply each change "
    "to the current state",
    "CONC-6": "apply a batch without yielding between its keys (one step, or one "
    "transaction), or do not declare ATOMIC_BULK",
    "VAL-9": "declare max_value_bytes as the largest value the backend really stores "
    "(memcached's item size includes the key and overhead)",
    "KEY-6": "do not build patterns, SQL or commands by string concatenation of keys",
}


def explain(clause_ids: list[str] | tuple[str, ...]) -> str:
    """What a failure of a test citing ``clause_ids`` violates, and the usual fix."""
    registry = clauses()
    lines = []
    for cid in clause_ids:
        known = registry.get(cid)
        if known is None:
            continue
        lines.append(f"contract clause {known.headline()}")
        if cid in COMMON_FIXES:
            lines.append(f"  common cause and fix: {COMMON_FIXES[cid]}")
    return "\n".join(lines)
