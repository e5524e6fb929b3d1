"""The conformance report: per-test outcomes rolled up per clause and per capability.

Written as JSON (``--contract-report out.json``) and Markdown (``out.md`` beside it).
A run is *partial* when the canonical set of tests was reduced (``-k``, ``-m``,
deselection, a smoke profile, a subset of modules); a partial report never claims
conformance, and a run that executed no test fails.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cachesim.contract import SUITE_VERSION
from cachesim.contract.clauses import clauses
from cachesim.contract.factory import ProviderInfo
from cachesim.providers.capabilities import CAPABILITY_VOCABULARY_VERSION, Capability

__all__ = ["SUITE_VERSION", "CaseRecord", "ContractResults"]


#: Outcome of a clause, worst first.
CLAUSE_OUTCOMES = ("failed", "deviation", "passed", "skipped", "not_run")
EXECUTED = ("passed", "failed", "error", "xfailed", "xpassed")


@dataclass
class CaseRecord:
    """One contract test and what happened to it."""

    nodeid: str
    name: str
    clauses: tuple[str, ...]
    requires: tuple[str, ...]
    outcome: str = "not_run"
    reason: str = ""
    duration: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        data: dict[str, Any] = {"id": self.name, "nodeid": self.nodeid, "outcome": self.outcome}
        if self.reason:
            data["reason"] = self.reason
        data["duration_s"] = round(self.duration, 4)
        return data


_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failed|Timeout)\b")


def _first_line(text: str, limit: int = 300) -> str:
    """The most telling line of a failure: pytest's first ``E`` line, else an error line."""
    lines = [line.strip().lstrip("|+- ").strip() for line in text.splitlines()]
    for line in text.splitlines():
        if line.startswith("E "):
            return line[2:].strip()[:limit]
    for line in lines:
        if _ERROR_LINE.match(line):
            return line[:limit]
    stripped = [line for line in lines if line]
    return (stripped[-1] if stripped else "")[:limit]


