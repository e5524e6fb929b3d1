"""The pytest plugin and the CLI: inert when unused, strict when used, honest reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from contract_tests._runner import DEVIATIONS, IMPORT_ROOT

CORE = str(DEVIATIONS / "core.json")


def _pytest(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": IMPORT_ROOT, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _project(tmp_path: Path, ini: str = "") -> None:
    (tmp_path / "test_app.py").write_text("def test_app():\n    assert True\n")
    if ini:
        (tmp_path / "pytest.ini").write_text("[pytest]\n" + textwrap.dedent(ini))


def test_plugin_is_inert_in_other_projects(tmp_path: Path) -> None:
    _project(tmp_path)
    proc = _pytest(tmp_path, "-q", "--fixtures")
    assert proc.returncode == 0, proc.stdout
    assert "contract_harness" not in proc.stdout, "fixtures are registered without a provider"
    run = _pytest(tmp_path, "-q")
    assert run.returncode == 0
    assert "1 passed" in run.stdout
    assert "cachesim contract" not in run.stdout


def test_suite_without_a_provider_is_a_usage_error(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, "--pyargs", "cachesim.contract", "-q")
    assert proc.returncode == 4
    assert "needs a provider" in proc.stderr


def test_contract_tests_collected_alongside_others_are_skipped(tmp_path: Path) -> None:
    _project(tmp_path)
    proc = _pytest(
        tmp_path, "test_app.py", "--pyargs", "cachesim.contract.suite.test_basic", "-q", "-rs"
    )
    assert proc.returncode == 0, proc.stdout
    assert "1 passed" in proc.stdout
    assert "run with --cache-provider SPEC" in proc.stdout


def test_report_is_written_and_complete(tmp_path: Path) -> None:
    report = tmp_path / "out" / "r.json"
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "memory",
        "--contract-report",
        str(report),
        "--contract-deviations",
        CORE,
        "-q",
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    data = json.loads(report.read_text())
    assert data["outcome"] == "passed"
    assert data["partial"] is False
    assert data["provider"]["name"] == "memory"
    assert data["totals"]["passed"] >= 150
    assert data["totals"]["failed"] == 0
    assert data["suite_version"]
    assert "TTL" in data["provider"]["capabilities"]
    assert {c["outcome"] for c in data["clauses"].values()} <= {"passed", "skipped", "deviation"}
    assert data["clauses"]["SHARE-1"]["outcome"] == "skipped"
    assert "does not declare SHARED_BACKEND" in data["clauses"]["SHARE-1"]["skip_reasons"][0]
    markdown = report.with_suffix(".md").read_text()
    assert "# Contract conformance: memory" in markdown
    assert "| TTL-5 |" in markdown


def test_deselection_marks_the_report_partial(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "memory",
        "--contract-report",
        str(report),
        "-k",
        "ttl",
        "-q",
    )
    assert proc.returncode == 0
    data = json.loads(report.read_text())
    assert data["partial"] is True
    assert data["totals"]["deselected"] > 0
    assert data["clauses"]["OP-1"]["outcome"] == "not_run"


def test_a_run_that_executes_nothing_fails(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "memory",
        "--contract-report",
        str(report),
        "-k",
        "shared",
        "-q",
    )
    assert proc.returncode == 1, proc.stdout[-2000:]
    data = json.loads(report.read_text())
    assert data["outcome"] == "failed"
    assert any("no contract test was executed" in p for p in data["problems"])


def test_declared_deviation_is_a_strict_xfail(tmp_path: Path) -> None:
    deviations = tmp_path / "d.json"
    deviations.write_text(
        json.dumps(
            {
                "test_delete_of_missing_key_returns_false": "returns True, see issue 1",
                "test_get_of_missing_key_returns_none": "claimed, but it really works",
            }
        )
    )
    spec = "contract_tests.broken.delete_always_true:factory"
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        spec,
        "--contract-deviations",
        str(deviations),
        "-q",
        "-rxX",
        "-k",
        "delete_of_missing_key or get_of_missing_key_returns_none",
    )
    assert proc.returncode == 1, proc.stdout
    assert "1 failed" in proc.stdout
    assert "1 xfailed" in proc.stdout
    assert "XPASS(strict)" in proc.stdout


def test_unknown_deviation_is_refused(tmp_path: Path) -> None:
    deviations = tmp_path / "d.json"
    deviations.write_text(json.dumps({"test_that_does_not_exist[x]": "stale entry"}))
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "memory",
        "--contract-deviations",
        str(deviations),
        "-q",
        "--collect-only",
    )
    assert proc.returncode == 4
    assert "test_that_does_not_exist[x]" in proc.stderr


def test_unknown_capability_is_refused(tmp_path: Path) -> None:
    (tmp_path / "odd_provider.py").write_text(
        textwrap.dedent("""
        from cachesim.providers import MemoryProvider

        class Odd(MemoryProvider):
            capabilities = frozenset({"ttl", "teleportation"})

        def factory():
            return Odd()
    """)
    )
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "odd_provider:factory",
        "-q",
        env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{IMPORT_ROOT}"},
    )
    assert proc.returncode == 4
    assert "teleportation" in proc.stderr


def test_unreachable_backend_fails_before_collection(tmp_path: Path) -> None:
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "redis",
        "-q",
        env={"REDIS_URL": "redis://127.0.0.1:9/0", "CI": "true"},
    )
    assert proc.returncode == 4
    assert "could not be built or reached" in proc.stderr
    assert "never a skip" in proc.stderr


@pytest.mark.parametrize(
    "ini",
    [
        "python_files = check_*.py\npython_classes = Check*\n",
        "asyncio_mode = auto\n",
        "asyncio_mode = strict\n",
        "addopts = -p no:asyncio\n",
    ],
    ids=["other_python_files", "asyncio_auto", "asyncio_strict", "no_pytest_asyncio"],
)
def test_host_configuration_does_not_change_the_suite(tmp_path: Path, ini: str) -> None:
    _project(tmp_path, ini)
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "memory",
        "-q",
        "-k",
        "get_or_set or ttl",
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert " passed" in proc.stdout
    assert "skipped" not in proc.stdout.splitlines()[-1]


def test_plugin_loads_explicitly_when_autoload_is_off(tmp_path: Path) -> None:
    proc = _pytest(
        tmp_path,
        "-p",
        "cachesim_contract",
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "memory",
        "-q",
        "-k",
        "test_basic",
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_smoke_profile_runs_one_test_per_clause(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "fakeredis",
        "--contract-profile",
        "smoke",
        "--contract-report",
        str(report),
        "--contract-deviations",
        CORE,
        "--contract-deviations",
        str(DEVIATIONS / "redis.json"),
        "-q",
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    data = json.loads(report.read_text())
    assert data["partial"] is True
    assert data["totals"]["executed"] <= len(data["clauses"])
    ran = {cid for cid, c in data["clauses"].items() if c["outcome"] != "not_run"}
    assert len(ran) >= 60


def test_cli_runs_the_suite_isolated_from_the_host_configuration(tmp_path: Path) -> None:
    _project(tmp_path, "addopts = -k nothing_matches_this --strict-config\n")
    report = tmp_path / "cli.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cachesim",
            "contract",
            "memory",
            "--report",
            str(report),
            "--deviations",
            CORE,
            "-q",
            "-k",
            "test_keys",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": IMPORT_ROOT},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    data = json.loads(report.read_text())
    assert data["totals"]["executed"] > 50


def test_cli_imports_the_factory_from_the_current_directory(tmp_path: Path) -> None:
    """The README example: `cachesim contract my_cache.provider:make_provider` works
    from the project directory without PYTHONPATH, and prints no pytest warning about
    assertion rewriting."""
    script = Path(sys.executable).parent / "cachesim"
    if not script.exists():
        pytest.skip("the cachesim console script is not installed next to this interpreter")
    package = tmp_path / "my_cache"
    package.mkdir()
    (package / "__init__.py").write_text("")
    reference = Path(__file__).parent / "broken" / "reference.py"
    (package / "provider.py").write_text(reference.read_text())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [str(script), "contract", "my_cache.provider:factory", "-q", "-k", "test_keys"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "PytestAssertRewriteWarning" not in output, output[-3000:]
    assert "provider dict (my_cache.provider:factory)" in output


@pytest.mark.parametrize(
    ("declaration", "named"),
    [
        ('capabilities = "ttl"', "capabilities must be a set"),
        ("max_value_bytes = -1", "max_value_bytes must be None"),
        ('max_value_bytes = "1MB"', "max_value_bytes must be None"),
        ('in_process = "yes"', "in_process must be a bool"),
        ('command_costs = {"get": "one"}', "command_costs must map"),
        ('command_costs = {"teleport": 1}', "unknown operations"),
    ],
    ids=[
        "capabilities_str",
        "negative_limit",
        "limit_str",
        "in_process_str",
        "cost_str",
        "cost_op",
    ],
)
def test_malformed_declaration_is_a_clear_error_at_the_probe(
    tmp_path: Path, declaration: str, named: str
) -> None:
    (tmp_path / "odd_provider.py").write_text(
        "from contract_tests.broken.reference import DictProvider\n\n"
        f"class Odd(DictProvider):\n    {declaration}\n\n"
        "def factory():\n    return Odd()\n"
    )
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "odd_provider:factory",
        "-q",
        env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{IMPORT_ROOT}"},
    )
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert named in proc.stderr, proc.stderr[-2000:]
    assert "Odd." in proc.stderr


def test_failure_names_the_clause_rule_fix_and_the_providers_exception(tmp_path: Path) -> None:
    (tmp_path / "raising_provider.py").write_text(
        textwrap.dedent("""
        from contract_tests.broken.reference import DictProvider

        class Raising(DictProvider):
            async def set_many(self, items, ttl):
                if len(items) > 3:
                    raise ValueError("too many items for this backend")
                await super().set_many(items, ttl)

        def factory(clock=None):
            return Raising(clock)
    """)
    )
    proc = _pytest(
        tmp_path,
        "--pyargs",
        "cachesim.contract",
        "--cache-provider",
        "raising_provider:factory",
        "-q",
        "--contract-seed",
        "7",
        "-k",
        "test_set_many_stores_every_entry",
        env={"PYTHONPATH": f"{tmp_path}{os.pathsep}{IMPORT_ROOT}"},
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    out = proc.stdout
    assert "contract clause OP-6 set_many stores every entry or raises:" in out
    assert "common cause and fix:" in out
    assert "reproduce with: --contract-seed 7" in out
    assert "the provider raised ValueError: too many items for this backend in set_many(" in out
