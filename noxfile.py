"""Project tasks.  `nox` runs the default sessions: the project's test command."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "contract",
    "mutants",
    "reliability",
    "validate",
    "notebooks",
]

ROOT = Path(__file__).parent
PYTHON = "3.11"


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.17,<0.18")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the cachesim package."""
    session.install("-e", ".[all,lint]")
    session.run("mypy", "cachesim")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The project's own tests (a real redis-server is started by the tests themselves)."""
    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "tests",
        "--ignore=tests/reliability",
        "--ignore=tests/validate",
        "-p",
        "no:cacheprovider",
        *session.posargs,
    )


@nox.session(python=PYTHON)
def contract(session: nox.Session) -> None:
    """The contract suite against every built-in provider, from outside the checkout."""
    session.install(".[contract,gateway,memcached]")
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as outside:
        session.chdir(outside)
        session.run(
            "python",
            str(ROOT / "contract_tests" / "run_all.py"),
            "--reports",
            str(reports),
            "--require-installed",
        )
        session.chdir(ROOT)  # leave before the directory is removed
    session.install("pytest>=8.4", "pytest-asyncio>=0.24")  # the plugin must coexist with it
    session.run("pytest", "contract_tests", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=PYTHON)
def mutants(session: nox.Session) -> None:
    """Mutation testing of the contract suite: every broken provider caught (kill rate)."""
    session.install(".[contract]")
    with tempfile.TemporaryDirectory() as outside:
        session.chdir(outside)  # the installed package, not the checkout
        session.run("python", str(ROOT / "contract_tests" / "mutants.py"), *session.posargs)
        session.chdir(ROOT)


@nox.session(python=PYTHON)
def reliability(session: nox.Session) -> None:
    """Fault matrix and soak through the gateway; prints the figures."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/reliability", "-s", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=PYTHON)
def validate(session: nox.Session) -> None:
    """Simulator hit ratios against published oracle values on the sample traces."""
    session.install("-e", ".[test]")
    session.run("pytest", "tests/validate", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=PYTHON)
def notebooks(session: nox.Session) -> None:
    """Execute every notebook from a clean kernel; fail on any error."""
    session.install("-e", ".[notebooks]")
    session.run("python", "notebooks/run_all.py", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Benchmarks against peers in the same run (prints ratios)."""
    session.install("-e", ".[bench]")
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Regenerate the README's images (docs/images/*.png)."""
    session.install("-e", ".[sim]")
    session.run("python", "docs/make_images.py", env={"MPLBACKEND": "Agg"})


if os.environ.get("CI", "").lower() == "true":
    nox.options.error_on_missing_interpreters = True
