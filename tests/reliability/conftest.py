"""Reliability suite: a gateway with switchable faults, and the figures report.

Each test may record figures with the ``reliability_report`` fixture; at the end
of the session they are printed and written to ``reports/reliability.json``
(override the path with ``CACHESIM_RELIABILITY_REPORT``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cachesim.gateway.server import Gateway, run_gateway

# test_soak imports its model as a plain module, whatever pytest's import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

_FIGURES: dict[str, Any] = {}
_LINES: list[str] = []


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """A gateway on fakeredis whose faults the tests switch (cleared after each test)."""
    with run_gateway("fakeredis") as gw:
        yield gw


@pytest.fixture(autouse=True)
def _clear_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "gateway" in request.fixturenames:
        request.getfixturevalue("gateway").faults.clear()


class ReliabilityReport:
    """Where tests put their figures (a section each) and their summary lines."""

    def record(self, section: str, figures: dict[str, Any], line: str | None = None) -> None:
        _FIGURES[section] = figures
        if line:
            _LINES.append(line)


@pytest.fixture(scope="session")
def reliability_report() -> ReliabilityReport:
    """Record figures for reports/reliability.json and the terminal summary."""
    return ReliabilityReport()


def _report_path(config: pytest.Config) -> Path:
    explicit = os.environ.get("CACHESIM_RELIABILITY_REPORT")
    return Path(explicit) if explicit else config.rootpath / "reports" / "reliability.json"


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _FIGURES:
        return
    path = _report_path(session.config)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing: dict[str, Any] = {}
    if path.exists():
        try:
            existing = json.loads(path.read_text())
        except ValueError:
            existing = {}
    existing.update(_FIGURES)
    path.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not _LINES:
        return
    terminalreporter.section("reliability figures")
    for line in _LINES:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"written to {_report_path(config)}")
