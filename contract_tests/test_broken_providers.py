"""The correct providers the mutation set derives from pass; the catalogue is complete.

Each provider in ``contract_tests/broken`` has one bug, and ``nox -s mutants``
(``contract_tests/mutants.py``) checks that the suite catches every one on the
clause it is named for. Here, in the ``contract`` session, the correct providers
(a dict, stdlib sqlite3, a Redis-style SCAN/pipeline provider, and one declaring no
capability) must pass the whole suite, the catalogue must list every module under
the clause its name starts with, and the model-based layer alone must catch two of
the mutants. The known core deviations are passed to every run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cachesim.contract.clauses import clauses
from contract_tests._runner import DEVIATIONS, SuiteRun, run_suite
from contract_tests.broken import CATALOGUE

CORE = str(DEVIATIONS / "core.json")
#: The first mutants, named for their bug before the clause-first naming.
_LEGACY = {
    "ttl_ignored",
    "ttl_truncated",
    "ttl_overwrite_kept",
    "clear_flushes",
    "regex_patterns",
    "fnmatch_patterns",
    "stale_reads",
    "torn_bulk",
    "has_ignores_expiry",
    "count_wrong",
    "delete_always_true",
    "null_is_miss",
    "case_folding",
    "truncating_keys",
    "not_shared",
    "lossy_text",
}
_CONTROLS = ("reference", "minimal", "sql_reference", "scan_reference")


@pytest.fixture(scope="module")
def runs() -> dict[str, SuiteRun]:
    """The correct providers, run once (model-based test apart)."""
    names = list(_CONTROLS)

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
    assert any("does not declare" in r and "TTL" in r for r in reasons), reasons


def test_catalogue_lists_every_broken_provider() -> None:
    modules = {p.stem for p in (Path(__file__).parent / "broken").glob("*.py")}
    assert modules - {"__init__", *_CONTROLS} == set(CATALOGUE)
    assert len(CATALOGUE) >= 45


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_each_mutant_is_named_for_a_clause_that_must_catch_it(name: str) -> None:
    what, expected = CATALOGUE[name]
    registry = clauses()
    assert expected <= set(registry), f"{name} names unknown clauses {expected}"
    prefix = name.split("_", 1)[0]
    named = {c for c in expected if c.replace("-", "").lower() == prefix}
    legacy = name in _LEGACY
    assert named or legacy, f"{name} should start with one of {sorted(expected)} (e.g. ttl5_...)"
    assert what


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