@dataclass
class ContractResults:
    """Everything the report says, filled in by the plugin's hooks."""

    info: ProviderInfo
    profile: str = "full"
    records: dict[str, CaseRecord] = field(default_factory=dict)
    partial_reasons: list[str] = field(default_factory=list)
    deselected: int = 0
    started: float = 0.0
    finished: float = 0.0
    exit_problems: list[str] = field(default_factory=list)

    # -- recording ------------------------------------------------------------------
    def add(self, record: CaseRecord) -> None:
        """Register a collected contract test."""
        self.records[record.nodeid] = record

    def drop(self, nodeids: list[str], why: str) -> None:
        """Forget tests that will not run (deselected), marking the run partial."""
        removed = [n for n in nodeids if self.records.pop(n, None) is not None]
        if removed:
            self.deselected += len(removed)
            if why not in self.partial_reasons:
                self.partial_reasons.append(why)

    def update(
        self,
        nodeid: str,
        when: str,
        outcome: str,
        longrepr: Any,
        wasxfail: str | None,
        duration: float,
    ) -> None:
        """Fold one pytest phase report into the test's record."""
        record = self.records.get(nodeid)
        if record is None:
            return
        record.duration += duration
        text = str(longrepr) if longrepr is not None else ""
        if when == "call" or (when == "setup" and outcome != "passed"):
            if outcome == "passed":
                record.outcome, record.reason = (
                    ("xpassed", wasxfail or "")
                    if wasxfail
                    else (
                        "passed",
                        "",
                    )
                )
            elif outcome == "skipped":
                if wasxfail is not None:
                    record.outcome, record.reason = "xfailed", wasxfail
                else:
                    record.outcome = "skipped"
                    reason = longrepr[2] if isinstance(longrepr, tuple) else text
                    record.reason = str(reason).removeprefix("Skipped: ")
            elif "XPASS(strict)" in text:
                record.outcome = "xpassed"
                record.reason = "known deviation no longer happens: remove it from the list"
            else:
                record.outcome = "failed" if when == "call" else "error"
                record.reason = _first_line(text)
        elif when == "teardown" and outcome == "failed":
            record.outcome, record.reason = "error", _first_line(text)

    # -- roll-ups -----------------------------------------------------------------------
    def totals(self) -> dict[str, int]:
        """Counts by outcome (plus collected, executed and deselected)."""
        counts = Counter(r.outcome for r in self.records.values())
        executed = sum(counts[o] for o in EXECUTED)
        return {
            "collected": len(self.records) + self.deselected,
            "selected": len(self.records),
            "deselected": self.deselected,
            "executed": executed,
            "passed": counts["passed"],
            "failed": counts["failed"],
            "errors": counts["error"],
            "skipped": counts["skipped"],
            "xfailed": counts["xfailed"],
            "xpassed": counts["xpassed"],
            "not_run": counts["not_run"],
        }

    @property
    def partial(self) -> bool:
        """Whether the run covered less than the canonical set."""
        return bool(self.partial_reasons) or self.totals()["not_run"] > 0

    @staticmethod
    def _roll_up(records: list[CaseRecord]) -> str:
        outcomes = {r.outcome for r in records}
        if outcomes & {"failed", "error", "xpassed"}:
            return "failed"
        if "xfailed" in outcomes:
            return "deviation"
        if "passed" in outcomes:
            return "passed"
        if "skipped" in outcomes:
            return "skipped"
        return "not_run"

    def clause_results(self) -> dict[str, dict[str, Any]]:
        """Per clause: title, outcome and the tests that cite it."""
        by_clause: dict[str, list[CaseRecord]] = {cid: [] for cid in clauses()}
        for record in self.records.values():
            for cid in record.clauses:
                by_clause.setdefault(cid, []).append(record)
        out: dict[str, dict[str, Any]] = {}
        for cid, records in by_clause.items():
            known = clauses().get(cid)
            counts = Counter(r.outcome for r in records)
            reasons = sorted({r.reason for r in records if r.outcome == "skipped" and r.reason})
            out[cid] = {
                "title": known.title if known else "",
                "requires": known.requires if known else None,
                "outcome": self._roll_up(records),
                "counts": dict(sorted(counts.items())),
                "skip_reasons": reasons,
                "tests": [r.as_json() for r in records],
            }
        return out

    def capability_results(self) -> dict[str, dict[str, Any]]:
        """Per capability: declared or not, and how its tests went."""
        out: dict[str, dict[str, Any]] = {}
        for cap in Capability:
            records = [r for r in self.records.values() if cap.name in r.requires]
            counts = Counter(r.outcome for r in records)
            out[cap.name] = {
                "declared": cap in self.info.capabilities,
                "tests": len(records),
                "executed": sum(counts[o] for o in EXECUTED),
                "passed": counts["passed"],
                "failed": counts["failed"] + counts["error"] + counts["xpassed"],
                "xfailed": counts["xfailed"],
                "skipped": counts["skipped"],
            }
        return out

    def problems(self) -> list[str]:
        """Reasons the run fails beyond failing tests (empty when none)."""
        found = list(self.exit_problems)
        totals = self.totals()
        if totals["executed"] == 0:
            found.append(
                "no contract test was executed (everything was skipped or deselected): "
                "a run that checks nothing proves nothing"
            )
        if not self.partial:
            for name, cap in self.capability_results().items():
                if cap["declared"] and cap["tests"] and cap["executed"] == 0:
                    found.append(f"capability {name} is declared but none of its tests ran")
        return found

    def outcome(self) -> str:
        """``passed`` only when nothing failed and something ran."""
        totals = self.totals()
        bad = totals["failed"] + totals["errors"] + totals["xpassed"]
        return "failed" if bad or self.problems() else "passed"

    # -- output ---------------------------------------------------------------------
    def as_json(self) -> dict[str, Any]:
        """The whole report as a JSON-ready dict."""
        from cachesim import __version__

        return {
            "report": "cachesim provider contract conformance",
            "suite_version": SUITE_VERSION,
            "capability_vocabulary": CAPABILITY_VOCABULARY_VERSION,
            "cachesim_version": __version__,
            "python": platform.python_version(),
            "platform": sys.platform,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "duration_s": round(max(0.0, self.finished - self.started), 3),
            "profile": self.profile,
            "provider": self.info.as_json(),
            "outcome": self.outcome(),
            "partial": self.partial,
            "partial_reasons": list(self.partial_reasons),
            "problems": self.problems(),
            "totals": self.totals(),
            "capabilities": self.capability_results(),
            "clauses": self.clause_results(),
        }

    def write(self, path: Path) -> tuple[Path, Path]:
        """Write ``path`` (JSON) and the Markdown twin (``.md``); return both paths."""
        data = self.as_json()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
        md = path.with_suffix(".md")
        md.write_text(render_markdown(data), "utf-8")
        return path, md

    def summary_lines(self) -> list[str]:
        """The terminal summary: totals, per capability, failing clauses."""
        totals = self.totals()
        clause_data = self.clause_results()
        by_outcome = Counter(c["outcome"] for c in clause_data.values())
        lines = [
            f"provider {self.info.name} ({self.info.spec}): {self.outcome().upper()}"
            + (" (PARTIAL: " + "; ".join(self.partial_reasons) + ")" if self.partial else ""),
            "tests: "
            + ", ".join(
                f"{totals[k]} {k}"
                for k in (
                    "passed",
                    "failed",
                    "errors",
                    "skipped",
                    "xfailed",
                    "xpassed",
                    "deselected",
                )
                if totals[k]
            ),
            "clauses: "
            + ", ".join(f"{by_outcome[o]} {o}" for o in CLAUSE_OUTCOMES if by_outcome[o]),
        ]
        caps = []
        for name, cap in self.capability_results().items():
            if not cap["tests"]:
                continue
            if not cap["declared"]:
                caps.append(f"{name} -- not declared")
            else:
                notes = [f"{cap['xfailed']} known deviation"] if cap["xfailed"] else []
                if cap["skipped"]:
                    notes.append(f"{cap['skipped']} skipped")
                note = f" ({', '.join(notes)})" if notes else ""
                caps.append(f"{name} {cap['passed']}/{cap['executed']}{note}")
        lines.append("capabilities: " + " | ".join(caps))
        for cid, data in clause_data.items():
            if data["outcome"] == "failed":
                bad = [t for t in data["tests"] if t["outcome"] in ("failed", "error", "xpassed")]
                lines.append(
                    f"FAILED {cid} {data['title']}: {bad[0]['id']}: {bad[0].get('reason', '')}"[
                        :240
                    ]
                )
        lines.extend(f"PROBLEM {p}" for p in self.problems())
        return lines


