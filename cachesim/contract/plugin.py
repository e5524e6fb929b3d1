"""The pytest plugin of the contract suite (entry point ``cachesim_contract``).

It is loaded into every pytest run of anyone who installs cachesim, so it stays
inert unless asked: it adds its command-line options and marker names, and it does
nothing else until ``--cache-provider`` is given. Then it probes the provider, skips
tests whose capabilities the provider does not declare, turns declared deviations
into strict xfails, and writes the conformance report. Contract tests collected
without a provider are skipped with a reason (or refused, when nothing else was
collected).

With ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` load it with ``-p cachesim_contract``.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

__all__ = ["SUITE_DIR"]

#: Where the shipped contract tests live.
SUITE_DIR = Path(__file__).resolve().parent / "suite"

#: ``full`` is conformance; ``smoke`` one test per clause; ``quick`` every test with a
#: short, unshrunk model-based run (fail fast: the mutants session); ``thorough`` for
#: nightly runs (many more model-based examples, larger bulks).
_PROFILES = ("full", "smoke", "quick", "thorough")

_MARKERS = (
    "contract_clause(*ids): contract clauses (CONTRACT.md) a cachesim contract test checks",
    "contract_requires(*capabilities): provider capabilities a cachesim contract test needs",
    "realtime: cachesim contract test that sleeps unless the provider takes an injected clock",
    "expensive: cachesim contract test that is costly on a metered backend (not in smoke)",
    "stateful: cachesim contract model-based (Hypothesis state machine) test",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the suite's options (they do nothing unless ``--cache-provider`` is given)."""
    group = parser.getgroup("cachesim-contract", "cachesim provider contract suite")
    group.addoption(
        "--cache-provider",
        dest="cache_provider",
        metavar="SPEC",
        default=None,
        help="run the cachesim contract suite (pytest --pyargs cachesim.contract) against "
        "SPEC: memory, fakeredis, redis (REDIS_URL), upstash (UPSTASH_REDIS_REST_URL/TOKEN), "
        "memcached (MEMCACHED_URL), sqlite (SQLITE_PATH) or package.module:factory",
    )
    group.addoption(
        "--contract-report",
        dest="contract_report",
        metavar="PATH",
        default=None,
        help="write the conformance report to PATH (JSON) and PATH with .md (Markdown)",
    )
    group.addoption(
        "--contract-profile",
        dest="contract_profile",
        choices=_PROFILES,
        default="full",
        help="full (default); smoke: one cheap test per clause, for metered backends; quick: "
        "every test, short model-based run without shrinking; thorough: nightly (many more "
        "model-based examples and steps, larger bulks)",
    )
    group.addoption(
        "--contract-clauses",
        dest="contract_clauses",
        metavar="IDS",
        default=None,
        help="run only the tests citing these clauses (comma-separated, e.g. TTL-5,NS-3)",
    )
    group.addoption(
        "--contract-seed",
        dest="contract_seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the model-based test and of generated data (default: random, printed "
        "in the header and with every failure)",
    )
    group.addoption(
        "--contract-deviations",
        dest="contract_deviations",
        metavar="FILE",
        action="append",
        default=[],
        help='JSON file of known deviations {"test_name[case]": "reason"}, each run as a '
        "strict xfail (repeatable)",
    )
    group.addoption(
        "--contract-examples",
        dest="contract_examples",
        type=int,
        default=None,
        metavar="N",
        help="Hypothesis examples for the model-based test (default by profile: full 30 "
        "in-process / 8 remote, quick 12 / 4, thorough 400 / 60)",
    )
    group.addoption(
        "--contract-time-scale",
        dest="contract_time_scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply real-time TTLs and waits by F (for slow networks; default 1)",
    )
    group.addoption(
        "--contract-timeout",
        dest="contract_timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="per-operation timeout of the cache under test (default 10 s)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register marker names; activate the suite only when a provider is given."""
    for line in _MARKERS:
        config.addinivalue_line("markers", line)
    spec = config.getoption("cache_provider", None)
    if spec:
        from cachesim.contract.session import ContractSession

        config.pluginmanager.register(ContractSession(config, spec), "cachesim-contract-session")


def _in_suite(path: Path) -> bool:
    return path.is_relative_to(SUITE_DIR)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect the suite's ``test_*.py`` even when the host sets other ``python_files``."""
    if not (file_path.suffix == ".py" and file_path.name.startswith("test_")):
        return None
    if not _in_suite(file_path):
        return None
    patterns = parent.config.getini("python_files")
    if any(file_path.match(p) for p in patterns):
        return None  # the python plugin collects it already
    return pytest.Module.from_parent(parent, path=file_path)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Without a provider, contract tests cannot run: say so instead of failing oddly."""
    if config.getoption("cache_provider", None):
        return
    ours = [item for item in items if _in_suite(item.path)]
    if not ours:
        return
    if len(ours) == len(items):
        raise pytest.UsageError(
            "the cachesim contract suite needs a provider: "
            "pytest --pyargs cachesim.contract --cache-provider SPEC "
            "(SPEC: memory, fakeredis, redis, upstash, memcached, sqlite or package.module:factory)"
        )
    skip = pytest.mark.skip(reason="cachesim contract test: run with --cache-provider SPEC")
    for item in ours:
        item.add_marker(skip)


def new_run_id() -> str:
    """A short random id that keeps namespaces of concurrent runs apart."""
    return f"{int(time.time()) % 100000:05d}{secrets.token_hex(2)}"


def run_probe(factory: Any) -> Any:
    """Probe the provider on a private event loop (before any test runs)."""
    from cachesim.contract.factory import probe

    with asyncio.Runner() as runner:
        return runner.run(probe(factory))


def in_ci() -> bool:
    """Whether ``CI`` is set to a true value."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
