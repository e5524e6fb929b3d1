"""Project tasks.  `nox` runs the default sessions: the project's test command.

Each session installs only what it needs.  With uv (``pip install 'nox[uv]'``) the
sessions share one package cache and hard-link from it, so a second environment
holding numpy or pandas costs seconds and almost no disk.  Without uv nox falls back
to virtualenv + pip, which copies every package into every session (much slower).
"""

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

RUFF = "ruff>=0.17,<0.18"
#: pytest and the plugins this repository's tests use (asyncio_mode is set in pyproject)
PYTEST = ("pytest>=8.4", "pytest-asyncio>=0.24")
#: what mypy needs to see: the typed libraries cachesim imports.  numba, pyarrow,
#: zstandard, dask and libcachesim are untyped or optional: pyproject's mypy overrides
#: treat them as Any, so they are not installed here (they are the heavy ones).
TYPECHECK = (
    "mypy>=2.4,<2.5",
    "pandas-stubs>=2.2",
    "types-tqdm",
    "numpy>=1.26",
    "pandas>=2.2",
    "matplotlib>=3.8",
    "tqdm>=4.66",
    "starlette>=0.37",
    "uvicorn>=0.30",
    "fastapi>=0.110",
    "httpx>=0.27",
    "emcache>=1.3.3,<2",
    "hypothesis>=6.100",
    *PYTEST,
)
#: unit tests that start no server and take under a few seconds each
QUICK_SELECTION = "not slow and not redis_server"
#: test folders that start servers or subprocesses (gateway, memcached, redis, CLI runs)
INTEGRATION = (
    "tests/reliability",
    "tests/validate",
    "tests/gateway",
    "tests/providers",
    "tests/integrations",
    "tests/tiered",
    "tests/cli",
)


def _pytest(session: nox.Session, *args: str) -> None:
    session.run("pytest", "-p", "no:cacheprovider", *args, *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the cachesim package (config in pyproject)."""
    session.install("-e", ".", *TYPECHECK)
    session.run("mypy", "--strict", "cachesim")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The project's own tests (a real redis-server is started by the tests themselves)."""
    session.install("-e", ".[test]")
    _pytest(session, "tests", "--ignore=tests/reliability", "--ignore=tests/validate")


@nox.session(python=PYTHON, default=False)
def quick(session: nox.Session) -> None:
    """Day-to-day check in a couple of minutes: ruff, then unit tests without servers or slow ones.

    Not a substitute for ``nox``: CI runs every default session.
    """
    session.install("-e", ".[test]", RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    _pytest(
        session,
        "tests",
        *(f"--ignore={folder}" for folder in INTEGRATION),
        "-m",
        QUICK_SELECTION,
        "-q",
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
    session.install(*PYTEST)  # the plugin must coexist with pytest-asyncio
    _pytest(session, "contract_tests")


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
    session.install("-e", ".[gateway]", "httpx>=0.27", *PYTEST)
    _pytest(session, "tests/reliability", "-s")


@nox.session(python=PYTHON)
def validate(session: nox.Session) -> None:
    """Simulator hit ratios on the traces shipped in cachesim.sim.datasets (fails if none ran)."""
    session.install("-e", ".[sim]", "libcachesim==0.3.5", *PYTEST)  # the live oracle
    _pytest(session, "tests/validate")


@nox.session(python=PYTHON)
def notebooks(session: nox.Session) -> None:
    """Execute every notebook from a clean kernel; fail on any error."""
    session.install("-e", ".[notebooks]")
    session.run("python", "notebooks/run_all.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks against peers in the same run (prints ratios)."""
    session.install("-e", ".[bench]")
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=PYTHON, default=False)
def docs(session: nox.Session) -> None:
    """Regenerate the README's images (docs/images/*.png)."""
    session.install("-e", ".[sim]")
    session.run("python", "docs/make_images.py", env={"MPLBACKEND": "Agg"})


if os.environ.get("CI", "").lower() == "true":
    nox.options.error_on_missing_interpreters = True
