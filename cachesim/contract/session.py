"""The active half of the plugin: registered only when ``--cache-provider`` is given."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from cachesim.contract.clauses import clauses, explain
from cachesim.contract.context import Harness, RunOptions
from cachesim.contract.factory import ProviderFactory, ProviderInfo, resolve
from cachesim.contract.markers import CLAUSE_MARK, REQUIRES_MARK
from cachesim.contract.plugin import SUITE_DIR, in_ci, new_run_id, run_probe
from cachesim.contract.report import CaseRecord, ContractResults
from cachesim.errors import ConfigurationError

__all__ = ["ContractSession"]


class ContractSession:
    """Probes the provider, shapes the collected suite, records outcomes, reports."""

    def __init__(self, config: pytest.Config, spec: str) -> None:
        self.config = config
        self.spec = spec
        self.profile: str = config.getoption("contract_profile") or "full"
        report = config.getoption("contract_report")
        self.report_path = Path(report).expanduser().resolve() if report else None
        self.options = RunOptions(
            time_scale=float(config.getoption("contract_time_scale") or 1.0),
            op_timeout=float(config.getoption("contract_timeout") or 10.0),
            examples=config.getoption("contract_examples"),
            run_id=new_run_id(),
            profile=self.profile,
            seed=_seed(config.getoption("contract_seed")),
        )
        self._scratch = _private_hypothesis_storage()
        self.factory: ProviderFactory | None = None
        self.info: ProviderInfo | None = None
        self.results: ContractResults | None = None

    # -- start ----------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Resolve the spec and probe the provider before collecting anything."""
        try:
            self.factory = resolve(self.spec)
            info = run_probe(self.factory)
            extra: dict[str, str] = {}
            for path in self.config.getoption("contract_deviations") or []:
                extra.update(_load_deviations(path))
            self.info = dataclasses.replace(info, deviations={**info.deviations, **extra})
        except ConfigurationError as exc:
            hint = " (CI=true: a missing backend is a failure, never a skip)" if in_ci() else ""
            raise pytest.UsageError(f"cachesim contract: {exc}{hint}") from None
        self.results = ContractResults(self.info, profile=self.profile, started=time.time())
        if self.profile in ("smoke", "quick"):
            self.results.partial_reasons.append(f"profile {self.profile}")

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        """One header line naming the provider under test."""
        if self.info is None:
            return []
        caps = ", ".join(sorted(c.name for c in self.info.capabilities)) or "(none)"
        return [
            f"cachesim contract: provider {self.info.name} ({self.info.spec}), "
            f"profile {self.profile}, capabilities: {caps}",
            f"cachesim contract: seed {self.options.seed} (reproduce a failure with "
            f"--contract-seed {self.options.seed})",
        ]

    # -- collection -------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Apply capability skips, deviations and the profile; check the declarations."""
        assert self.info is not None
        assert self.results is not None
        info = self.info
        ours = [item for item in items if item.path.is_relative_to(SUITE_DIR)]
        names = {item.name for item in ours} | {_original(item) for item in ours}
        whole_suite = {item.path for item in ours} >= set(SUITE_DIR.glob("test_*.py"))
        unknown = sorted(set(info.deviations) - names)
        if unknown and whole_suite:
            raise pytest.UsageError(
                f"cachesim contract: contract_deviations name tests that do not exist: {unknown}"
            )
        declared = {c.name for c in info.capabilities}
        for item in ours:
            cited = _mark_args(item, CLAUSE_MARK)
            needs = _mark_args(item, REQUIRES_MARK)
            self._check_citations(item, cited, needs)
            record = CaseRecord(item.nodeid, item.name, tuple(cited), tuple(needs))
            self.results.add(record)
            missing = [n for n in needs if n not in declared]
            deviation = info.deviations.get(item.name) or info.deviations.get(_original(item))
            if missing:
                if deviation:
                    raise pytest.UsageError(
                        f"cachesim contract: deviation for {item.name} but the provider does "
                        f"not declare {', '.join(missing)}, so the test is skipped anyway"
                    )
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"provider does not declare {', '.join(missing)} "
                        f"(declared: {', '.join(sorted(declared)) or 'none'})"
                    )
                )
            elif deviation:
                item.add_marker(
                    pytest.mark.xfail(strict=True, reason=f"known deviation: {deviation}")
                )
        if self.profile == "smoke":
            self._smoke(config, items, ours, declared)
        wanted = config.getoption("contract_clauses")
        if wanted:
            self._only_clauses(config, items, ours, wanted)

    def _only_clauses(
        self, config: pytest.Config, items: list[pytest.Item], ours: list[pytest.Item], raw: str
    ) -> None:
        """Keep only the tests citing one of the clauses in ``raw`` (``--contract-clauses``)."""
        wanted = {c.strip().upper() for c in raw.split(",") if c.strip()}
        unknown = sorted(wanted - set(clauses()))
        if unknown:
            raise pytest.UsageError(f"cachesim contract: --contract-clauses: unknown {unknown}")
        dropped = [i for i in ours if not wanted & set(_mark_args(i, CLAUSE_MARK))]
        if dropped:
            gone = set(dropped)
            items[:] = [item for item in items if item not in gone]
            config.hook.pytest_deselected(items=dropped)

    def _check_citations(self, item: pytest.Item, cited: list[str], needs: list[str]) -> None:
        if not cited:
            raise pytest.UsageError(f"cachesim contract: {item.nodeid} cites no clause")
        registry = clauses()
        for cid in cited:
            known = registry.get(cid)
            if known is None:
                raise pytest.UsageError(f"cachesim contract: {item.nodeid} cites unknown {cid}")
            if known.requires and known.requires not in needs:
                raise pytest.UsageError(
                    f"cachesim contract: {item.nodeid} checks {cid}, which requires "
                    f"{known.requires}, but does not declare @requires({known.requires})"
                )

    def _smoke(
        self,
        config: pytest.Config,
        items: list[pytest.Item],
        ours: list[pytest.Item],
        declared: set[str],
    ) -> None:
        """Keep one cheap, runnable test per clause."""
        assert self.results is not None
        covered: set[str] = set()
        keep: list[pytest.Item] = []
        for item in ours:
            if item.get_closest_marker("expensive") or item.get_closest_marker("stateful"):
                continue
            if any(n not in declared for n in _mark_args(item, REQUIRES_MARK)):
                continue
            new = set(_mark_args(item, CLAUSE_MARK)) - covered
            if new:
                covered |= new
                keep.append(item)
        kept = set(keep)
        dropped = [item for item in ours if item not in kept]
        items[:] = [item for item in items if item in kept or item not in set(ours)]
        self.results.drop([item.nodeid for item in dropped], f"profile {self.profile}")

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Tests deselected by -k, -m, --deselect or --lf make the run partial."""
        if self.results is not None:
            self.results.drop([i.nodeid for i in items], "tests deselected (-k/-m/--deselect)")

    # -- fixtures ---------------------------------------------------------------------
    @pytest.fixture
    def contract_harness(self, request: pytest.FixtureRequest) -> Harness:
        """The harness that runs one contract test (built per test)."""
        assert self.factory is not None
        assert self.info is not None
        return Harness(self.factory, self.info, self.options, request.node.name)

    # -- outcomes -----------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """Head every failure of a contract test with the clauses it breaks and their fix."""
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if not (report.failed and item.path.is_relative_to(SUITE_DIR)):
            return
        header = explain(_mark_args(item, CLAUSE_MARK))
        header += f"\nreproduce with: --contract-seed {self.options.seed} -k {item.name!r}"
        if header:
            report.longrepr = f"{header}\n\n{report.longrepr}"

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold each phase's outcome into the test's record."""
        if self.results is None:
            return
        self.results.update(
            report.nodeid,
            report.when,
            report.outcome,
            report.longrepr,
            getattr(report, "wasxfail", None),
            report.duration,
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the report; fail a run that checked nothing."""
        if self.results is None:
            return
        results = self.results
        results.finished = time.time()
        if session.config.option.collectonly:
            return
        if results.totals()["selected"] and (session.shouldfail or session.shouldstop):
            results.partial_reasons.append("run stopped early")
        if self.report_path is not None:
            results.write(self.report_path)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
        if results.problems() and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Summary per capability and failing clauses, and where the report went."""
        if self.results is None or self.config.option.collectonly:
            return
        terminalreporter.section("cachesim contract")
        for line in self.results.summary_lines():
            terminalreporter.write_line(line)
        if self.report_path is not None:
            terminalreporter.write_line(
                f"report written to {self.report_path} and {self.report_path.with_suffix('.md')}"
            )


def _private_hypothesis_storage() -> str | None:
    """Point Hypothesis' storage (its caches) at a directory of this run's own.

    The model-based test uses no example database, but Hypothesis also caches Unicode
    tables under ``.hypothesis`` in the working directory; a contract run must leave
    nothing in the user's directory and must not depend on an earlier run. An
    explicit ``HYPOTHESIS_STORAGE_DIRECTORY`` is respected.
    """
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return None
    scratch = tempfile.mkdtemp(prefix="cachesim-contract-hypothesis-")
    try:
        from hypothesis.configuration import set_hypothesis_home_dir
    except ImportError:  # hypothesis missing or reorganised: the variable still works
        pass
    else:
        set_hypothesis_home_dir(scratch)
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = scratch
    return scratch


def _seed(given: int | None) -> int:
    """The run's seed: the one given, else a fresh random one (printed in the header)."""
    if given is not None:
        return given
    import secrets

    return secrets.randbelow(2**32)


def _load_deviations(path: str) -> dict[str, str]:
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"--contract-deviations {path}: {exc}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()
    ):
        raise ConfigurationError(
            f"--contract-deviations {path}: expected a JSON object of test id -> reason"
        )
    return data


def _original(item: pytest.Item) -> str:
    return str(getattr(item, "originalname", item.name))


def _mark_args(item: pytest.Item, name: str) -> list[str]:
    found: list[str] = []
    for mark in item.iter_markers(name):
        for arg in mark.args:
            if arg not in found:
                found.append(str(arg))
    return found