_ICON = {
    "passed": "pass",
    "failed": "**FAIL**",
    "deviation": "known deviation",
    "skipped": "skipped",
    "not_run": "not run",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(data: dict[str, Any]) -> str:
    """The Markdown twin of a JSON report."""
    provider = data["provider"]
    totals = data["totals"]
    lines = [
        f"# Contract conformance: {provider['name']}",
        "",
        f"**Outcome: {data['outcome'].upper()}**"
        + (
            f" (partial: {'; '.join(data['partial_reasons']) or 'tests not run'})"
            if data["partial"]
            else ""
        ),
        "",
        f"cachesim {data['cachesim_version']}, contract suite {data['suite_version']}, "
        f"capability vocabulary {data['capability_vocabulary']}, profile `{data['profile']}`, "
        f"Python {data['python']} on {data['platform']}, {data['created']}, "
        f"{data['duration_s']} s.",
        "",
        "## Provider",
        "",
        "| | |",
        "|---|---|",
        f"| spec | `{_cell(provider['spec'])}` |",
        f"| class | `{_cell(provider['class'])}` |",
        f"| version | {_cell(provider['version'] or '-')} |",
        f"| capabilities | {', '.join(provider['capabilities']) or '(none)'} |",
        f"| max value bytes | {provider['max_value_bytes'] or 'no limit declared'} |",
        f"| time | {provider['time']} |",
        f"| known deviations | {len(provider['deviations'])} |",
        "",
        "## Totals",
        "",
        "| " + " | ".join(totals) + " |",
        "|" + "---|" * len(totals),
        "| " + " | ".join(str(v) for v in totals.values()) + " |",
        "",
    ]
    if data["problems"]:
        lines += ["## Problems", ""] + [f"- {_cell(p)}" for p in data["problems"]] + [""]
    lines += [
        "## Capabilities",
        "",
        "| capability | declared | tests | passed | failed | known deviations | skipped |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, cap in data["capabilities"].items():
        lines.append(
            f"| {name} | {'yes' if cap['declared'] else 'no'} | {cap['tests']} | "
            f"{cap['passed']} | {cap['failed']} | {cap['xfailed']} | {cap['skipped']} |"
        )
    lines += [
        "",
        "## Clauses",
        "",
        "| clause | rule | outcome | tests | notes |",
        "|---|---|---|---|---|",
    ]
    for cid, clause in data["clauses"].items():
        counts = ", ".join(f"{n} {o}" for o, n in clause["counts"].items()) or "-"
        notes = []
        if clause["outcome"] == "failed":
            bad = [t for t in clause["tests"] if t["outcome"] in ("failed", "error", "xpassed")]
            notes.append(f"`{bad[0]['id']}`: {bad[0].get('reason', '')}"[:200])
        if clause["outcome"] == "deviation":
            dev = [t for t in clause["tests"] if t["outcome"] == "xfailed"]
            notes.append(f"known: {dev[0].get('reason', '')}"[:200])
        if clause["skip_reasons"]:
            notes.append(clause["skip_reasons"][0][:160])
        lines.append(
            f"| {cid} | {_cell(clause['title'])} | {_ICON[clause['outcome']]} | {counts} | "
            f"{_cell(' '.join(notes))} |"
        )
    failing = [
        (cid, t)
        for cid, clause in data["clauses"].items()
        for t in clause["tests"]
        if t["outcome"] in ("failed", "error", "xpassed")
    ]
    if failing:
        lines += ["", "## Failing tests", ""]
        seen = set()
        for cid, t in failing:
            if t["nodeid"] in seen:
                continue
            seen.add(t["nodeid"])
            lines.append(f"- `{t['id']}` ({cid}): {_cell(t.get('reason', ''))}")
    return "\n".join(lines) + "\n"
