"""The contract suite must fail every deliberately broken provider, on the right clause.

Each provider in ``contract_tests/broken`` has one bug. The suite runs against each
(in subprocesses, from a temporary directory, two at a time) and must fail naming
the clauses listed in ``CATALOGUE``. The correct reference provider and a provider
declaring no capability must pass. The known core deviations are passed to every
run, so the only failures left are the deliberate ones.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from contract_tests._runner import DEVIATIONS, SuiteRun, run_suite
from contract_tests.broken import CATALOGUE

CORE = str(DEVIATIONS / "core.json")
_CONTROLS = ("reference", "minimal")


@pytest.fixture(scope="module")
def runs() -> dict[str, SuiteRun]:
    """Every broken provider and both controls, run once (model-based test apart)."""
    names = [*_CONTROLS, *CATALOGUE]

    def one(name: str) -> SuiteRun:
        spec = f"contract_tests.broken.{name}:factory"
        return run_suite(spec, "-m", "not stateful", "--contract-deviations", CORE)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(one, names), strict=True))


@pytest.mark.parametrize("name", _CONTROLS)
def test_correct_providers_pass(runs: dict[str, SuiteRun], name: str) -> None:
    run = runs[name]
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["totals"]["passed"] >= 150 if name == "reference" else True
    assert not run.failed_clauses


def test_minimal_provider_skips_what_it_does_not_declare(runs: dict[str, SuiteRun]) -> None:
    run = runs["minimal"]
    caps = run.report["capabilities"]
    assert caps["TTL"]["skipped"] == caps["TTL"]["tests"] > 0
    assert caps["PATTERN_INVALIDATION"]["skipped"] == caps["PATTERN_INVALIDATION"]["tests"] > 0
    reasons = run.report["clauses"]["TTL-1"]["skip_reasons"]
    assert reasons
    assert "does not declare TTL" in reasons[0]


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_suite_catches_broken_provider(runs: dict[str, SuiteRun], name: str) -> None:
    what, expected = CATALOGUE[name]
    run = runs[name]
    assert run.returncode == 1, f"the suite passed a provider that {what}:\n{run.output[-2000:]}"
    caught = run.failed_clauses
    missing = expected - caught
    assert not missing, f"{name} ({what}) was not caught by {sorted(missing)}; caught {caught}"
    for clause in sorted(expected):
        print(f"{name}: {what} -> caught by {clause}: {run.failing_tests(clause)[:3]}")


def test_catalogue_lists_every_broken_provider() -> None:
    modules = {p.stem for p in (Path(__file__).parent / "broken").glob("*.py")}
    assert modules - {"__init__", *_CONTROLS} == set(CATALOGUE)


@pytest.mark.parametrize(
    ("name", "rule"), [("delete_always_true", "delete"), ("regex_patterns", "invalidate_pattern")]
)
def test_model_based_layer_catches_broken_provider(name: str, rule: str) -> None:
    run = run_suite(
        f"contract_tests.broken.{name}:factory", "-m", "stateful", "--contract-examples", "50"
    )
    assert "MODEL-1" in run.failed_clauses, run.output[-2000:]
    # Hypothesis prints the shrunk program under one of these headings, by version.
    assert "Falsifying example" in run.output or "Failing test case" in run.output
    assert f"state.{rule}(" in run.output, "the shrunk program should name the failing step"
