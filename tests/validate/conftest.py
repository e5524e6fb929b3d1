"""Validation of the simulator against oracle hit ratios.

``test_shipped_datasets.py`` replays the traces shipped in :mod:`cachesim.sim.datasets`:
it needs nothing outside the package.  ``test_external_traces.py`` checks published
figures on larger public traces that are not redistributable here; it is collected only
when ``CACHESIM_TRACES`` points at a directory holding them (``libcachesim/``, ``lirs/``,
``arc/``, ``cache2k/``, ``scarab/``).

A run in which validation tests were selected but none passed (all skipped) fails, and
one that selects none exits non-zero as pytest does: a validation that validated nothing
must not look green.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cachesim.sim import Workload, load_trace

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
HERE = Path(__file__).resolve().parent

if not os.environ.get("CACHESIM_TRACES"):
    collect_ignore = ["test_external_traces.py"]

_selected: set[str] = set()
_passed: set[str] = set()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember the validation tests that will run (after -k/-m selection)."""
    _selected.update(i.nodeid for i in session.items if HERE in i.path.resolve().parents)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember the validation tests that passed."""
    if report.when == "call" and report.passed and report.nodeid in _selected:
        _passed.add(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a run of tests/validate in which no validation test passed."""
    if exitstatus == 0 and _selected and not _passed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (
            f"tests/validate: {len(_selected)} validation tests selected, none passed "
            "(all skipped): nothing was validated"
        )
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_sep("=", message, red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def external_root() -> Path:
    """``$CACHESIM_TRACES``: the directory of the external public traces."""
    return Path(os.environ["CACHESIM_TRACES"])


@pytest.fixture(scope="session")
def traces() -> Path:
    """The external trace directory (fails when CACHESIM_TRACES names a missing one)."""
    root = external_root()
    if not root.is_dir():
        pytest.fail(f"CACHESIM_TRACES={root} is not a directory")
    return root


@pytest.fixture(scope="session")
def trace(traces: Path) -> Callable[..., Workload]:
    """Load an external trace by relative path once per session."""
    cache: dict[tuple[str, str | None], Workload] = {}

    def load(relative: str, format: str | None = None, **options: object) -> Workload:
        key = (relative + repr(sorted(options.items())), format)
        if key not in cache:
            cache[key] = load_trace(traces / relative, format, **options)  # type: ignore[arg-type]
        return cache[key]

    return load
